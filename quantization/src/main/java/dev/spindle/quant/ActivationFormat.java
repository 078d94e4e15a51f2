package dev.spindle.quant;

/**
 * The form a matrix product's activations take before they meet a format's weights: what llama.cpp calls the
 * weight type's {@code vec_dot_type}. {@link TypeKernels#activationFormat()} names it for each weight format, so
 * the choice lives in the one table of formats; {@link Activations#prepare} computes it once per product.
 *
 * <p>llama.cpp does not multiply quantized weights with float activations: it first rounds each token's activations
 * to 8 bits per block of 32 ({@link #Q8_0}, {@link #Q8_1}), then every block's product is a sum of small integers,
 * which it scales once. Our products follow those semantics, so that a model quantized to Q4_0 computes what it
 * computes in llama.cpp, not a more exact product that drifts from it.
 */
public enum ActivationFormat {
    /** Plain floats, with their sums over runs of {@value TypeKernels#SUM_GROUP} ({@link TypeKernels#groupSums}). */
    FLOAT,
    /**
     * ggml's {@code block_q8_0}, as its x86 {@code quantize_row_q8_0} (the AVX2 code that runs in llama.cpp, not the
     * {@code _ref} quantizer) computes it: per block of 32, {@code amax = max|x|}, scale {@code d = amax / 127} kept
     * in half precision, quants {@code q = rint(x * (127 / amax))} in -127..127, ties to even. The activations of
     * Q8_0, Q4_0 and Q5_0 weights.
     */
    Q8_0,
    /**
     * ggml's {@code block_q8_1}: the quants and scale of {@link #Q8_0} and beside them {@code s = d * sum(q)},
     * computed with the float {@code d} (before its rounding to half precision) and itself rounded to half
     * precision. The activations of Q4_1 and Q5_1 weights, whose minimum {@code m} contributes {@code m * s}.
     */
    Q8_1,
    /**
     * ggml's {@code block_q8_K}: per block of 256, a float scale and 8-bit quants ({@link KQuantActivations}). The
     * activations of Q4_K, Q5_K and Q6_K weights.
     */
    Q8_K,
    /**
     * Half precision where llama.cpp rounds to it, else the floats. The activations of F16 weights: llama.cpp's
     * {@code vec_dot_type} for F16 is F16, but on x86 with AVX2 it first offers a product to tinyBLAS, which takes F16
     * weights with float activations for any row length that is a multiple of 8; only the other lengths (stories260K's
     * 172-wide {@code ffn_down}) reach {@code ggml_vec_dot_f16}, with the activations rounded to halves. The F16
     * kernels round them as they read them (exact and idempotent, so nothing is kept here beyond {@link #FLOAT}'s
     * form).
     */
    F16;

    /** Elements per block of the 8-bit formats. */
    public static final int BLOCK = 32;

    /**
     * Rounds {@code x[xOffset .. xOffset + count)} ({@code count} a multiple of {@value #BLOCK}) as llama.cpp's
     * {@code quantize_row_q8_1} does, in element order: quants to {@code q[qOffset ..]}, and per block {@code b} the
     * half-precision scale {@code d[dOffset + b]} and sum {@code s[dOffset + b]} as floats ({@link #Q8_0} uses the
     * same quants and scales and ignores {@code s}). The definition; products keep the quants in their own order
     * ({@link Activations}).
     */
    public static void quantizeQ8(
            float[] x, int xOffset, int count, int[] q, int qOffset, float[] d, float[] s, int dOffset) {
        if (count % BLOCK != 0) {
            throw new IllegalArgumentException(count + " activations are not a whole number of blocks of " + BLOCK);
        }
        for (int b = 0; b < count / BLOCK; b++) {
            int from = xOffset + b * BLOCK;
            float amax = 0;
            for (int j = 0; j < BLOCK; j++) {
                amax = Math.max(amax, Math.abs(x[from + j]));
            }
            float scale = amax / 127;
            float inverse = amax != 0 ? 127 / amax : 0;
            int sum = 0;
            for (int j = 0; j < BLOCK; j++) {
                int v = (int) Math.rint(x[from + j] * inverse);
                q[qOffset + b * BLOCK + j] = v;
                sum += v;
            }
            d[dOffset + b] = Float.float16ToFloat(Float.floatToFloat16(scale));
            s[dOffset + b] = Float.float16ToFloat(Float.floatToFloat16(scale * sum));
        }
    }
}
