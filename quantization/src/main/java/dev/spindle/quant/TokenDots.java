package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import jdk.incubator.vector.FloatVector;

/**
 * Dot products of one decoded row ({@link RowScratch}) with every token of a batch, several tokens per pass so that
 * each load of the row serves them all.
 *
 * <p>For each token these kernels perform exactly the operations of the format's fused single-token kernel, in the
 * same order: for a quantized row, per block {@code s = q[0..8)*x + q[8..16)*x + ...} (FMAs from zero),
 * {@code acc = s*scale + acc}, and at the end {@code sum(acc) - sum_g coefficient[g]*xsum[g]}; for a dense row two
 * accumulators taking 8 lanes in turn, then a scalar tail. That makes batched and single-token results identical.
 */
final class TokenDots {

    /** Rows decoded and multiplied together: their decoded floats stay in the L2 cache, a column chunk in L1. */
    static final int TILE_ROWS = 8;

    /** Elements per column chunk: four tokens' activations (8 KiB) and the tile's rows (16 KiB) fit in L1. */
    static final int CHUNK_ELEMENTS = 512;

    private TokenDots() {}

    /**
     * {@code out[t * outStride + firstRow + i] = tile[i] · x[t]} for the {@code count} decoded rows of {@code
     * scratch.tile} and every token of {@code a}.
     *
     * <p>Quantized rows run four tokens at a time over column chunks of {@value #CHUNK_ELEMENTS} elements, every row
     * of the tile in turn, the accumulators kept in {@code scratch.accumulators} between chunks. Each accumulator still
     * takes the row's blocks in order, so the result is bit for bit that of {@link #multiply}: only the order in which
     * different (row, token) pairs are worked on changes, which is what keeps a chunk of activations in the L1 cache
     * for all the tile's rows instead of streaming every token's whole activation vector from L2 for every row.
     */
    static void multiplyTile(RowScratch scratch, int count, Activations a, float[] out, int firstRow, int outStride) {
        RowScratch[] tile = scratch.tile;
        if (tile[0].blockLength == 0) {
            for (int i = 0; i < count; i++) {
                dense(tile[i], a, out, firstRow + i, outStride);
            }
            return;
        }
        int tokens = a.tokens();
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            fourTokens(scratch, count, a, t, out, firstRow, outStride);
        }
        for (; t < tokens; t++) {
            for (int i = 0; i < count; i++) {
                out[t * outStride + firstRow + i] = blocksOne(tile[i], a.x(), t * a.cols(), a.sums(), t * a.groups());
            }
        }
    }

    /** Tokens {@code t .. t + 3} against the tile, a column chunk at a time. */
    private static void fourTokens(
            RowScratch scratch, int count, Activations a, int t, float[] out, int firstRow, int outStride) {
        RowScratch[] tile = scratch.tile;
        float[] acc = scratch.accumulators;
        java.util.Arrays.fill(acc, 0, count * 4 * N, 0f);
        int blocks = tile[0].blocks;
        int chunkBlocks = Math.max(1, CHUNK_ELEMENTS / tile[0].blockLength);
        for (int from = 0; from < blocks; from += chunkBlocks) {
            int to = Math.min(blocks, from + chunkBlocks);
            for (int i = 0; i < count; i++) {
                chunk(tile[i], a, t, from, to, acc, i * 4 * N);
            }
        }
        float[] sums = a.sums();
        int groups = a.groups();
        float[] c = scratch.corrections;
        for (int i = 0; i < count; i++) {
            corrections(tile[i], sums, t * groups, groups, c);
            int base = i * 4 * N;
            for (int k = 0; k < 4; k++) {
                out[(t + k) * outStride + firstRow + i] = sumStored(acc, base + k * N) - c[k];
            }
        }
    }

    /** Blocks {@code [from, to)} of one row with tokens {@code t .. t + 3}, accumulators through {@code acc}. */
    private static void chunk(RowScratch row, Activations a, int t, int from, int to, float[] acc, int at) {
        float[] x = a.x();
        float[] q = row.q;
        int length = row.blockLength;
        int cols = a.cols();
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector acc0 = FloatVector.fromArray(F, acc, at);
        FloatVector acc1 = FloatVector.fromArray(F, acc, at + N);
        FloatVector acc2 = FloatVector.fromArray(F, acc, at + 2 * N);
        FloatVector acc3 = FloatVector.fromArray(F, acc, at + 3 * N);
        for (int b = from; b < to; b++) {
            int qo = b * length;
            int xs = row.starts[b];
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            FloatVector s2 = FloatVector.zero(F);
            FloatVector s3 = FloatVector.zero(F);
            for (int k = 0; k < length; k += N) {
                FloatVector w = FloatVector.fromArray(F, q, qo + k);
                s0 = w.fma(FloatVector.fromArray(F, x, x0 + xs + k), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, x1 + xs + k), s1);
                s2 = w.fma(FloatVector.fromArray(F, x, x2 + xs + k), s2);
                s3 = w.fma(FloatVector.fromArray(F, x, x3 + xs + k), s3);
            }
            FloatVector scale = FloatVector.broadcast(F, row.scales[b]);
            acc0 = s0.fma(scale, acc0);
            acc1 = s1.fma(scale, acc1);
            acc2 = s2.fma(scale, acc2);
            acc3 = s3.fma(scale, acc3);
        }
        acc0.intoArray(acc, at);
        acc1.intoArray(acc, at + N);
        acc2.intoArray(acc, at + 2 * N);
        acc3.intoArray(acc, at + 3 * N);
    }

    /**
     * {@link #correction} of four consecutive tokens in one pass: four independent chains, each in group order as
     * {@link #correction} adds (so the same bits), where one chain at a time would wait on every addition.
     */
    static void corrections(RowScratch row, float[] sums, int sumsOffset, int groups, float[] out) {
        if (!row.corrected) {
            out[0] = 0;
            out[1] = 0;
            out[2] = 0;
            out[3] = 0;
            return;
        }
        int n = row.blocks * row.blockLength / TypeKernels.SUM_GROUP;
        float c0 = 0;
        float c1 = 0;
        float c2 = 0;
        float c3 = 0;
        int s1 = sumsOffset + groups;
        int s2 = s1 + groups;
        int s3 = s2 + groups;
        for (int g = 0; g < n; g++) {
            float k = row.coefficients[g];
            c0 += k * sums[sumsOffset + g];
            c1 += k * sums[s1 + g];
            c2 += k * sums[s2 + g];
            c3 += k * sums[s3 + g];
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /** {@link Lanes#sumStored} of the eight floats at {@code a[offset ..]}. */
    private static float sumStored(float[] a, int offset) {
        return ((a[offset] + a[offset + 4]) + (a[offset + 2] + a[offset + 6]))
                + ((a[offset + 1] + a[offset + 5]) + (a[offset + 3] + a[offset + 7]));
    }

    /** {@code out[t * outStride + outIndex] = row · x[t]} for every token of {@code a}. */
    static void multiply(RowScratch row, Activations a, float[] out, int outIndex, int outStride) {
        if (row.blockLength == 0) {
            dense(row, a, out, outIndex, outStride);
        } else {
            blocks(row, a, out, outIndex, outStride);
        }
    }

    /** The dot product of a decoded quantized row with one token: the reference order every kernel keeps. */
    static float blocksOne(RowScratch row, float[] x, int xOffset, float[] sums, int sumsOffset) {
        float[] q = row.q;
        int length = row.blockLength;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < row.blocks; b++) {
            int qo = b * length;
            int xo = xOffset + row.starts[b];
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < length; k += N) {
                s = FloatVector.fromArray(F, q, qo + k).fma(FloatVector.fromArray(F, x, xo + k), s);
            }
            acc = s.fma(FloatVector.broadcast(F, row.scales[b]), acc);
        }
        return Lanes.sum(acc, row.lanes) - correction(row, sums, sumsOffset);
    }

    /** {@code sum_g coefficient[g] * sums[g]}, in group order; 0 for formats without offsets or minimums. */
    static float correction(RowScratch row, float[] sums, int sumsOffset) {
        if (!row.corrected) {
            return 0;
        }
        int groups = row.blocks * row.blockLength / TypeKernels.SUM_GROUP;
        float c = 0;
        for (int g = 0; g < groups; g++) {
            c += row.coefficients[g] * sums[sumsOffset + g];
        }
        return c;
    }

    /**
     * Four tokens per pass: each quant vector loaded once for all four. The loops stay rolled in the source (C2
     * unrolls them): a kernel written out in full exceeds C2's inlining budget, and a vector passed to a call that
     * was not inlined is boxed on the heap.
     */
    private static void blocks(RowScratch row, Activations a, float[] out, int outIndex, int outStride) {
        float[] x = a.x();
        float[] sums = a.sums();
        float[] q = row.q;
        int length = row.blockLength;
        int cols = a.cols();
        int groups = a.groups();
        int tokens = a.tokens();
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            int x0 = t * cols;
            int x1 = x0 + cols;
            int x2 = x1 + cols;
            int x3 = x2 + cols;
            FloatVector acc0 = FloatVector.zero(F);
            FloatVector acc1 = FloatVector.zero(F);
            FloatVector acc2 = FloatVector.zero(F);
            FloatVector acc3 = FloatVector.zero(F);
            for (int b = 0; b < row.blocks; b++) {
                int qo = b * length;
                int xs = row.starts[b];
                FloatVector s0 = FloatVector.zero(F);
                FloatVector s1 = FloatVector.zero(F);
                FloatVector s2 = FloatVector.zero(F);
                FloatVector s3 = FloatVector.zero(F);
                for (int k = 0; k < length; k += N) {
                    FloatVector w = FloatVector.fromArray(F, q, qo + k);
                    s0 = w.fma(FloatVector.fromArray(F, x, x0 + xs + k), s0);
                    s1 = w.fma(FloatVector.fromArray(F, x, x1 + xs + k), s1);
                    s2 = w.fma(FloatVector.fromArray(F, x, x2 + xs + k), s2);
                    s3 = w.fma(FloatVector.fromArray(F, x, x3 + xs + k), s3);
                }
                FloatVector scale = FloatVector.broadcast(F, row.scales[b]);
                acc0 = s0.fma(scale, acc0);
                acc1 = s1.fma(scale, acc1);
                acc2 = s2.fma(scale, acc2);
                acc3 = s3.fma(scale, acc3);
            }
            out[t * outStride + outIndex] = Lanes.sum(acc0, row.lanes) - correction(row, sums, t * groups);
            out[(t + 1) * outStride + outIndex] = Lanes.sum(acc1, row.lanes) - correction(row, sums, (t + 1) * groups);
            out[(t + 2) * outStride + outIndex] = Lanes.sum(acc2, row.lanes) - correction(row, sums, (t + 2) * groups);
            out[(t + 3) * outStride + outIndex] = Lanes.sum(acc3, row.lanes) - correction(row, sums, (t + 3) * groups);
        }
        for (; t < tokens; t++) {
            out[t * outStride + outIndex] = blocksOne(row, x, t * cols, sums, t * groups);
        }
    }

    /** The reference order of a dense dot product: two accumulators over 16 lanes, 8 more, then a scalar tail. */
    static float denseOne(float[] w, float[] x, int xOffset, int count, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * N <= count; i += 2 * N) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = FloatVector.fromArray(F, w, i + N).fma(FloatVector.fromArray(F, x, xOffset + i + N), a1);
        }
        if (i + N <= count) {
            a0 = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            i += N;
        }
        float sum = Lanes.sum(a0.add(a1), lanes);
        for (; i < count; i++) {
            sum += w[i] * x[xOffset + i];
        }
        return sum;
    }

    private static void dense(RowScratch row, Activations a, float[] out, int outIndex, int outStride) {
        float[] x = a.x();
        float[] w = row.q;
        int cols = a.cols();
        int tokens = a.tokens();
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            int x0 = t * cols;
            int x1 = x0 + cols;
            int x2 = x1 + cols;
            int x3 = x2 + cols;
            FloatVector a00 = FloatVector.zero(F);
            FloatVector a01 = FloatVector.zero(F);
            FloatVector a10 = FloatVector.zero(F);
            FloatVector a11 = FloatVector.zero(F);
            FloatVector a20 = FloatVector.zero(F);
            FloatVector a21 = FloatVector.zero(F);
            FloatVector a30 = FloatVector.zero(F);
            FloatVector a31 = FloatVector.zero(F);
            int i = 0;
            for (; i + 2 * N <= cols; i += 2 * N) {
                FloatVector v = FloatVector.fromArray(F, w, i);
                a00 = v.fma(FloatVector.fromArray(F, x, x0 + i), a00);
                a10 = v.fma(FloatVector.fromArray(F, x, x1 + i), a10);
                a20 = v.fma(FloatVector.fromArray(F, x, x2 + i), a20);
                a30 = v.fma(FloatVector.fromArray(F, x, x3 + i), a30);
                v = FloatVector.fromArray(F, w, i + N);
                a01 = v.fma(FloatVector.fromArray(F, x, x0 + i + N), a01);
                a11 = v.fma(FloatVector.fromArray(F, x, x1 + i + N), a11);
                a21 = v.fma(FloatVector.fromArray(F, x, x2 + i + N), a21);
                a31 = v.fma(FloatVector.fromArray(F, x, x3 + i + N), a31);
            }
            if (i + N <= cols) {
                FloatVector v = FloatVector.fromArray(F, w, i);
                a00 = v.fma(FloatVector.fromArray(F, x, x0 + i), a00);
                a10 = v.fma(FloatVector.fromArray(F, x, x1 + i), a10);
                a20 = v.fma(FloatVector.fromArray(F, x, x2 + i), a20);
                a30 = v.fma(FloatVector.fromArray(F, x, x3 + i), a30);
                i += N;
            }
            float s0 = Lanes.sum(a00.add(a01), row.lanes);
            float s1 = Lanes.sum(a10.add(a11), row.lanes);
            float s2 = Lanes.sum(a20.add(a21), row.lanes);
            float s3 = Lanes.sum(a30.add(a31), row.lanes);
            for (; i < cols; i++) {
                s0 += w[i] * x[x0 + i];
                s1 += w[i] * x[x1 + i];
                s2 += w[i] * x[x2 + i];
                s3 += w[i] * x[x3 + i];
            }
            out[t * outStride + outIndex] = s0;
            out[(t + 1) * outStride + outIndex] = s1;
            out[(t + 2) * outStride + outIndex] = s2;
            out[(t + 3) * outStride + outIndex] = s3;
        }
        for (; t < tokens; t++) {
            out[t * outStride + outIndex] = denseOne(w, x, t * cols, cols, row.lanes);
        }
    }
}
