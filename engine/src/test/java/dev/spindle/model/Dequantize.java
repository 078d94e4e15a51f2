package dev.spindle.model;

/** TEMPORARY: F32/F16 rows until the quantization module's scalar dequantizers land. */
final class Dequantize {
    private Dequantize() {}

    static void row(WeightMatrix w, int r, float[] out) {
        TemporaryKernels.dequantizeRow(w, r, out, 0);
    }
}
