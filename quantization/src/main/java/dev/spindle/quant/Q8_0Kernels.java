package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Q8_0: blocks of 32 weights, {@code w = d * q}.
 *
 * <pre>
 * offset  size  field
 *      0     2  d      half-precision scale
 *      2    32  q[32]  signed bytes
 * </pre>
 */
final class Q8_0Kernels extends TypeKernels {

    static final int BLOCK = 32;
    static final int BYTES = 34;

    Q8_0Kernels() {
        super(GgmlType.Q8_0);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            for (int j = 0; j < BLOCK; j++) {
                dst[dstOffset + b * BLOCK + j] = src.get(BYTE, o + 2 + j) * d;
            }
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, Lanes.half(src, o));
            int to = dstOffset + b * BLOCK;
            for (int k = 0; k < BLOCK; k += N) {
                Lanes.signedBytesToFloats(src, o + 2 + k).mul(d).intoArray(dst, to + k);
            }
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        int blocks = blocks(count);
        float sum = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = xOffset + b * BLOCK;
            float s = 0;
            for (int j = 0; j < BLOCK; j++) {
                s += w.get(BYTE, o + 2 + j) * x[xo + j];
            }
            sum += Lanes.half(w, o) * s;
        }
        return sum;
    }

    @Override
    public float dotVector(
            MemorySegment w,
            long offset,
            float[] x,
            int xOffset,
            float[] sums,
            int sumsOffset,
            int count,
            float[] lanes) {
        int blocks = blocks(count);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = xOffset + b * BLOCK;
            // The block's products are summed before its scale is applied: one FMA on the running sum per block.
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < BLOCK; k += N) {
                s = Lanes.signedBytesToFloats(w, o + 2 + k).fma(FloatVector.fromArray(F, x, xo + k), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Lanes.half(w, o)), acc);
        }
        return Lanes.sum(acc, lanes);
    }

    @Override
    void decode(MemorySegment w, long offset, int count, RowScratch row) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            row.scales[b] = Lanes.half(w, o);
            row.starts[b] = b * BLOCK;
            for (int k = 0; k < BLOCK; k += N) {
                Lanes.signedBytesToFloats(w, o + 2 + k).intoArray(row.q, b * BLOCK + k);
            }
        }
        row.blockLength = BLOCK;
        row.blocks = blocks;
        row.corrected = false;
    }

    /** llama.cpp's {@code quantize_row_q8_0_ref}: {@code d = max|x| / 127}, {@code q = round(x / d)}. */
    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            int from = srcOffset + b * BLOCK;
            long o = dstOffset + (long) b * BYTES;
            float amax = 0;
            for (int j = 0; j < BLOCK; j++) {
                amax = Math.max(amax, Math.abs(src[from + j]));
            }
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(LE_SHORT, o, Float.floatToFloat16(d));
            for (int j = 0; j < BLOCK; j++) {
                dst.set(BYTE, o + 2 + j, (byte) QuantMath.roundHalfAway(src[from + j] * id));
            }
        }
    }
}
