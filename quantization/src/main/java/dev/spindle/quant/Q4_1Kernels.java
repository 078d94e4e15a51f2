package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_1: blocks of 32 weights, {@code w = d * q + m} with 4-bit {@code q}.
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2     2  m       half-precision minimum
 *      4    16  qs[16]  weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q4_1Kernels extends TypeKernels {

    static final int BLOCK = 32;
    static final int BYTES = 20;

    Q4_1Kernels() {
        super(GgmlType.Q4_1);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            float m = Lanes.half(src, o + 2);
            int to = dstOffset + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(BYTE, o + 4 + j) & 0xff;
                dst[to + j] = (q & 15) * d + m;
                dst[to + j + 16] = (q >>> 4) * d + m;
            }
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, Lanes.half(src, o));
            FloatVector m = FloatVector.broadcast(F, Lanes.half(src, o + 2));
            int to = dstOffset + b * BLOCK;
            IntVector v0 = Lanes.unsignedBytes(src, o + 4);
            IntVector v1 = Lanes.unsignedBytes(src, o + 12);
            // mul then add, not fma: the scalar reference rounds the product first.
            Lanes.toFloats(v0.and(15)).mul(d).add(m).intoArray(dst, to);
            Lanes.toFloats(v1.and(15)).mul(d).add(m).intoArray(dst, to + 8);
            Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4)).mul(d).add(m).intoArray(dst, to + 16);
            Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4)).mul(d).add(m).intoArray(dst, to + 24);
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        int blocks = blocks(count);
        float sum = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o);
            float m = Lanes.half(w, o + 2);
            int xo = xOffset + b * BLOCK;
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = w.get(BYTE, o + 4 + j) & 0xff;
                s += ((q & 15) * d + m) * x[xo + j] + ((q >>> 4) * d + m) * x[xo + j + 16];
            }
            sum += s;
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
            IntVector v0 = Lanes.unsignedBytes(w, o + 4);
            IntVector v1 = Lanes.unsignedBytes(w, o + 12);
            FloatVector s = Lanes.toFloats(v0.and(15)).fma(FloatVector.fromArray(F, x, xo), FloatVector.zero(F));
            s = Lanes.toFloats(v1.and(15)).fma(FloatVector.fromArray(F, x, xo + 8), s);
            s = Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 16), s);
            s = Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 24), s);
            acc = s.fma(FloatVector.broadcast(F, Lanes.half(w, o)), acc);
            // The minimum comes out once per group of 16: m * sum(x), subtracted as -m.
            float coefficient = -Lanes.half(w, o + 2);
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
            int to = b * BLOCK;
            IntVector v0 = Lanes.unsignedBytes(w, o + 4);
            IntVector v1 = Lanes.unsignedBytes(w, o + 12);
            Lanes.toFloats(v0.and(15)).intoArray(row.q, to);
            Lanes.toFloats(v1.and(15)).intoArray(row.q, to + 8);
            Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4)).intoArray(row.q, to + 16);
            Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4)).intoArray(row.q, to + 24);
            row.scales[b] = Lanes.half(w, o);
            row.starts[b] = to;
            float coefficient = -Lanes.half(w, o + 2);
            row.coefficients[2 * b] = coefficient;
            row.coefficients[2 * b + 1] = coefficient;
        }
        row.blockLength = BLOCK;
        row.blocks = blocks;
        row.corrected = true;
    }

    /** llama.cpp's {@code quantize_row_q4_1_ref}: the block's range split into 15 steps above its minimum. */
    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            int from = srcOffset + b * BLOCK;
            long o = dstOffset + (long) b * BYTES;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < BLOCK; j++) {
                float v = src[from + j];
                // Comparisons as in C, not Math.min: a -0.0 minimum must not replace 0.0.
                if (v < min) {
                    min = v;
                }
                if (v > max) {
                    max = v;
                }
            }
            float d = (max - min) / 15;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(LE_SHORT, o, Float.floatToFloat16(d));
            dst.set(LE_SHORT, o + 2, Float.floatToFloat16(min));
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(15, (int) ((src[from + j] - min) * id + 0.5f));
                int q1 = Math.min(15, (int) ((src[from + j + 16] - min) * id + 0.5f));
                dst.set(BYTE, o + 4 + j, (byte) (q0 | (q1 << 4)));
            }
        }
    }
}
