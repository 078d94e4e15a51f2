package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.I;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_0: blocks of 32 weights, {@code w = d * (q - 16)} with 5-bit {@code q}; products on {@link
 * ActivationFormat#Q8_0} activations ({@link Block32Kernels}).
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2     4  qh      little-endian; bit j is the fifth bit of weight j
 *      6    16  qs[16]  low four bits: weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q5_0Kernels extends Block32Kernels {

    static final int BYTES = 22;

    /** Lane i holds i: the lanes' bit numbers in qh, counted from the first weight of a step. */
    static final IntVector IOTA = IntVector.fromArray(I, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 0);

    Q5_0Kernels() {
        super(GgmlType.Q5_0, ActivationFormat.Q8_0);
    }

    /**
     * The 5-bit quants of weights {@code k .. k + 7} ({@code k} a multiple of 8) of a Q5_0/Q5_1 block whose qs start
     * at {@code qs}: the nibble of byte {@code k mod 16} (low for {@code k < 16}, high after) with bit {@code k + i}
     * of {@code qh} above it.
     */
    static IntVector quants(MemorySegment w, long qs, int qh, int k) {
        IntVector bytes = Lanes.unsignedBytes(w, qs + (k & 15));
        IntVector low = k < 16 ? bytes.and(15) : bytes.lanewise(VectorOperators.LSHR, 4);
        IntVector high = IntVector.broadcast(I, qh >>> k)
                .lanewise(VectorOperators.LSHR, IOTA)
                .and(1)
                .lanewise(VectorOperators.LSHL, 4);
        return low.or(high);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            int qh = src.get(LE_INT, o + 2);
            int to = dstOffset + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(BYTE, o + 6 + j) & 0xff;
                int q0 = (q & 15) | (((qh >>> j) & 1) << 4);
                int q1 = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                dst[to + j] = (q0 - 16) * d;
                dst[to + j + 16] = (q1 - 16) * d;
            }
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, Lanes.half(src, o));
            int qh = src.get(LE_INT, o + 2);
            for (int k = 0; k < BLOCK; k += 8) {
                Lanes.toFloats(quants(src, o + 6, qh, k).sub(16)).mul(d).intoArray(dst, dstOffset + b * BLOCK + k);
            }
        }
    }

    @Override
    int quant(MemorySegment w, long o, int j) {
        return fiveBits(w, o + 6, w.get(LE_INT, o + 2), j) - 16;
    }

    /** The 5-bit quant of weight {@code j} of a Q5_0/Q5_1 block whose qs start at {@code qs}. */
    static int fiveBits(MemorySegment w, long qs, int qh, int j) {
        int q = w.get(BYTE, qs + (j & 15)) & 0xff;
        return (j < 16 ? q & 15 : q >>> 4) | (((qh >>> j) & 1) << 4);
    }

    /**
     * The 5-bit quants of weights {@code 4i + m} in lane {@code i}: the nibbles of the block's sixteen bytes read
     * twice ({@link Lanes#twice16}, {@link Q4_0Kernels#nibbles}), and bit {@code 4i + m} of {@code qh} (broadcast to
     * every lane) above them.
     */
    static IntVector fiveBits(IntVector twice, IntVector qh, int m) {
        IntVector high = qh.lanewise(VectorOperators.LSHR, Lanes.FOUR_IOTA.add(m))
                .lanewise(VectorOperators.LSHL, 4)
                .and(16);
        return Q4_0Kernels.nibbles(twice, m).or(high);
    }

    @Override
    public float dotVector(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        int cols = x.cols();
        int blocks = blocks(cols);
        float[] q8 = x.q8();
        float[] dx = x.q8Scales();
        float[] offsets = x.q8Offsets();
        int xo = token * cols;
        int so = token * blocks;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int at = xo + b * BLOCK;
            IntVector qh = IntVector.broadcast(I, w.get(LE_INT, o + 2));
            IntVector twice = Lanes.twice16(w, o + 6);
            // sum((q - 16) * x) as 2 * (-8 * sum(x)) + sum(q * x), exactly.
            FloatVector offset8 = FloatVector.fromArray(F, offsets, (so + b) * N);
            FloatVector s = offset8.add(offset8);
            for (int m = 0; m < 4; m++) {
                s = Lanes.toFloats(fiveBits(twice, qh, m)).fma(FloatVector.fromArray(F, q8, at + N * m), s);
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
            IntVector qh = IntVector.broadcast(I, w.get(LE_INT, o + 2));
            IntVector twice = Lanes.twice16(w, o + 6);
            for (int m = 0; m < 4; m++) {
                Lanes.toFloats(fiveBits(twice, qh, m).sub(16)).intoArray(q, qOffset + b * BLOCK + N * m);
            }
            scales[sOffset + b] = Lanes.half(w, o);
        }
    }

    /** llama.cpp's {@code quantize_row_q5_0_ref}: the largest magnitude maps to -16. */
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
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(LE_SHORT, o, Float.floatToFloat16(d));
            int qh = 0;
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(31, (int) (src[from + j] * id + 16.5f));
                int q1 = Math.min(31, (int) (src[from + j + 16] * id + 16.5f));
                dst.set(BYTE, o + 6 + j, (byte) ((q0 & 15) | ((q1 & 15) << 4)));
                qh |= ((q0 >>> 4) & 1) << j;
                qh |= ((q1 >>> 4) & 1) << (j + 16);
            }
            dst.set(LE_INT, o + 2, qh);
        }
    }
}
