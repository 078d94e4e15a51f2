package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0: blocks of 32 weights, {@code w = d * (q - 8)} with 4-bit {@code q}.
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2    16  qs[16]  weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q4_0Kernels extends TypeKernels {

    static final int BLOCK = 32;
    static final int BYTES = 18;

    Q4_0Kernels() {
        super(GgmlType.Q4_0);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            int to = dstOffset + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(BYTE, o + 2 + j) & 0xff;
                dst[to + j] = ((q & 15) - 8) * d;
                dst[to + j + 16] = ((q >>> 4) - 8) * d;
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
            IntVector v0 = Lanes.unsignedBytes(src, o + 2);
            IntVector v1 = Lanes.unsignedBytes(src, o + 10);
            Lanes.toFloats(v0.and(15).sub(8)).mul(d).intoArray(dst, to);
            Lanes.toFloats(v1.and(15).sub(8)).mul(d).intoArray(dst, to + 8);
            Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4).sub(8)).mul(d).intoArray(dst, to + 16);
            Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4).sub(8)).mul(d).intoArray(dst, to + 24);
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
            for (int j = 0; j < 16; j++) {
                int q = w.get(BYTE, o + 2 + j) & 0xff;
                s += ((q & 15) - 8) * x[xo + j] + ((q >>> 4) - 8) * x[xo + j + 16];
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
        float correction = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = xOffset + b * BLOCK;
            float d = Lanes.half(w, o);
            // Nibbles are unpacked in int lanes: byte lanes have no shift on x86, so a byte shift costs a widening.
            IntVector v0 = Lanes.unsignedBytes(w, o + 2);
            IntVector v1 = Lanes.unsignedBytes(w, o + 10);
            FloatVector s = Lanes.toFloats(v0.and(15)).fma(FloatVector.fromArray(F, x, xo), FloatVector.zero(F));
            s = Lanes.toFloats(v1.and(15)).fma(FloatVector.fromArray(F, x, xo + 8), s);
            s = Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 16), s);
            s = Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 24), s);
            acc = s.fma(FloatVector.broadcast(F, d), acc);
            // The -8 of every weight comes out once per group of 16: 8d * sum(x).
            float coefficient = 8 * d;
            correction += coefficient * sums[sumsOffset + 2 * b];
            correction += coefficient * sums[sumsOffset + 2 * b + 1];
        }
        return Lanes.sum(acc, lanes) - correction;
    }

    @Override
    void decode(MemorySegment w, long offset, int count, RowScratch row) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o);
            int to = b * BLOCK;
            IntVector v0 = Lanes.unsignedBytes(w, o + 2);
            IntVector v1 = Lanes.unsignedBytes(w, o + 10);
            Lanes.toFloats(v0.and(15)).intoArray(row.q, to);
            Lanes.toFloats(v1.and(15)).intoArray(row.q, to + 8);
            Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4)).intoArray(row.q, to + 16);
            Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4)).intoArray(row.q, to + 24);
            row.scales[b] = d;
            row.starts[b] = to;
            row.coefficients[2 * b] = 8 * d;
            row.coefficients[2 * b + 1] = 8 * d;
        }
        row.blockLength = BLOCK;
        row.blocks = blocks;
        row.corrected = true;
    }

    /** llama.cpp's {@code quantize_row_q4_0_ref}: the largest magnitude maps to -8. */
    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            int from = srcOffset + b * BLOCK;
            long o = dstOffset + (long) b * BYTES;
            float amax = 0;
            float max = 0;
            for (int j = 0; j < BLOCK; j++) {
                float v = src[from + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(LE_SHORT, o, Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(15, (int) (src[from + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (src[from + j + 16] * id + 8.5f));
                dst.set(BYTE, o + 2 + j, (byte) (q0 | (q1 << 4)));
            }
        }
    }
}
