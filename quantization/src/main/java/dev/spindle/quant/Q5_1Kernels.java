package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.I;
import static dev.spindle.quant.Lanes.N;
import static dev.spindle.quant.Q5_0Kernels.quants;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Q5_1: blocks of 32 weights, {@code w = d * q + m} with 5-bit {@code q}; products on {@link
 * ActivationFormat#Q8_1} activations ({@link Block32Kernels}).
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2     2  m       half-precision minimum
 *      4     4  qh      little-endian; bit j is the fifth bit of weight j
 *      8    16  qs[16]  low four bits: weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q5_1Kernels extends Block32Kernels {

    static final int BYTES = 24;

    Q5_1Kernels() {
        super(GgmlType.Q5_1, ActivationFormat.Q8_1);
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
    int quant(MemorySegment w, long o, int j) {
        return Q5_0Kernels.fiveBits(w, o + 8, w.get(LE_INT, o + 4), j);
    }

    @Override
    public float dotVector(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        int cols = x.cols();
        int blocks = blocks(cols);
        float[] q8 = x.q8();
        float[] dx = x.q8Scales();
        float[] sx = x.q8Sums();
        int xo = token * cols;
        int so = token * blocks;
        FloatVector acc = FloatVector.zero(F);
        float summs = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int at = xo + b * BLOCK;
            IntVector qh = IntVector.broadcast(I, w.get(LE_INT, o + 4));
            IntVector twice = Lanes.twice16(w, o + 8);
            FloatVector s = FloatVector.zero(F);
            for (int m = 0; m < 4; m++) {
                s = Lanes.toFloats(Q5_0Kernels.fiveBits(twice, qh, m)).fma(FloatVector.fromArray(F, q8, at + N * m), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Lanes.half(w, o) * dx[so + b]), acc);
            summs = Math.fma(Lanes.half(w, o + 2), sx[so + b], summs);
        }
        return Lanes.sum(acc, lanes) + summs;
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
            IntVector qh = IntVector.broadcast(I, w.get(LE_INT, o + 4));
            IntVector twice = Lanes.twice16(w, o + 8);
            for (int m = 0; m < 4; m++) {
                Lanes.toFloats(Q5_0Kernels.fiveBits(twice, qh, m)).intoArray(q, qOffset + b * BLOCK + N * m);
            }
            scales[sOffset + b] = Lanes.half(w, o);
            minimums[sOffset + b] = Lanes.half(w, o + 2);
        }
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
