package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Q5_0Kernels.quants;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Q5_1: blocks of 32 weights, {@code w = d * q + m} with 5-bit {@code q}.
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2     2  m       half-precision minimum
 *      4     4  qh      little-endian; bit j is the fifth bit of weight j
 *      8    16  qs[16]  low four bits: weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q5_1Kernels extends TypeKernels {

    static final int BLOCK = 32;
    static final int BYTES = 24;

    Q5_1Kernels() {
        super(GgmlType.Q5_1);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            float m = Lanes.half(src, o + 2);
            int qh = src.get(LE_INT, o + 4);
            int to = dstOffset + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(BYTE, o + 8 + j) & 0xff;
                int q0 = (q & 15) | (((qh >>> j) & 1) << 4);
                int q1 = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                dst[to + j] = q0 * d + m;
                dst[to + j + 16] = q1 * d + m;
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
            int qh = src.get(LE_INT, o + 4);
            for (int k = 0; k < BLOCK; k += 8) {
                // mul then add, not fma: the scalar reference rounds the product first.
                Lanes.toFloats(quants(src, o + 8, qh, k)).mul(d).add(m).intoArray(dst, dstOffset + b * BLOCK + k);
            }
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
            int qh = w.get(LE_INT, o + 4);
            int xo = xOffset + b * BLOCK;
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = w.get(BYTE, o + 8 + j) & 0xff;
                int q0 = (q & 15) | (((qh >>> j) & 1) << 4);
                int q1 = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                s += (q0 * d + m) * x[xo + j] + (q1 * d + m) * x[xo + j + 16];
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
            int qh = w.get(LE_INT, o + 4);
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < BLOCK; k += 8) {
                s = Lanes.toFloats(quants(w, o + 8, qh, k)).fma(FloatVector.fromArray(F, x, xo + k), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Lanes.half(w, o)), acc);
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
            int qh = w.get(LE_INT, o + 4);
            for (int k = 0; k < BLOCK; k += 8) {
                Lanes.toFloats(quants(w, o + 8, qh, k)).intoArray(row.q, b * BLOCK + k);
            }
            row.scales[b] = Lanes.half(w, o);
            row.starts[b] = b * BLOCK;
            float coefficient = -Lanes.half(w, o + 2);
            row.coefficients[2 * b] = coefficient;
            row.coefficients[2 * b + 1] = coefficient;
        }
        row.blockLength = BLOCK;
        row.blocks = blocks;
        row.corrected = true;
    }

    /** llama.cpp's {@code quantize_row_q5_1_ref}: the block's range split into 31 steps above its minimum. */
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
                if (v < min) {
                    min = v;
                }
                if (v > max) {
                    max = v;
                }
            }
            float d = (max - min) / 31;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(LE_SHORT, o, Float.floatToFloat16(d));
            dst.set(LE_SHORT, o + 2, Float.floatToFloat16(min));
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                int q0 = (int) ((src[from + j] - min) * id + 0.5f);
                int q1 = (int) ((src[from + j + 16] - min) * id + 0.5f);
                dst.set(BYTE, o + 8 + j, (byte) ((q0 & 15) | ((q1 & 15) << 4)));
                qh |= ((q0 >>> 4) & 1) << j;
                qh |= ((q1 >>> 4) & 1) << (j + 16);
            }
            dst.set(LE_INT, o + 4, qh);
        }
    }
}
