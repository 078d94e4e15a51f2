package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0: blocks of 32 weights, {@code w = d * q}; products on {@link ActivationFormat#Q8_0} activations ({@link
 * Block32Kernels}).
 *
 * <pre>
 * offset  size  field
 *      0     2  d      half-precision scale
 *      2    32  q[32]  signed bytes
 * </pre>
 */
final class Q8_0Kernels extends Block32Kernels {

    static final int BYTES = 34;

    Q8_0Kernels() {
        super(GgmlType.Q8_0, ActivationFormat.Q8_0);
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
    int quant(MemorySegment w, long o, int j) {
        return w.get(BYTE, o + 2 + j);
    }

    /**
     * The quants of weights {@code 4i + m} in lane {@code i}, from the block's 32 bytes read as eight ints ({@link
     * Lanes#ints}): byte {@code m} of each int, sign-extended.
     */
    private static FloatVector quants(IntVector bytes, int m) {
        return Lanes.toFloats(bytes.lanewise(VectorOperators.LSHL, 24 - 8 * m).lanewise(VectorOperators.ASHR, 24));
    }

    @Override
    public float dotVector(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        int cols = x.cols();
        int blocks = blocks(cols);
        float[] q8 = x.q8();
        float[] dx = x.q8Scales();
        int xo = token * cols;
        int so = token * blocks;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int at = xo + b * BLOCK;
            IntVector bytes = Lanes.ints(w, o + 2);
            // The block's integer lane sums, exact in any order; then one FMA with its scales.
            FloatVector s = FloatVector.zero(F);
            for (int m = 0; m < 4; m++) {
                s = quants(bytes, m).fma(FloatVector.fromArray(F, q8, at + N * m), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Lanes.half(w, o) * dx[so + b]), acc);
        }
        return Lanes.sum(acc, lanes);
    }

    @Override
    void decodeQ8(
            MemorySegment w,
            long offset,
            int count,
            float[] q,
            int qOffset,
            float[] scales,
            float[] minimums,
            int sOffset) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            IntVector bytes = Lanes.ints(w, o + 2);
            for (int m = 0; m < 4; m++) {
                quants(bytes, m).intoArray(q, qOffset + b * BLOCK + N * m);
            }
            scales[sOffset + b] = Lanes.half(w, o);
        }
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
