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

    private TokenDots() {}

    /** {@code out[t * outStride + outIndex] = row · x[t]} for every token of {@code a}. */
    static void multiply(RowScratch row, Activations a, float[] out, int outIndex, int outStride) {
        // One copy of the loop per block length, so that the length is a constant: C2 then unrolls the steps within
        // a block; with the length read from the row it keeps a loop of two or four trips, with all its overhead.
        if (row.blockLength == 0) {
            dense(row, a, out, outIndex, outStride);
        } else if (row.blockLength == 32) {
            blocks32(row, a, out, outIndex, outStride);
        } else {
            blocks16(row, a, out, outIndex, outStride);
        }
    }

    /** The dot product of a decoded quantized row with one token: the reference order every kernel keeps. */
    static float blocksOne(RowScratch row, float[] x, int xOffset, float[] sums, int sumsOffset) {
        return row.blockLength == 32
                ? one32(row, x, xOffset, sums, sumsOffset)
                : one16(row, x, xOffset, sums, sumsOffset);
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

    private static float one32(RowScratch row, float[] x, int xOffset, float[] sums, int sumsOffset) {
        float[] q = row.q;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < row.blocks; b++) {
            // Blocks of 32 are in element order in every format that has them.
            int at = b * 32;
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < 32; k += N) {
                s = FloatVector.fromArray(F, q, at + k).fma(FloatVector.fromArray(F, x, xOffset + at + k), s);
            }
            acc = s.fma(FloatVector.broadcast(F, row.scales[b]), acc);
        }
        return Lanes.sum(acc, row.lanes) - correction(row, sums, sumsOffset);
    }

    private static float one16(RowScratch row, float[] x, int xOffset, float[] sums, int sumsOffset) {
        float[] q = row.q;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < row.blocks; b++) {
            int qo = b * 16;
            int xo = xOffset + row.starts[b];
            FloatVector s = FloatVector.zero(F);
            for (int k = 0; k < 16; k += N) {
                s = FloatVector.fromArray(F, q, qo + k).fma(FloatVector.fromArray(F, x, xo + k), s);
            }
            acc = s.fma(FloatVector.broadcast(F, row.scales[b]), acc);
        }
        return Lanes.sum(acc, row.lanes) - correction(row, sums, sumsOffset);
    }

    /**
     * Four tokens per pass: each quant vector loaded once for all four. The loops stay rolled in the source (C2
     * unrolls them): a kernel written out in full exceeds C2's inlining budget, and a vector passed to a call that
     * was not inlined is boxed on the heap.
     */
    private static void blocks32(RowScratch row, Activations a, float[] out, int outIndex, int outStride) {
        float[] x = a.x();
        float[] sums = a.sums();
        float[] q = row.q;

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
                int qo = b * 32;
                int xs = b * 32;
                FloatVector s0 = FloatVector.zero(F);
                FloatVector s1 = FloatVector.zero(F);
                FloatVector s2 = FloatVector.zero(F);
                FloatVector s3 = FloatVector.zero(F);
                for (int k = 0; k < 32; k += N) {
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

    private static void blocks16(RowScratch row, Activations a, float[] out, int outIndex, int outStride) {
        float[] x = a.x();
        float[] sums = a.sums();
        float[] q = row.q;

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
                int qo = b * 16;
                int xs = row.starts[b];
                FloatVector s0 = FloatVector.zero(F);
                FloatVector s1 = FloatVector.zero(F);
                FloatVector s2 = FloatVector.zero(F);
                FloatVector s3 = FloatVector.zero(F);
                for (int k = 0; k < 16; k += N) {
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

    /**
     * The reference order of a dense dot product: 8-lane chunks go to two accumulators in turn, which are added, their
     * lanes summed in {@link Lanes#sumStored}'s order, then a scalar tail. Accumulators are summed through memory, as
     * everywhere in the dense kernels: a vector passed to a method that C2 did not inline is boxed on the heap.
     */
    static float denseOne(float[] w, float[] x, int xOffset, int count, float[] lanes) {
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        int i = 0;
        for (; i + N <= count; i += N) {
            FloatVector sum = FloatVector.fromArray(F, w, i).fma(FloatVector.fromArray(F, x, xOffset + i), next);
            next = other;
            other = sum;
        }
        next.add(other).intoArray(lanes, 0);
        float sum = Lanes.sumStored(lanes);
        for (; i < count; i++) {
            sum += w[i] * x[xOffset + i];
        }
        return sum;
    }

    private static void dense(RowScratch row, Activations a, float[] out, int outIndex, int outStride) {
        float[] x = a.x();
        float[] w = row.q;
        float[] lanes = row.lanes;
        int cols = a.cols();
        int tokens = a.tokens();
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            int x0 = t * cols;
            int x1 = x0 + cols;
            int x2 = x1 + cols;
            int x3 = x2 + cols;
            // Per token, the even chunks' accumulator and the odd chunks'.
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
            a00.add(a01).intoArray(lanes, 0);
            float s0 = Lanes.sumStored(lanes);
            a10.add(a11).intoArray(lanes, 0);
            float s1 = Lanes.sumStored(lanes);
            a20.add(a21).intoArray(lanes, 0);
            float s2 = Lanes.sumStored(lanes);
            a30.add(a31).intoArray(lanes, 0);
            float s3 = Lanes.sumStored(lanes);
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
            out[t * outStride + outIndex] = denseOne(w, x, t * cols, cols, lanes);
        }
    }
}
