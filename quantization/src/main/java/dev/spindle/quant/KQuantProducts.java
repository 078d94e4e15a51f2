package dev.spindle.quant;

import java.lang.foreign.MemorySegment;

/**
 * Products of K-quant rows with a batch of tokens whose activations are rounded per super-block ({@link
 * KQuantActivations}): one token at a time for decode, four at a time for a batch, each row read once for all of
 * them. {@link KQuantKernels} states the arithmetic that makes every path give the same bits.
 */
final class KQuantProducts {

    private KQuantProducts() {}

    /** {@code out[t * rows + r]} for rows {@code [rowFrom, rowTo)} of {@code w} and every token of {@code a}. */
    static void multiplyRows(
            KQuantKernels kernels,
            QuantizedMatrix w,
            KQuantActivations a,
            float[] out,
            int rowFrom,
            int rowTo,
            float[] lanes) {
        if (!Kernels.VECTOR) {
            scalarRows(kernels, w, a, out, rowFrom, rowTo, lanes);
        } else if (a.tokens() == 1) {
            singleRows(kernels, w, a, out, rowFrom, rowTo, lanes);
        } else {
            batchRows(kernels, w, a, out, rowFrom, rowTo, lanes);
        }
    }

    // One small method per path, as in QuantizedMatrix: a kernel inlined into a large caller exceeds C2's budget.

    private static void scalarRows(
            KQuantKernels kernels,
            QuantizedMatrix w,
            KQuantActivations a,
            float[] out,
            int rowFrom,
            int rowTo,
            float[] lanes) {
        MemorySegment data = w.data();
        long rowBytes = w.rowBytes();
        int rows = w.rows();
        for (int r = rowFrom; r < rowTo; r++) {
            for (int t = 0; t < a.tokens(); t++) {
                out[t * rows + r] = kernels.dotRoundedScalar(data, r * rowBytes, a, t, lanes);
            }
        }
    }

    private static void singleRows(
            KQuantKernels kernels,
            QuantizedMatrix w,
            KQuantActivations a,
            float[] out,
            int rowFrom,
            int rowTo,
            float[] lanes) {
        MemorySegment data = w.data();
        long rowBytes = w.rowBytes();
        for (int r = rowFrom; r < rowTo; r++) {
            out[r] = kernels.dotRounded(data, r * rowBytes, a, 0, lanes);
        }
    }

    private static void batchRows(
            KQuantKernels kernels,
            QuantizedMatrix w,
            KQuantActivations a,
            float[] out,
            int rowFrom,
            int rowTo,
            float[] lanes) {
        MemorySegment data = w.data();
        long rowBytes = w.rowBytes();
        int rows = w.rows();
        int tokens = a.tokens();
        for (int r = rowFrom; r < rowTo; r++) {
            int t = 0;
            for (; t + 4 <= tokens; t += 4) {
                kernels.dotRounded4(data, r * rowBytes, a, t, out, r, rows, lanes);
            }
            for (; t < tokens; t++) {
                out[t * rows + r] = kernels.dotRounded(data, r * rowBytes, a, t, lanes);
            }
        }
    }
}
