package dev.spindle.kvcache;

import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.memory.KvCacheShape;

/**
 * How to build a KV cache.
 *
 * @param shape what one token's KV is: layers, KV heads, head dimension, block size, element type
 * @param memoryBytes the budget: as many blocks as fit are allocated at start-up, never more
 * @param watermark fraction of blocks that admission leaves free for running sequences
 * @param prefixCaching whether full blocks are shared across requests by prefix hash
 * @param numerics the arithmetic of the attention kernels ({@link AttentionNumerics#ONLINE} unless a caller needs
 *     llama.cpp's bits); it must support the shape's type ({@link AttentionNumerics#requireSupported})
 */
public record KvCacheConfig(
        KvCacheShape shape, long memoryBytes, double watermark, boolean prefixCaching, AttentionNumerics numerics) {

    /** The watermark used unless another is given: 1% of the blocks. */
    public static final double DEFAULT_WATERMARK = 0.01;

    /** A cache with the default attention arithmetic, {@link AttentionNumerics#ONLINE}. */
    public KvCacheConfig(KvCacheShape shape, long memoryBytes, double watermark, boolean prefixCaching) {
        this(shape, memoryBytes, watermark, prefixCaching, AttentionNumerics.ONLINE);
    }

    public KvCacheConfig {
        if (numerics == null) {
            throw new IllegalArgumentException("the attention arithmetic is missing");
        }
        if (shape == null) {
            throw new IllegalArgumentException("the KV cache shape is missing");
        }
        numerics.requireSupported(shape.type());
        if (memoryBytes <= 0) {
            throw new IllegalArgumentException("the KV cache memory budget must be positive, not " + memoryBytes);
        }
        if (!(watermark >= 0 && watermark < 1)) {
            throw new IllegalArgumentException("the watermark is a fraction in [0, 1), not " + watermark);
        }
    }

    /** A cache of {@code memory} ({@link MemoryBudget} syntax) with the default watermark and prefix caching on. */
    public static KvCacheConfig of(KvCacheShape shape, String memory) {
        return new KvCacheConfig(shape, MemoryBudget.parse(memory), DEFAULT_WATERMARK, true);
    }
}
