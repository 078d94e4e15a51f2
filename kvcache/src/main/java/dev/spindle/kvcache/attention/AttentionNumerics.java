package dev.spindle.kvcache.attention;

/**
 * Which arithmetic attention follows. Both compute {@code softmax(q·K * scale) · V}; they differ in the order and
 * precision of the roundings, which is what decides whether our outputs equal another engine's bit for bit.
 */
public enum AttentionNumerics {
    /**
     * Our kernels' own order ({@link PagedAttention}): an online softmax over pairs of blocks, everything in float,
     * vector kernels with a bit-identical scalar twin. The fast path, and the default.
     */
    ONLINE,
    /**
     * llama.cpp's CPU attention with its default settings (no flash attention), bit for bit on x86 with AVX2: two
     * passes over the context, the query rounded to the cache's precision, ggml's orders for the products and its
     * exponential for the softmax ({@link LlamaCppPagedAttention}). Scalar code, for comparing with llama.cpp; F16
     * caches only (llama.cpp's default).
     */
    LLAMA_CPP
}
