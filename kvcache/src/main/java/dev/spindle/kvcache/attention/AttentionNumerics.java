package dev.spindle.kvcache.attention;

import dev.spindle.kvcache.memory.KvType;

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
    LLAMA_CPP;

    /** Whether these numerics are computed for a cache that stores K and V as {@code type}. */
    public boolean supports(KvType type) {
        return switch (this) {
            case ONLINE -> true;
            // Other caches change llama.cpp's code paths (an F32 V is contiguous enough for tinyBLAS, a Q8_0 K
            // quantizes the query): not reproduced, so refused rather than approximated.
            case LLAMA_CPP -> type == KvType.F16;
        };
    }

    /**
     * The one place the pairing of numerics and cache type is checked: {@code KvCacheConfig}, the generator and the
     * kernel itself ask here, and the command line turns the exception into its error.
     *
     * @throws IllegalArgumentException naming the type these numerics need, if they do not support {@code type}
     */
    public void requireSupported(KvType type) {
        if (!supports(type)) {
            throw new IllegalArgumentException(
                    "llama.cpp's attention arithmetic is reproduced for its default F16 cache only, not " + type);
        }
    }
}
