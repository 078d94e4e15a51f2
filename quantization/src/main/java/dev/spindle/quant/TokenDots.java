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

    // Rows of the formats with 8-bit activations (Block32Kernels): quants decoded as signed integer-valued floats in
    // lane order, the activations' quants likewise. Each block's lane sums are exact whatever the order of the FMAs
    // that make them, so tiles of any shape give the bits of the single-token kernel as long as each (row, token)
    // applies its blocks in order: acc = fma(d_w*d_x, sum, acc), summs = fma(m_w, s_x, summs), then Lanes.sum.

    /**
     * {@code out[t * outStride + outIndex + k]} for the {@code rows} (1 or 2) rows decoded in {@code row} and every
     * token of {@code a}: two rows and four tokens per pass, so that each load serves several FMAs.
     */
    static void q8Rows(
            RowScratch row,
            int rows,
            int blocks,
            boolean minimum,
            Activations a,
            float[] out,
            int outIndex,
            int outStride) {
        int tokens = a.tokens();
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            if (rows == 2) {
                q8TwoRowsFourTokens(row, blocks, minimum, a, t, out, outIndex, outStride);
            } else {
                q8OneRowFourTokens(row, blocks, minimum, a, t, out, outIndex, outStride);
            }
        }
        for (; t < tokens; t++) {
            for (int k = 0; k < rows; k++) {
                out[t * outStride + outIndex + k] = q8One(row, k, blocks, minimum, a, t);
            }
        }
    }

    /** Row {@code k} of {@code row} times token {@code t}. */
    static float q8One(RowScratch row, int k, int blocks, boolean minimum, Activations a, int t) {
        float[] q = row.q;
        float[] x = a.q8();
        float[] dx = a.q8Scales();
        float[] sx = a.q8Sums();
        int cols = a.cols();
        int qBase = k * row.maxCols();
        int sBase = k * (row.maxCols() / 32);
        int xBase = t * cols;
        int dBase = t * blocks;
        FloatVector acc = FloatVector.zero(F);
        float summs = 0;
        for (int b = 0; b < blocks; b++) {
            int at = b * 32;
            FloatVector s = FloatVector.zero(F);
            for (int m = 0; m < 32; m += N) {
                s = FloatVector.fromArray(F, q, qBase + at + m).fma(FloatVector.fromArray(F, x, xBase + at + m), s);
            }
            acc = s.fma(FloatVector.broadcast(F, row.scales[sBase + b] * dx[dBase + b]), acc);
            if (minimum) {
                summs = Math.fma(row.coefficients[sBase + b], sx[dBase + b], summs);
            }
        }
        acc.intoArray(row.lanes, 0);
        return withMinimum(row.lanes, 0, minimum, summs);
    }

    private static void q8OneRowFourTokens(
            RowScratch row,
            int blocks,
            boolean minimum,
            Activations a,
            int t,
            float[] out,
            int outIndex,
            int outStride) {
        float[] q = row.q;
        float[] x = a.q8();
        float[] dx = a.q8Scales();
        float[] sx = a.q8Sums();
        int cols = a.cols();
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int d0 = t * blocks;
        int d1 = d0 + blocks;
        int d2 = d1 + blocks;
        int d3 = d2 + blocks;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        float summs0 = 0;
        float summs1 = 0;
        float summs2 = 0;
        float summs3 = 0;
        for (int b = 0; b < blocks; b++) {
            int at = b * 32;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector s1 = FloatVector.zero(F);
            FloatVector s2 = FloatVector.zero(F);
            FloatVector s3 = FloatVector.zero(F);
            for (int m = 0; m < 32; m += N) {
                FloatVector w = FloatVector.fromArray(F, q, at + m);
                s0 = w.fma(FloatVector.fromArray(F, x, x0 + at + m), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, x1 + at + m), s1);
                s2 = w.fma(FloatVector.fromArray(F, x, x2 + at + m), s2);
                s3 = w.fma(FloatVector.fromArray(F, x, x3 + at + m), s3);
            }
            float dw = row.scales[b];
            acc0 = s0.fma(FloatVector.broadcast(F, dw * dx[d0 + b]), acc0);
            acc1 = s1.fma(FloatVector.broadcast(F, dw * dx[d1 + b]), acc1);
            acc2 = s2.fma(FloatVector.broadcast(F, dw * dx[d2 + b]), acc2);
            acc3 = s3.fma(FloatVector.broadcast(F, dw * dx[d3 + b]), acc3);
            if (minimum) {
                float mw = row.coefficients[b];
                summs0 = Math.fma(mw, sx[d0 + b], summs0);
                summs1 = Math.fma(mw, sx[d1 + b], summs1);
                summs2 = Math.fma(mw, sx[d2 + b], summs2);
                summs3 = Math.fma(mw, sx[d3 + b], summs3);
            }
        }
        float[] lanes = row.tileLanes;
        acc0.intoArray(lanes, 0);
        acc1.intoArray(lanes, N);
        acc2.intoArray(lanes, 2 * N);
        acc3.intoArray(lanes, 3 * N);
        out[t * outStride + outIndex] = withMinimum(lanes, 0, minimum, summs0);
        out[(t + 1) * outStride + outIndex] = withMinimum(lanes, N, minimum, summs1);
        out[(t + 2) * outStride + outIndex] = withMinimum(lanes, 2 * N, minimum, summs2);
        out[(t + 3) * outStride + outIndex] = withMinimum(lanes, 3 * N, minimum, summs3);
    }

    private static void q8TwoRowsFourTokens(
            RowScratch row,
            int blocks,
            boolean minimum,
            Activations a,
            int t,
            float[] out,
            int outIndex,
            int outStride) {
        float[] q = row.q;
        float[] x = a.q8();
        float[] dx = a.q8Scales();
        float[] sx = a.q8Sums();
        int cols = a.cols();
        int second = row.maxCols();
        int secondScales = second / 32;
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        int d0 = t * blocks;
        int d1 = d0 + blocks;
        int d2 = d1 + blocks;
        int d3 = d2 + blocks;
        FloatVector acc00 = FloatVector.zero(F);
        FloatVector acc01 = FloatVector.zero(F);
        FloatVector acc02 = FloatVector.zero(F);
        FloatVector acc03 = FloatVector.zero(F);
        FloatVector acc10 = FloatVector.zero(F);
        FloatVector acc11 = FloatVector.zero(F);
        FloatVector acc12 = FloatVector.zero(F);
        FloatVector acc13 = FloatVector.zero(F);
        float summs00 = 0;
        float summs01 = 0;
        float summs02 = 0;
        float summs03 = 0;
        float summs10 = 0;
        float summs11 = 0;
        float summs12 = 0;
        float summs13 = 0;
        for (int b = 0; b < blocks; b++) {
            int at = b * 32;
            FloatVector s00 = FloatVector.zero(F);
            FloatVector s01 = FloatVector.zero(F);
            FloatVector s02 = FloatVector.zero(F);
            FloatVector s03 = FloatVector.zero(F);
            FloatVector s10 = FloatVector.zero(F);
            FloatVector s11 = FloatVector.zero(F);
            FloatVector s12 = FloatVector.zero(F);
            FloatVector s13 = FloatVector.zero(F);
            for (int m = 0; m < 32; m += N) {
                FloatVector w0 = FloatVector.fromArray(F, q, at + m);
                FloatVector w1 = FloatVector.fromArray(F, q, second + at + m);
                FloatVector v = FloatVector.fromArray(F, x, x0 + at + m);
                s00 = w0.fma(v, s00);
                s10 = w1.fma(v, s10);
                v = FloatVector.fromArray(F, x, x1 + at + m);
                s01 = w0.fma(v, s01);
                s11 = w1.fma(v, s11);
                v = FloatVector.fromArray(F, x, x2 + at + m);
                s02 = w0.fma(v, s02);
                s12 = w1.fma(v, s12);
                v = FloatVector.fromArray(F, x, x3 + at + m);
                s03 = w0.fma(v, s03);
                s13 = w1.fma(v, s13);
            }
            // Scales broadcast straight from memory and multiplied as vectors: the load unit does the broadcasts,
            // which would otherwise take shuffle slots from the FMAs. dw * dx is the same product in every lane.
            FloatVector dw0 = FloatVector.broadcast(F, row.scales[b]);
            FloatVector dw1 = FloatVector.broadcast(F, row.scales[secondScales + b]);
            FloatVector dx0 = FloatVector.broadcast(F, dx[d0 + b]);
            FloatVector dx1 = FloatVector.broadcast(F, dx[d1 + b]);
            FloatVector dx2 = FloatVector.broadcast(F, dx[d2 + b]);
            FloatVector dx3 = FloatVector.broadcast(F, dx[d3 + b]);
            acc00 = s00.fma(dw0.mul(dx0), acc00);
            acc01 = s01.fma(dw0.mul(dx1), acc01);
            acc02 = s02.fma(dw0.mul(dx2), acc02);
            acc03 = s03.fma(dw0.mul(dx3), acc03);
            acc10 = s10.fma(dw1.mul(dx0), acc10);
            acc11 = s11.fma(dw1.mul(dx1), acc11);
            acc12 = s12.fma(dw1.mul(dx2), acc12);
            acc13 = s13.fma(dw1.mul(dx3), acc13);
            if (minimum) {
                float mw0 = row.coefficients[b];
                float mw1 = row.coefficients[secondScales + b];
                summs00 = Math.fma(mw0, sx[d0 + b], summs00);
                summs01 = Math.fma(mw0, sx[d1 + b], summs01);
                summs02 = Math.fma(mw0, sx[d2 + b], summs02);
                summs03 = Math.fma(mw0, sx[d3 + b], summs03);
                summs10 = Math.fma(mw1, sx[d0 + b], summs10);
                summs11 = Math.fma(mw1, sx[d1 + b], summs11);
                summs12 = Math.fma(mw1, sx[d2 + b], summs12);
                summs13 = Math.fma(mw1, sx[d3 + b], summs13);
            }
        }
        // The accumulators leave through memory: a vector passed to a call that C2 did not inline (a lane sum, in a
        // method this size) would be boxed on the heap.
        float[] lanes = row.tileLanes;
        acc00.intoArray(lanes, 0);
        acc01.intoArray(lanes, N);
        acc02.intoArray(lanes, 2 * N);
        acc03.intoArray(lanes, 3 * N);
        acc10.intoArray(lanes, 4 * N);
        acc11.intoArray(lanes, 5 * N);
        acc12.intoArray(lanes, 6 * N);
        acc13.intoArray(lanes, 7 * N);
        float[] summs = row.tileMinimums;
        summs[0] = summs00;
        summs[1] = summs01;
        summs[2] = summs02;
        summs[3] = summs03;
        summs[4] = summs10;
        summs[5] = summs11;
        summs[6] = summs12;
        summs[7] = summs13;
        int o0 = t * outStride + outIndex;
        for (int k = 0; k < 2; k++) {
            for (int j = 0; j < 4; j++) {
                out[o0 + j * outStride + k] = withMinimum(lanes, (4 * k + j) * N, minimum, summs[4 * k + j]);
            }
        }
    }

    /** The sum of the eight lanes stored at {@code lanes[from ..]} in {@link Lanes#sum}'s order, plus {@code m*s}. */
    private static float withMinimum(float[] lanes, int from, boolean minimum, float summs) {
        float sum = ((lanes[from] + lanes[from + 4]) + (lanes[from + 2] + lanes[from + 6]))
                + ((lanes[from + 1] + lanes[from + 5]) + (lanes[from + 3] + lanes[from + 7]));
        return minimum ? sum + summs : sum;
    }
}
