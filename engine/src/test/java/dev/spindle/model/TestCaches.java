package dev.spindle.model;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.KvCacheConfig;
import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;

/** KV caches for tests: exactly {@code blocks} blocks of 16 tokens, no prefix caching, no watermark. */
public final class TestCaches {
    public static final int BLOCK = 16;

    private TestCaches() {}

    /** F16, as llama.cpp stores K and V by default. */
    public static KvCache cache(Model model, int blocks) {
        return cache(model, blocks, KvType.F16);
    }

    public static KvCache cache(Model model, int blocks, KvType type) {
        return cache(model, blocks, type, AttentionNumerics.ONLINE);
    }

    /** With the given attention arithmetic ({@link AttentionNumerics#LLAMA_CPP} to compare with llama.cpp's bits). */
    public static KvCache cache(Model model, int blocks, KvType type, AttentionNumerics numerics) {
        KvCacheShape shape = model.kvCacheShape(type, BLOCK);
        return KvCache.allocate(new KvCacheConfig(shape, blocks * shape.bytesPerBlock(), 0, false, numerics));
    }
}
