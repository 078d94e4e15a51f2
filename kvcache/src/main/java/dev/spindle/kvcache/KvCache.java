package dev.spindle.kvcache;

import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;

/**
 * The paged KV cache in host memory, assembled: the off-heap pool ({@link HostKvMemory}), the block tables
 * ({@link KvCacheManager}) and attention kernels over them ({@link PagedAttention}).
 *
 * <p>The engine thread schedules through {@link #manager()}; forward-pass workers call {@link #write} and their own
 * {@link PagedAttention} (one per thread, from {@link #attention}) concurrently for different slots.
 */
public final class KvCache implements AutoCloseable {

    private final HostKvMemory memory;
    private final KvCacheManager manager;
    private final AttentionNumerics numerics;

    private KvCache(HostKvMemory memory, KvCacheManager manager, AttentionNumerics numerics) {
        this.memory = memory;
        this.manager = manager;
        this.numerics = numerics;
    }

    /** Allocates as many blocks as fit in the budget. */
    public static KvCache allocate(KvCacheConfig config) {
        HostKvMemory memory = new HostKvMemory(KvLayout.forBudget(config.shape(), config.memoryBytes()));
        return new KvCache(
                memory, new KvCacheManager(memory, config.watermark(), config.prefixCaching()), config.numerics());
    }

    public KvCacheShape shape() {
        return memory.layout().shape();
    }

    public KvLayout layout() {
        return memory.layout();
    }

    public HostKvMemory memory() {
        return memory;
    }

    public KvCacheManager manager() {
        return manager;
    }

    /**
     * Stores one token's K and V for all KV heads of {@code layer} into {@code slot} (from {@link BlockTable#slot}).
     *
     * @param key {@code [kvHeads][headDim]}
     * @param value {@code [kvHeads][headDim]}
     */
    public void write(int layer, int slot, float[] key, float[] value) {
        memory.write(layer, slot, key, 0, value, 0);
    }

    /** As {@link #write(int, int, float[], float[])}, reading from the given offsets. */
    public void write(int layer, int slot, float[] key, int keyOffset, float[] value, int valueOffset) {
        memory.write(layer, slot, key, keyOffset, value, valueOffset);
    }

    /**
     * A new attention kernel over this cache for a model with {@code queryHeads} query heads, with the cache's
     * {@link KvCacheConfig#numerics}: one per thread.
     */
    public PagedAttention attention(int queryHeads) {
        return attention(queryHeads, PagedAttention.defaultScale(memory));
    }

    /** As {@link #attention(int)}, with scores scaled by {@code scale} instead of {@code 1 / sqrt(headDim)}. */
    public PagedAttention attention(int queryHeads, float scale) {
        return PagedAttention.create(memory, queryHeads, scale, numerics);
    }

    /** Releases the off-heap memory. */
    @Override
    public void close() {
        memory.close();
    }
}
