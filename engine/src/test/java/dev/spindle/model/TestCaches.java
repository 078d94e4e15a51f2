package dev.spindle.model;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.KvCacheConfig;
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
        KvCacheShape shape = model.kvCacheShape(type, BLOCK);
        return KvCache.allocate(new KvCacheConfig(shape, blocks * shape.bytesPerBlock(), 0, false));
    }
}
