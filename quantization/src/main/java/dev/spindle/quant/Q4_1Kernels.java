package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_1: blocks of 32 weights, {@code w = d * q + m} with 4-bit {@code q}; products on {@link
 * ActivationFormat#Q8_1} activations ({@link Block32Kernels}).
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2     2  m       half-precision minimum
 *      4    16  qs[16]  weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q4_1Kernels extends Block32Kernels {

    static final int BYTES = 20;

    Q4_1Kernels() {
        super(GgmlType.Q4_1, ActivationFormat.Q8_1);
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
    int quant(MemorySegment w, long o, int j) {
        int q = w.get(BYTE, o + 4 + (j & 15)) & 0xff;
        return j < 16 ? q & 15 : q >>> 4;
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
            IntVector twice = Lanes.twice16(w, o + 4);
            FloatVector s = FloatVector.zero(F);
            for (int m = 0; m < 4; m++) {
                s = Lanes.toFloats(Q4_0Kernels.nibbles(twice, m)).fma(FloatVector.fromArray(F, q8, at + N * m), s);
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
            IntVector twice = Lanes.twice16(w, o + 4);
            for (int m = 0; m < 4; m++) {
                Lanes.toFloats(Q4_0Kernels.nibbles(twice, m)).intoArray(q, qOffset + b * BLOCK + N * m);
            }
            scales[sOffset + b] = Lanes.half(w, o);
            minimums[sOffset + b] = Lanes.half(w, o + 2);
        }
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
