package dev.spindle.quant;

import java.lang.foreign.MemorySegment;

/**
 * The formats of blocks of 32 whose products llama.cpp computes on 8-bit activations (Q8_0, Q4_0, Q5_0 with {@link
 * ActivationFormat#Q8_0}; Q4_1, Q5_1 with {@link ActivationFormat#Q8_1}), and the semantics they share.
 *
 * <p>A weight block is {@code d_w * q_w} ({@code q_w} signed: {@code q - 8}, {@code q - 16} or the byte itself),
 * plus {@code m_w} for the formats with a minimum; an activation block is {@code d_x * q_x}. Their product is {@code
 * d_w*d_x * sum(q_w*q_x) + m_w*s_x}. The integer sum is exact in floats (its terms are below 2^14 and there are 32 of
 * them), so every way of computing it agrees; the rounding lies only in how blocks are combined, and there we do
 * what llama.cpp's AVX2 {@code ggml_vec_dot_*_q8_*} (and its tinyBLAS batches) do:
 *
 * <ul>
 *   <li>eight lanes, lane {@code i} taking the integer sum of elements {@code 4i .. 4i+3} of each block;
 *   <li>per block, {@code acc[i] = fma(d_w*d_x, sum_i, acc[i])}, where {@code d_w*d_x} is a float product (exact:
 *       both are half-precision numbers);
 *   <li>at the end the lanes summed as {@link Lanes#sum} does (their {@code hsum_float_8}), plus, for formats with a
 *       minimum, {@code summs}, accumulated per block as {@code summs = fma(m_w, s_x, summs)}.
 * </ul>
 *
 * Since each block's value is exact, the single-token kernels (straight from the weight bytes), the multi-token
 * kernels (rows decoded once, {@link TokenDots#q8Rows}) and the scalar twins give the same bits.
 *
 * <p>Q4_0 overrides the combination of blocks: llama.cpp runs its Q4_0 matrices repacked, with one accumulator per
 * (row, token) and no lanes ({@link Q4_0Kernels}).
 */
abstract class Block32Kernels extends TypeKernels {

    static final int BLOCK = 32;

    private final ActivationFormat activations;
    private final int bytes;

    Block32Kernels(GgmlType type, ActivationFormat activations) {
        super(type);
        this.activations = activations;
        this.bytes = type.bytesPerBlock();
    }

    @Override
    public final ActivationFormat activationFormat() {
        return activations;
    }

    /** Whether blocks carry a minimum {@code m} (and the product a term {@code m * s}). */
    final boolean hasMinimum() {
        return activations == ActivationFormat.Q8_1;
    }

    /** Signed quant of weight {@code j} of the block at {@code o}: {@code w_j = d*quant + m}. */
    abstract int quant(MemorySegment w, long o, int j);

    /** The scale {@code d} of the block at {@code o}. */
    float scale(MemorySegment w, long o) {
        return Lanes.half(w, o);
    }

    /** The minimum {@code m} of the block at {@code o}; formats without one never call it. */
    float minimum(MemorySegment w, long o) {
        return Lanes.half(w, o + 2);
    }

    /**
     * Writes the signed quants of the row at {@code offset} ({@code count} elements) as floats to {@code
     * q[qOffset ..]}, each block in the lane order of {@link Activations}, its scales to {@code scales[sOffset ..]}
     * and its minimums (formats that have them) to {@code minimums[sOffset ..]}.
     */
    abstract void decodeQ8(
            MemorySegment w,
            long offset,
            int count,
            float[] q,
            int qOffset,
            float[] scales,
            float[] minimums,
            int sOffset);

    @Override
    public float dotScalar(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        int cols = x.cols();
        int blocks = blocks(cols);
        float[] q8 = x.q8();
        float[] scales = x.q8Scales();
        float[] sums = x.q8Sums();
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0);
        float summs = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * bytes;
            int xo = token * cols + b * BLOCK;
            float d = scale(w, o) * scales[token * blocks + b];
            for (int i = 0; i < Lanes.N; i++) {
                int sum = 0;
                for (int m = 0; m < 4; m++) {
                    sum += quant(w, o, 4 * i + m) * (int) q8[xo + 8 * m + i];
                }
                lanes[i] = Math.fma(d, (float) sum, lanes[i]);
            }
            if (hasMinimum()) {
                summs = Math.fma(minimum(w, o), sums[token * blocks + b], summs);
            }
        }
        float sum = Lanes.sumStored(lanes);
        return hasMinimum() ? sum + summs : sum;
    }

    @Override
    void multiplyTokens(
            MemorySegment data,
            long rowBytes,
            int rowFrom,
            int rowTo,
            Activations x,
            float[] out,
            int outStride,
            RowScratch scratch) {
        int cols = x.cols();
        int blocks = cols / BLOCK;
        int r = rowFrom;
        for (; r + 2 <= rowTo; r += 2) {
            decodeQ8(data, r * rowBytes, cols, scratch.q, 0, scratch.scales, scratch.coefficients, 0);
            decodeQ8(
                    data,
                    (r + 1) * rowBytes,
                    cols,
                    scratch.q,
                    scratch.maxCols(),
                    scratch.scales,
                    scratch.coefficients,
                    scratch.maxCols() / BLOCK);
            TokenDots.q8Rows(scratch, 2, blocks, hasMinimum(), x, out, r, outStride);
        }
        if (r < rowTo) {
            decodeQ8(data, r * rowBytes, cols, scratch.q, 0, scratch.scales, scratch.coefficients, 0);
            TokenDots.q8Rows(scratch, 1, blocks, hasMinimum(), x, out, r, outStride);
        }
    }
}
