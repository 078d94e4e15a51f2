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

    /** Lane i holds i: the lanes' bit numbers in qh, counted from the first weight of a step. */
    static final IntVector IOTA = IntVector.fromArray(I, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 0);

    Q5_0Kernels() {
        super(GgmlType.Q5_0);
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
            int qh = w.get(LE_INT, o + 2);
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < BLOCK; k += 8) {
                s = Lanes.toFloats(quants(w, o + 6, qh, k)).fma(FloatVector.fromArray(F, x, xo + k), s);
            }
            acc = s.fma(FloatVector.broadcast(F, d), acc);
            float coefficient = 16 * d;
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
            int qh = w.get(LE_INT, o + 2);
            for (int k = 0; k < BLOCK; k += 8) {
                Lanes.toFloats(quants(w, o + 6, qh, k)).intoArray(row.q, b * BLOCK + k);
            }
            row.scales[b] = d;
            row.starts[b] = b * BLOCK;
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
