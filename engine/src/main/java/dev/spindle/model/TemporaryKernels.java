package dev.spindle.model;

import dev.spindle.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * TEMPORARY scalar matrix kernels for F32 and F16 weights, until the quantization module's kernels land on main.
 */
final class TemporaryKernels {
    private TemporaryKernels() {}

    /** {@code out[t][r] = sum_c w[r][c] * x[t][c]} for {@code t < tokens}; x is {@code [tokens][cols]}. */
    static void multiply(WeightMatrix w, float[] x, int tokens, float[] out, int rowFrom, int rowTo, float[] row) {
        for (int r = rowFrom; r < rowTo; r++) {
            dequantizeRow(w, r, row, 0);
            for (int t = 0; t < tokens; t++) {
                float sum = 0;
                int base = t * w.cols();
                for (int c = 0; c < w.cols(); c++) {
                    sum += row[c] * x[base + c];
                }
                out[t * w.rows() + r] = sum;
            }
        }
    }

    static void dequantizeRow(WeightMatrix w, int r, float[] out, int offset) {
        MemorySegment d = w.data();
        long base = r * w.rowBytes();
        if (w.type() == GgmlType.F32) {
            for (int c = 0; c < w.cols(); c++) {
                out[offset + c] = d.get(ValueLayout.JAVA_FLOAT_UNALIGNED, base + 4L * c);
            }
        } else if (w.type() == GgmlType.F16) {
            for (int c = 0; c < w.cols(); c++) {
                out[offset + c] = Float.float16ToFloat(d.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * c));
            }
        } else {
            throw new UnsupportedModelException("temporary kernels: " + w.type());
        }
    }
}
