package dev.spindle.kvcache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The assembled cache used as the forward pass uses it. */
class KvCacheTest {

    private static final KvCacheShape SHAPE = new KvCacheShape(2, 2, 64, 16, KvType.F16);
    private static final int QUERY_HEADS = 8;

    @Test
    void theBudgetIsAllocatedOnceAndReleasedOnClose() {
        long before = HostKvMemory.liveBytes();
        KvCacheConfig config = KvCacheConfig.of(SHAPE, "1MiB");
        try (KvCache cache = KvCache.allocate(config)) {
            int blocks = (int) ((1 << 20) / SHAPE.bytesPerBlock());
            assertEquals(blocks, cache.manager().totalBlocks());
            assertEquals(blocks * SHAPE.bytesPerBlock(), cache.memory().footprintBytes());
            assertTrue(cache.memory().footprintBytes() <= config.memoryBytes());
            assertEquals(before + cache.memory().footprintBytes(), HostKvMemory.liveBytes());
            assertEquals(0, cache.manager().watermarkBlocks(), "1% of 64 blocks rounds down to none");
        }
        assertEquals(before, HostKvMemory.liveBytes());
        assertThrows(IllegalArgumentException.class, () -> KvCache.allocate(KvCacheConfig.of(SHAPE, "1KiB")));
    }

    @Test
    void llamaCppNumericsAreConfiguredForAnF16CacheOnlyAndOurOwnForEveryType() {
        for (KvType type : KvType.values()) {
            KvCacheShape shape = new KvCacheShape(2, 2, 64, 16, type);
            assertEquals(AttentionNumerics.ONLINE, new KvCacheConfig(shape, 1 << 20, 0, true).numerics());
            if (type == KvType.F16) {
                assertEquals(
                        AttentionNumerics.LLAMA_CPP,
                        new KvCacheConfig(shape, 1 << 20, 0, true, AttentionNumerics.LLAMA_CPP).numerics());
            } else {
                IllegalArgumentException e = assertThrows(
                        IllegalArgumentException.class,
                        () -> new KvCacheConfig(shape, 1 << 20, 0, true, AttentionNumerics.LLAMA_CPP));
                assertEquals(
                        "llama.cpp's attention arithmetic is reproduced for its default F16 cache only, not " + type,
                        e.getMessage());
            }
        }
    }

    @Test
    void aPromptServedFromThePrefixCacheAttendsExactlyAsOneComputedInFull() {
        Random random = new Random(3);
        int[] shared = random.ints(100, 0, 500).toArray();
        int[] first = concat(shared, random.ints(30, 0, 500).toArray());
        int[] second = concat(shared, random.ints(25, 0, 500).toArray());
        float[][] withCache;
        try (KvCache cache = KvCache.allocate(new KvCacheConfig(SHAPE, 1 << 20, 0, true))) {
            run(cache, 1, first);
            withCache = run(cache, 2, second);
            assertEquals(96, cache.manager().metrics().prefixHitTokens());
        }
        float[][] withoutCache;
        try (KvCache cache = KvCache.allocate(new KvCacheConfig(SHAPE, 1 << 20, 0, false))) {
            withoutCache = run(cache, 1, second);
            assertEquals(0, cache.manager().metrics().prefixHitTokens());
        }
        for (int i = 0; i < withCache.length; i++) {
            assertArrayEquals(withoutCache[i], withCache[i], "output " + i);
        }
    }

    /**
     * Prefill (in chunks of up to 40 tokens) and 8 decode steps of a pretend model whose K and V at a position depend
     * on that position's token and the layer; returns the attention outputs of the decode steps for both layers.
     */
    private static float[][] run(KvCache cache, long id, int[] prompt) {
        KvCacheManager kv = cache.manager();
        PagedAttention attention = cache.attention(QUERY_HEADS);
        int stride = QUERY_HEADS * 64;
        int cached = kv.cachedPrefixTokens(prompt, 0);
        int chunk = Math.min(40, prompt.length - cached);
        assertTrue(kv.admit(id, prompt, 0, chunk));
        while (true) {
            int from = kv.computedTokens(id);
            for (int layer = 0; layer < 2; layer++) {
                float[] queries = new float[chunk * stride];
                for (int p = from; p < from + chunk; p++) {
                    writeToken(cache, layer, kv.slot(id, p), prompt[p]);
                    query(prompt[p], layer, queries, (p - from) * stride);
                }
                float[] out = new float[chunk * stride];
                attention.attendCausal(
                        layer, queries, 0, chunk, from, kv.blockTable(id).ids(), out, 0);
            }
            kv.markComputed(id, chunk);
            if (kv.computedTokens(id) == prompt.length) {
                break;
            }
            chunk = Math.min(40, prompt.length - kv.computedTokens(id));
            assertTrue(kv.allocateSlots(id, chunk));
        }
        float[][] outputs = new float[16][stride];
        for (int step = 0; step < 8; step++) {
            int token = 1000 + step;
            int slot = kv.appendSlot(id, token);
            int position = kv.computedTokens(id);
            for (int layer = 0; layer < 2; layer++) {
                writeToken(cache, layer, slot, token);
                float[] q = new float[stride];
                query(token, layer, q, 0);
                attention.attend(layer, q, kv.blockTable(id).ids(), position + 1, outputs[step * 2 + layer]);
            }
            kv.markComputed(id, 1);
        }
        return outputs;
    }

    private static void writeToken(KvCache cache, int layer, int slot, int token) {
        Random random = new Random(token * 31L + layer);
        float[] k = new float[SHAPE.kvDim()];
        float[] v = new float[SHAPE.kvDim()];
        for (int i = 0; i < k.length; i++) {
            k[i] = (float) random.nextGaussian();
            v[i] = (float) random.nextGaussian();
        }
        cache.write(layer, slot, k, v);
    }

    private static void query(int token, int layer, float[] into, int at) {
        Random random = new Random(token * 7L + layer + 99);
        for (int i = 0; i < QUERY_HEADS * 64; i++) {
            into[at + i] = (float) random.nextGaussian() * 2;
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
