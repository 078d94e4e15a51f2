package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0: blocks of 32 weights, {@code w = d * (q - 8)} with 4-bit {@code q}; products on {@link
 * ActivationFormat#Q8_0} activations.
 *
 * <p>Unlike the other formats of {@link Block32Kernels}, a Q4_0 product is what llama.cpp computes for Q4_0 on x86:
 * it repacks Q4_0 matrices (eight rows interleaved) when it loads them and multiplies with {@code
 * ggml_gemv_q4_0_8x8_q8_0} / {@code ggml_gemm_q4_0_8x8_q8_0}, which keep one float per (row, token): per block,
 * the exact integer sum {@code isum = sum_j (q_j - 8) * x_j}, then {@code acc = fma(isum, d_w*d_x, acc)}, block
 * after block, and no sum across lanes at the end. Any computation of the block sums gives the same bits (they are
 * exact), so the single-token kernel ({@link #dotVector}), the multi-token one ({@link #multiplyTokens}, one token
 * per lane) and the scalar twin agree bit for bit.
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2    16  qs[16]  weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q4_0Kernels extends Block32Kernels {

    static final int BYTES = 18;

    Q4_0Kernels() {
        super(GgmlType.Q4_0, ActivationFormat.Q8_0);
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
    int quant(MemorySegment w, long o, int j) {
        int q = w.get(BYTE, o + 2 + (j & 15)) & 0xff;
        return (j < 16 ? q & 15 : q >>> 4) - 8;
    }

    /**
     * The signed quants of weights {@code 4i + m} in lane {@code i}, from the block's sixteen bytes read as four ints
     * twice ({@link Lanes#twice16}): lanes 0..3 take the low nibbles (weights 0..15), lanes 4..7 the high ones.
     */
    static IntVector nibbles(IntVector twice, int m) {
        return twice.lanewise(VectorOperators.LSHR, Lanes.NIBBLE_SHIFTS.add(8 * m))
                .and(15);
    }

    /**
     * The definition: per block, the exact integer sum {@code sum_j (q_j - 8) * x_j}, then {@code acc = fma(sum,
     * d_w*d_x, acc)}, block after block, in one float; no lanes and no final sum (see the class comment).
     */
    @Override
    public float dotScalar(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        int cols = x.cols();
        int blocks = blocks(cols);
        float[] q8 = x.q8();
        float[] dx = x.q8Scales();
        float acc = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = token * cols + b * BLOCK;
            int sum = 0;
            for (int j = 0; j < BLOCK; j++) {
                // Element j is at lane order position 8 * (j % 4) + j / 4 of the block (Activations).
                sum += quant(w, o, j) * (int) q8[xo + 8 * (j % 4) + j / 4];
            }
            acc = Math.fma((float) sum, Lanes.half(w, o) * dx[token * blocks + b], acc);
        }
        return acc;
    }

    /**
     * One block per step: its exact integer sum in eight lanes (the offsets of {@code q - 8} come with the
     * activations), added across the lanes, then the block's FMA into the one accumulator.
     */
    @Override
    public float dotVector(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        int cols = x.cols();
        int blocks = blocks(cols);
        float[] q8 = x.q8();
        float[] dx = x.q8Scales();
        float[] offsets = x.q8Offsets();
        int xo = token * cols;
        int so = token * blocks;
        float acc = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int at = xo + b * BLOCK;
            IntVector twice = Lanes.twice16(w, o + 2);
            // sum((q - 8) * x) as -8 * sum(x) + sum(q * x): the -8 comes with the activations, once per block.
            // Two chains of FMAs: the values are exact integers, so the grouping changes only the latency.
            FloatVector s = Lanes.toFloats(nibbles(twice, 0))
                    .fma(FloatVector.fromArray(F, q8, at), FloatVector.fromArray(F, offsets, (so + b) * N));
            FloatVector t = Lanes.toFloats(nibbles(twice, 1)).mul(FloatVector.fromArray(F, q8, at + N));
            s = Lanes.toFloats(nibbles(twice, 2)).fma(FloatVector.fromArray(F, q8, at + 2 * N), s);
            t = Lanes.toFloats(nibbles(twice, 3)).fma(FloatVector.fromArray(F, q8, at + 3 * N), t);
            // Exact integers: reduceLanes may add them in any order.
            float sum = s.add(t).reduceLanes(VectorOperators.ADD);
            acc = Math.fma(sum, Lanes.half(w, o) * dx[so + b], acc);
        }
        return acc;
    }

    /**
     * Several tokens: rows decoded two at a time ({@link #decodeQ8}), then multiplied with eight tokens per vector
     * ({@link Activations#q8ByToken()}): lane {@code k} is token {@code 8e + k}, so each lane computes one (row,
     * token) product with the single-token kernel's operations (exact block sums, then one FMA per block in block
     * order) and no sum across lanes is needed. Each weight is broadcast once for eight tokens.
     */
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
        int eights = (x.tokens() + N - 1) / N;
        int second = scratch.maxCols();
        int r = rowFrom;
        for (; r + 2 <= rowTo; r += 2) {
            decodeQ8(data, r * rowBytes, cols, scratch.q, 0, scratch.scales, scratch.coefficients, 0);
            decodeQ8(
                    data,
                    (r + 1) * rowBytes,
                    cols,
                    scratch.q,
                    second,
                    scratch.scales,
                    scratch.coefficients,
                    second / BLOCK);
            for (int e = 0; e < eights; e++) {
                twoRowsEightTokens(scratch, x, e, out, r, outStride, true);
            }
        }
        if (r < rowTo) {
            decodeQ8(data, r * rowBytes, cols, scratch.q, 0, scratch.scales, scratch.coefficients, 0);
            decodeQ8(data, r * rowBytes, cols, scratch.q, second, scratch.scales, scratch.coefficients, second / BLOCK);
            for (int e = 0; e < eights; e++) {
                twoRowsEightTokens(scratch, x, e, out, r, outStride, false); // the row twice, written once
            }
        }
    }

    /**
     * Rows {@code row} and {@code row + 1} (decoded in {@code scratch}; the second written only if {@code both})
     * times tokens {@code 8e .. 8e + 7}. Each block's sum in four
     * chains per row (exact integers: any grouping), then per row one FMA with {@code d_w * d_x} per lane.
     */
    private static void twoRowsEightTokens(
            RowScratch scratch, Activations x, int e, float[] out, int row, int outStride, boolean both) {
        float[] q = scratch.q;
        float[] xs = x.q8ByToken();
        float[] dx = x.q8ScalesByToken();
        int cols = x.cols();
        int blocks = cols / BLOCK;
        int second = scratch.maxCols();
        int secondScales = second / BLOCK;
        int xBase = e * cols * N;
        int dBase = e * blocks * N;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            int at = b * BLOCK;
            FloatVector s00 = FloatVector.zero(F);
            FloatVector s01 = FloatVector.zero(F);
            FloatVector s02 = FloatVector.zero(F);
            FloatVector s03 = FloatVector.zero(F);
            FloatVector s10 = FloatVector.zero(F);
            FloatVector s11 = FloatVector.zero(F);
            FloatVector s12 = FloatVector.zero(F);
            FloatVector s13 = FloatVector.zero(F);
            for (int c = 0; c < BLOCK; c += 4) {
                int xa = xBase + (at + c) * N;
                FloatVector v = FloatVector.fromArray(F, xs, xa);
                s00 = FloatVector.broadcast(F, q[at + c]).fma(v, s00);
                s10 = FloatVector.broadcast(F, q[second + at + c]).fma(v, s10);
                v = FloatVector.fromArray(F, xs, xa + N);
                s01 = FloatVector.broadcast(F, q[at + c + 1]).fma(v, s01);
                s11 = FloatVector.broadcast(F, q[second + at + c + 1]).fma(v, s11);
                v = FloatVector.fromArray(F, xs, xa + 2 * N);
                s02 = FloatVector.broadcast(F, q[at + c + 2]).fma(v, s02);
                s12 = FloatVector.broadcast(F, q[second + at + c + 2]).fma(v, s12);
                v = FloatVector.fromArray(F, xs, xa + 3 * N);
                s03 = FloatVector.broadcast(F, q[at + c + 3]).fma(v, s03);
                s13 = FloatVector.broadcast(F, q[second + at + c + 3]).fma(v, s13);
            }
            FloatVector d = FloatVector.fromArray(F, dx, dBase + b * N);
            acc0 = s00.add(s01).add(s02.add(s03)).fma(d.mul(scratch.scales[b]), acc0);
            acc1 = s10.add(s11).add(s12.add(s13)).fma(d.mul(scratch.scales[secondScales + b]), acc1);
        }
        // Through memory, as everywhere in the tiles: a vector passed to a call C2 did not inline is boxed.
        float[] lanes = scratch.tileLanes;
        acc0.intoArray(lanes, 0);
        acc1.intoArray(lanes, N);
        writeEightTokens(lanes, x, e, out, outStride, row, both);
    }

    /**
     * Writes a two-row tile's results, stored as {@code lanes[0..8)} for row {@code row} and {@code lanes[8..16)} for
     * row {@code row + 1} (only if {@code both}), to tokens {@code 8e .. 8e+7} of {@code out}, as far as the batch
     * goes (a last eight may be partial).
     */
    static void writeEightTokens(
            float[] lanes, Activations x, int e, float[] out, int outStride, int row, boolean both) {
        int tokens = Math.min(N, x.tokens() - e * N);
        for (int k = 0; k < tokens; k++) {
            out[(e * N + k) * outStride + row] = lanes[k];
        }
        if (both) {
            for (int k = 0; k < tokens; k++) {
                out[(e * N + k) * outStride + row + 1] = lanes[N + k];
            }
        }
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
            IntVector twice = Lanes.twice16(w, o + 2);
            for (int m = 0; m < 4; m++) {
                Lanes.toFloats(nibbles(twice, m).sub(8)).intoArray(q, qOffset + b * BLOCK + N * m);
            }
            scales[sOffset + b] = Lanes.half(w, o);
        }
    }

    private static final InterleavedKernels INTERLEAVED = new Q4_0InterleavedKernels();

    @Override
    InterleavedKernels interleavedKernels() {
        return INTERLEAVED;
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

    /**
     * Whether llama.cpp repacks a Q4_0 matrix of {@code rows} rows and so computes its products as this class does: on
     * x86 it repacks only matrices whose row count is a multiple of 8 ({@code ggml_repack_get_optimal_repack_type}).
     * The others (stories260K's 172-row {@code ffn_gate} and {@code ffn_up}) keep {@code ggml_vec_dot_q4_0_q8_0} and
     * tinyBLAS's lane order, {@link #multiplyUnpacked}.
     */
    static boolean repacked(int rows) {
        return rows % 8 == 0;
    }

    /**
     * Rows {@code [rowFrom, rowTo)} of a matrix llama.cpp does not repack ({@link #repacked}) times every token, in
     * the lane order the other 32-element formats share ({@link Block32Kernels}: eight lanes of exact block sums, one
     * FMA per block, lanes summed at the end); batches in its tiles, single tokens with its scalar definition, so the
     * two agree bit for bit. Such matrices are small (row counts that are not a multiple of 8), so no vector kernel of
     * their own.
     */
    void multiplyUnpacked(
            MemorySegment data,
            long rowBytes,
            int rowFrom,
            int rowTo,
            Activations x,
            float[] out,
            int outStride,
            RowScratch scratch) {
        if (Kernels.VECTOR && x.tokens() > 1) {
            super.multiplyTokens(data, rowBytes, rowFrom, rowTo, x, out, outStride, scratch);
            return;
        }
        for (int r = rowFrom; r < rowTo; r++) {
            for (int t = 0; t < x.tokens(); t++) {
                out[t * outStride + r] = super.dotScalar(data, r * rowBytes, x, t, scratch.lanes);
            }
        }
    }
}
