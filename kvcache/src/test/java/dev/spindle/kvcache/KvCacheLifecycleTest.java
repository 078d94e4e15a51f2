package dev.spindle.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KvCacheLifecycleTest {

    @Test
    void tenThousandRequestLifecyclesLeaveNoBlockUsedAndTheFootprintUnchanged() {
        long liveBefore = HostKvMemory.liveBytes();
        KvCacheShape shape = new KvCacheShape(2, 2, 32, 16, KvType.Q8_0);
        KvCacheConfig config = new KvCacheConfig(shape, MemoryBudget.parse("1MiB"), 0.01, true);
        List<Long> sequenceCounts = new ArrayList<>();
        try (KvCache cache = KvCache.allocate(config)) {
            KvCacheManager kv = cache.manager();
            MemorySegment segment = cache.memory().segment();
            long address = segment.address();
            long footprint = cache.memory().footprintBytes();
            assertTrue(footprint <= config.memoryBytes());
            assertEquals(liveBefore + footprint, HostKvMemory.liveBytes());
            PagedAttention attention = cache.attention(4);
            float[] kvVector = new float[shape.kvDim()];
            float[] query = new float[4 * 32];
            float[] out = new float[4 * 32];
            Random random = new Random(8);
            int[][] systemPrompts = {tokens(random, 48), tokens(random, 100)};
            Deque<long[]> running = new ArrayDeque<>();
            long nextId = 1;
            for (int lifecycle = 0; lifecycle < 10_000; lifecycle++) {
                int[] prompt = concat(systemPrompts[random.nextInt(2)], tokens(random, 1 + random.nextInt(40)));
                int cached = kv.cachedPrefixTokens(prompt, 0);
                int firstChunk = 1 + random.nextInt(prompt.length - cached);
                long id = nextId++;
                while (!kv.admit(id, prompt, 0, firstChunk)) {
                    for (long sequence : running.removeFirst()) {
                        kv.free(sequence);
                    }
                }
                kv.markComputed(id, firstChunk);
                if (kv.computedTokens(id) < prompt.length) {
                    int rest = prompt.length - kv.computedTokens(id);
                    if (kv.allocateSlots(id, rest)) {
                        kv.markComputed(id, rest);
                    }
                }
                long[] family = random.nextInt(4) == 0 ? new long[] {id, nextId++} : new long[] {id};
                if (family.length == 2) {
                    kv.fork(id, family[1]);
                }
                int steps = random.nextInt(12);
                for (int step = 0; step < steps; step++) {
                    for (long sequence : family) {
                        if (kv.computedTokens(sequence) == kv.numTokens(sequence)) {
                            kv.appendToken(sequence, random.nextInt(1000));
                        }
                        if (!kv.allocateSlots(sequence, 1)) {
                            continue;
                        }
                        int position = kv.computedTokens(sequence);
                        if (step == 0) {
                            cache.write(1, kv.slot(sequence, position), kvVector, kvVector);
                            attention.attend(1, query, kv.blockTable(sequence).ids(), position + 1, out);
                        }
                        kv.markComputed(sequence, 1);
                    }
                }
                running.addLast(family);
                while (running.size() > 6) {
                    for (long sequence : running.removeFirst()) {
                        kv.free(sequence);
                    }
                }
                if (lifecycle % 1000 == 0) {
                    kv.checkInvariants();
                    sequenceCounts.add((long) kv.sequenceCount());
                }
            }
            while (!running.isEmpty()) {
                for (long sequence : running.removeFirst()) {
                    kv.free(sequence);
                }
            }
            kv.checkInvariants();
            KvCacheMetrics metrics = kv.metrics();
            assertEquals(0, metrics.usedBlocks());
            assertEquals(0, kv.sequenceCount());
            assertEquals(metrics.totalBlocks(), kv.freeBlocks());
            assertTrue(metrics.prefixHitTokens() > 0);
            assertEquals(footprint, cache.memory().footprintBytes());
            assertEquals(address, cache.memory().segment().address());
            assertEquals(liveBefore + footprint, HostKvMemory.liveBytes());
        }
        assertEquals(liveBefore, HostKvMemory.liveBytes());
        assertTrue(sequenceCounts.stream().anyMatch(c -> c > 1));
    }

    private static int[] tokens(Random random, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(1000);
        }
        return t;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
