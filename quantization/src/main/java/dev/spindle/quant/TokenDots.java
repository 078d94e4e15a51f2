package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Dot products of one decoded row ({@link RowScratch}) with every token of a batch, several tokens per pass so that
 * each load of the row serves them all.
 *
 * <p>For each token these kernels perform exactly the operations of the format's fused single-token kernel, in the
 * same order: for a row of 8-bit products, per block eight lanes of exact integer sums, {@code acc = fma(d_w*d_x,
 * sum, acc)}, the lanes summed at the end ({@link #q8Rows}); for a dense row two accumulators taking 8 lanes in turn,
 * then a scalar tail ({@link #denseRows}). That makes batched and single-token results identical.
 */
final class TokenDots {

    private TokenDots() {}

    /**
     * The reference order of a dense dot product: 8-lane chunks go to two accumulators in turn, which are added, their
     * lanes summed in {@link Lanes#sumStored}'s order, then a scalar tail. Accumulators are summed through memory, as
     * everywhere in the dense kernels: a vector passed to a method that C2 did not inline is boxed on the heap.
     *
     * <p>Loops over 16 lanes run while {@code i < count - 15}, a bound computed once, and not while {@code i + 16 <=
     * count}: C2 then recognises a counted loop and takes the range checks of the vector loads out of it (measured:
     * the four-token pass 1.5x faster, the fused F16 kernel 1.2x).
     */
    static float denseOne(float[] w, float[] x, int xOffset, int count, float[] lanes) {
        return denseOne(w, 0, x, xOffset, count, lanes);
    }

    /** {@link #denseOne(float[], float[], int, int, float[])} for the row at {@code w[wOffset ..]}. */
    static float denseOne(float[] w, int wOffset, float[] x, int xOffset, int count, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int bound = count - 2 * N + 1;
        int i = 0;
        for (; i < bound; i += 2 * N) {
            a0 = FloatVector.fromArray(F, w, wOffset + i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = FloatVector.fromArray(F, w, wOffset + i + N).fma(FloatVector.fromArray(F, x, xOffset + i + N), a1);
        }
        if (i + N <= count) {
            a0 = FloatVector.fromArray(F, w, wOffset + i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            i += N;
        }
        a0.add(a1).intoArray(lanes, 0);
        float sum = Lanes.sumStored(lanes);
        for (; i < count; i++) {
            sum += w[wOffset + i] * x[xOffset + i];
        }
        return sum;
    }

    /**
     * Dense rows {@code [rowFrom, rowTo)} (F32, F16, BF16) times every token of {@code a}, two or more (the dense
     * kernels' {@link TypeKernels#multiplyTokens}): rows are converted to floats two at a time and multiplied with four tokens per pass ({@link #densePair}), so that each
     * weight vector is loaded once for four tokens and each activation vector once for two rows. A last odd row, and
     * rows whose length leaves a single 8-lane chunk after the 16-lane steps, take one row at a time.
     */
    static void denseRows(
            TypeKernels kernels,
            MemorySegment data,
            long rowBytes,
            int rows,
            Activations a,
            float[] out,
            int rowFrom,
            int rowTo,
            RowScratch scratch) {
        int cols = a.cols();
        int second = scratch.maxCols(); // the second row of a pair lies in q's second half
        int r = rowFrom;
        if (cols % (2 * N) < N) {
            for (; r + 2 <= rowTo; r += 2) {
                kernels.dequantizeVector(data, r * rowBytes, scratch.q, 0, cols);
                kernels.dequantizeVector(data, (r + 1) * rowBytes, scratch.q, second, cols);
                densePair(scratch.q, second, a, out, r, rows, scratch.lanes);
            }
        }
        for (; r < rowTo; r++) {
            kernels.dequantizeVector(data, r * rowBytes, scratch.q, 0, cols);
            dense(scratch.q, a, out, r, rows, scratch.lanes);
        }
    }

    /**
     * Rows {@code w[0 .. cols)} and {@code w[second .. second + cols)} (rows {@code row} and {@code row + 1} of the
     * output) times every token: two rows
     * by four tokens per pass, sixteen accumulators, each (row, token) with {@link #denseOne}'s operations in its
     * order. Only for lengths that leave no 8-lane chunk after the 16-lane steps (that step would make the method too
     * large for C2 to compile it whole). Two leftover tokens take {@link #densePairTwoTokens}, a last one {@link
     * #denseOne}.
     */
    private static void densePair(
            float[] w, int second, Activations a, float[] out, int row, int outStride, float[] lanes) {
        float[] x = a.x();
        int cols = a.cols();
        int tokens = a.tokens();
        int bound = cols - 2 * N + 1;
        int t = 0;
        for (; t + 4 <= tokens; t += 4) {
            int x0 = t * cols;
            int x1 = x0 + cols;
            int x2 = x1 + cols;
            int x3 = x2 + cols;
            // wT0 and wT1: row w's accumulators of the even and odd chunks for token t + T; vT0, vT1 row v's.
            FloatVector w00 = FloatVector.zero(F);
            FloatVector w01 = FloatVector.zero(F);
            FloatVector w10 = FloatVector.zero(F);
            FloatVector w11 = FloatVector.zero(F);
            FloatVector w20 = FloatVector.zero(F);
            FloatVector w21 = FloatVector.zero(F);
            FloatVector w30 = FloatVector.zero(F);
            FloatVector w31 = FloatVector.zero(F);
            FloatVector v00 = FloatVector.zero(F);
            FloatVector v01 = FloatVector.zero(F);
            FloatVector v10 = FloatVector.zero(F);
            FloatVector v11 = FloatVector.zero(F);
            FloatVector v20 = FloatVector.zero(F);
            FloatVector v21 = FloatVector.zero(F);
            FloatVector v30 = FloatVector.zero(F);
            FloatVector v31 = FloatVector.zero(F);
            int i = 0;
            for (; i < bound; i += 2 * N) {
                FloatVector p = FloatVector.fromArray(F, w, i);
                FloatVector q = FloatVector.fromArray(F, w, second + i);
                FloatVector y = FloatVector.fromArray(F, x, x0 + i);
                w00 = p.fma(y, w00);
                v00 = q.fma(y, v00);
                y = FloatVector.fromArray(F, x, x1 + i);
                w10 = p.fma(y, w10);
                v10 = q.fma(y, v10);
                y = FloatVector.fromArray(F, x, x2 + i);
                w20 = p.fma(y, w20);
                v20 = q.fma(y, v20);
                y = FloatVector.fromArray(F, x, x3 + i);
                w30 = p.fma(y, w30);
                v30 = q.fma(y, v30);
                p = FloatVector.fromArray(F, w, i + N);
                q = FloatVector.fromArray(F, w, second + i + N);
                y = FloatVector.fromArray(F, x, x0 + i + N);
                w01 = p.fma(y, w01);
                v01 = q.fma(y, v01);
                y = FloatVector.fromArray(F, x, x1 + i + N);
                w11 = p.fma(y, w11);
                v11 = q.fma(y, v11);
                y = FloatVector.fromArray(F, x, x2 + i + N);
                w21 = p.fma(y, w21);
                v21 = q.fma(y, v21);
                y = FloatVector.fromArray(F, x, x3 + i + N);
                w31 = p.fma(y, w31);
                v31 = q.fma(y, v31);
            }
            w00.add(w01).intoArray(lanes, 0);
            float sw0 = Lanes.sumStored(lanes);
            w10.add(w11).intoArray(lanes, 0);
            float sw1 = Lanes.sumStored(lanes);
            w20.add(w21).intoArray(lanes, 0);
            float sw2 = Lanes.sumStored(lanes);
            w30.add(w31).intoArray(lanes, 0);
            float sw3 = Lanes.sumStored(lanes);
            v00.add(v01).intoArray(lanes, 0);
            float sv0 = Lanes.sumStored(lanes);
            v10.add(v11).intoArray(lanes, 0);
            float sv1 = Lanes.sumStored(lanes);
            v20.add(v21).intoArray(lanes, 0);
            float sv2 = Lanes.sumStored(lanes);
            v30.add(v31).intoArray(lanes, 0);
            float sv3 = Lanes.sumStored(lanes);
            for (; i < cols; i++) {
                sw0 += w[i] * x[x0 + i];
                sw1 += w[i] * x[x1 + i];
                sw2 += w[i] * x[x2 + i];
                sw3 += w[i] * x[x3 + i];
                sv0 += w[second + i] * x[x0 + i];
                sv1 += w[second + i] * x[x1 + i];
                sv2 += w[second + i] * x[x2 + i];
                sv3 += w[second + i] * x[x3 + i];
            }
            out[t * outStride + row] = sw0;
            out[(t + 1) * outStride + row] = sw1;
            out[(t + 2) * outStride + row] = sw2;
            out[(t + 3) * outStride + row] = sw3;
            out[t * outStride + row + 1] = sv0;
            out[(t + 1) * outStride + row + 1] = sv1;
            out[(t + 2) * outStride + row + 1] = sv2;
            out[(t + 3) * outStride + row + 1] = sv3;
        }
        if (t + 2 <= tokens) {
            densePairTwoTokens(w, second, x, cols, t, out, row, outStride, lanes);
            t += 2;
        }
        if (t < tokens) {
            out[t * outStride + row] = denseOne(w, 0, x, t * cols, cols, lanes);
            out[t * outStride + row + 1] = denseOne(w, second, x, t * cols, cols, lanes);
        }
    }

    /**
     * The pair of rows of {@link #densePair} times tokens {@code t} and {@code t + 1}, as it does four: a batch
     * of two or three tokens (a few sequences decoding together) then loads each vector once for two products.
     */
    private static void densePairTwoTokens(
            float[] w, int second, float[] x, int cols, int t, float[] out, int row, int outStride, float[] lanes) {
        int x0 = t * cols;
        int x1 = x0 + cols;
        int bound = cols - 2 * N + 1;
        FloatVector w00 = FloatVector.zero(F);
        FloatVector w01 = FloatVector.zero(F);
        FloatVector w10 = FloatVector.zero(F);
        FloatVector w11 = FloatVector.zero(F);
        FloatVector v00 = FloatVector.zero(F);
        FloatVector v01 = FloatVector.zero(F);
        FloatVector v10 = FloatVector.zero(F);
        FloatVector v11 = FloatVector.zero(F);
        int i = 0;
        for (; i < bound; i += 2 * N) {
            FloatVector p = FloatVector.fromArray(F, w, i);
            FloatVector q = FloatVector.fromArray(F, w, second + i);
            FloatVector y = FloatVector.fromArray(F, x, x0 + i);
            w00 = p.fma(y, w00);
            v00 = q.fma(y, v00);
            y = FloatVector.fromArray(F, x, x1 + i);
            w10 = p.fma(y, w10);
            v10 = q.fma(y, v10);
            p = FloatVector.fromArray(F, w, i + N);
            q = FloatVector.fromArray(F, w, second + i + N);
            y = FloatVector.fromArray(F, x, x0 + i + N);
            w01 = p.fma(y, w01);
            v01 = q.fma(y, v01);
            y = FloatVector.fromArray(F, x, x1 + i + N);
            w11 = p.fma(y, w11);
            v11 = q.fma(y, v11);
        }
        w00.add(w01).intoArray(lanes, 0);
        float sw0 = Lanes.sumStored(lanes);
        w10.add(w11).intoArray(lanes, 0);
        float sw1 = Lanes.sumStored(lanes);
        v00.add(v01).intoArray(lanes, 0);
        float sv0 = Lanes.sumStored(lanes);
        v10.add(v11).intoArray(lanes, 0);
        float sv1 = Lanes.sumStored(lanes);
        for (; i < cols; i++) {
            sw0 += w[i] * x[x0 + i];
            sw1 += w[i] * x[x1 + i];
            sv0 += w[second + i] * x[x0 + i];
            sv1 += w[second + i] * x[x1 + i];
        }
        out[t * outStride + row] = sw0;
        out[(t + 1) * outStride + row] = sw1;
        out[t * outStride + row + 1] = sv0;
        out[(t + 1) * outStride + row + 1] = sv1;
    }

    /** Row {@code w} (row {@code row} of the output) times every token, four tokens per pass. */
    private static void dense(float[] w, Activations a, float[] out, int row, int outStride, float[] lanes) {
        float[] x = a.x();
        int cols = a.cols();
        int tokens = a.tokens();
        int bound = cols - 2 * N + 1;
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
            for (; i < bound; i += 2 * N) {
                FloatVector p = FloatVector.fromArray(F, w, i);
                a00 = p.fma(FloatVector.fromArray(F, x, x0 + i), a00);
                a10 = p.fma(FloatVector.fromArray(F, x, x1 + i), a10);
                a20 = p.fma(FloatVector.fromArray(F, x, x2 + i), a20);
                a30 = p.fma(FloatVector.fromArray(F, x, x3 + i), a30);
                p = FloatVector.fromArray(F, w, i + N);
                a01 = p.fma(FloatVector.fromArray(F, x, x0 + i + N), a01);
                a11 = p.fma(FloatVector.fromArray(F, x, x1 + i + N), a11);
                a21 = p.fma(FloatVector.fromArray(F, x, x2 + i + N), a21);
                a31 = p.fma(FloatVector.fromArray(F, x, x3 + i + N), a31);
            }
            if (i + N <= cols) {
                FloatVector p = FloatVector.fromArray(F, w, i);
                a00 = p.fma(FloatVector.fromArray(F, x, x0 + i), a00);
                a10 = p.fma(FloatVector.fromArray(F, x, x1 + i), a10);
                a20 = p.fma(FloatVector.fromArray(F, x, x2 + i), a20);
                a30 = p.fma(FloatVector.fromArray(F, x, x3 + i), a30);
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
            out[t * outStride + row] = s0;
            out[(t + 1) * outStride + row] = s1;
            out[(t + 2) * outStride + row] = s2;
            out[(t + 3) * outStride + row] = s3;
        }
        for (; t < tokens; t++) {
            out[t * outStride + row] = denseOne(w, x, t * cols, cols, lanes);
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
