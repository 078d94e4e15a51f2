package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.I;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_0: blocks of 32 weights, {@code w = d * (q - 16)} with 5-bit {@code q}.
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2     4  qh      little-endian; bit j is the fifth bit of weight j
 *      6    16  qs[16]  low four bits: weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q5_0Kernels extends TypeKernels {

    static final int BLOCK = 32;
    static final int BYTES = 22;

    /** Lane i of {@code HIGH_BIT_SHIFTS[k]} is {@code 8k + i}: which bit of qh belongs to the lane. */
    static final IntVector[] HIGH_BIT_SHIFTS = {
        IntVector.fromArray(I, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 0),
        IntVector.fromArray(I, new int[] {8, 9, 10, 11, 12, 13, 14, 15}, 0),
        IntVector.fromArray(I, new int[] {16, 17, 18, 19, 20, 21, 22, 23}, 0),
        IntVector.fromArray(I, new int[] {24, 25, 26, 27, 28, 29, 30, 31}, 0)
    };

    Q5_0Kernels() {
        super(GgmlType.Q5_0);
    }

    /** Bit {@code shift} of {@code qh} in each lane, as 0 or 16. */
    static IntVector highBits(IntVector qh, IntVector shift) {
        return qh.lanewise(VectorOperators.LSHR, shift).and(1).lanewise(VectorOperators.LSHL, 4);
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
            IntVector qh = IntVector.broadcast(I, src.get(LE_INT, o + 2));
            int to = dstOffset + b * BLOCK;
            IntVector v0 = Lanes.unsignedBytes(src, o + 6);
            IntVector v1 = Lanes.unsignedBytes(src, o + 14);
            Lanes.toFloats(v0.and(15).or(highBits(qh, HIGH_BIT_SHIFTS[0])).sub(16))
                    .mul(d)
                    .intoArray(dst, to);
            Lanes.toFloats(v1.and(15).or(highBits(qh, HIGH_BIT_SHIFTS[1])).sub(16))
                    .mul(d)
                    .intoArray(dst, to + 8);
            Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4)
                            .or(highBits(qh, HIGH_BIT_SHIFTS[2]))
                            .sub(16))
                    .mul(d)
                    .intoArray(dst, to + 16);
            Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4)
                            .or(highBits(qh, HIGH_BIT_SHIFTS[3]))
                            .sub(16))
                    .mul(d)
                    .intoArray(dst, to + 24);
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        int blocks = blocks(count);
        float sum = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int qh = w.get(LE_INT, o + 2);
            int xo = xOffset + b * BLOCK;
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = w.get(BYTE, o + 6 + j) & 0xff;
                int q0 = (q & 15) | (((qh >>> j) & 1) << 4);
                int q1 = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                s += (q0 - 16) * x[xo + j] + (q1 - 16) * x[xo + j + 16];
            }
            sum += Lanes.half(w, o) * s;
        }
        return sum;
    }

    @Override
    public float dotVector(
            MemorySegment w, long offset, float[] x, int xOffset, float[] sums, int sumsOffset, int count) {
        int blocks = blocks(count);
        FloatVector acc = FloatVector.zero(F);
        float correction = 0;
        IntVector shift0 = HIGH_BIT_SHIFTS[0];
        IntVector shift1 = HIGH_BIT_SHIFTS[1];
        IntVector shift2 = HIGH_BIT_SHIFTS[2];
        IntVector shift3 = HIGH_BIT_SHIFTS[3];
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = xOffset + b * BLOCK;
            float d = Lanes.half(w, o);
            IntVector qh = IntVector.broadcast(I, w.get(LE_INT, o + 2));
            IntVector v0 = Lanes.unsignedBytes(w, o + 6);
            IntVector v1 = Lanes.unsignedBytes(w, o + 14);
            FloatVector s = Lanes.toFloats(v0.and(15).or(highBits(qh, shift0))).mul(FloatVector.fromArray(F, x, xo));
            s = Lanes.toFloats(v1.and(15).or(highBits(qh, shift1))).fma(FloatVector.fromArray(F, x, xo + 8), s);
            s = Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4).or(highBits(qh, shift2)))
                    .fma(FloatVector.fromArray(F, x, xo + 16), s);
            s = Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4).or(highBits(qh, shift3)))
                    .fma(FloatVector.fromArray(F, x, xo + 24), s);
            acc = s.fma(FloatVector.broadcast(F, d), acc);
            float coefficient = 16 * d;
            correction += coefficient * sums[sumsOffset + 2 * b];
            correction += coefficient * sums[sumsOffset + 2 * b + 1];
        }
        return Lanes.sum(acc) - correction;
    }

    @Override
    void decode(MemorySegment w, long offset, int count, RowScratch row) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o);
            IntVector qh = IntVector.broadcast(I, w.get(LE_INT, o + 2));
            int to = b * BLOCK;
            IntVector v0 = Lanes.unsignedBytes(w, o + 6);
            IntVector v1 = Lanes.unsignedBytes(w, o + 14);
            Lanes.toFloats(v0.and(15).or(highBits(qh, HIGH_BIT_SHIFTS[0]))).intoArray(row.q, to);
            Lanes.toFloats(v1.and(15).or(highBits(qh, HIGH_BIT_SHIFTS[1]))).intoArray(row.q, to + 8);
            Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4).or(highBits(qh, HIGH_BIT_SHIFTS[2])))
                    .intoArray(row.q, to + 16);
            Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4).or(highBits(qh, HIGH_BIT_SHIFTS[3])))
                    .intoArray(row.q, to + 24);
            row.scales[b] = d;
            row.starts[b] = to;
            row.coefficients[2 * b] = 16 * d;
            row.coefficients[2 * b + 1] = 16 * d;
        }
        row.blockLength = BLOCK;
        row.blocks = blocks;
        row.corrected = true;
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
