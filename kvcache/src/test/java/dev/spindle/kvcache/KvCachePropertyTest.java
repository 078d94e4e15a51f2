package dev.spindle.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;
import dev.spindle.kvcache.memory.KvType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Long random sequences of admit / allocate / compute / append / fork / free, with prompts drawn from a few shared
 * prefixes so that prefix hits, sharing and eviction happen all the time, against a model of what each sequence
 * holds.
 *
 * <p>After every operation: the manager's and pool's invariants (every block owned as counted, no block twice in a
 * table, the free list exactly the unreferenced blocks, reference counts never negative); accounted memory within
 * the budget; and the KV read back through every live sequence's block table equals what the model says that
 * sequence computed. That last check is what catches a block owned twice, a prefix hit on the wrong content, or a
 * fork's write leaking into its sibling: each position's K and V encode a hash of all tokens up to it.
 */
class KvCachePropertyTest {

    private static final int BLOCK = 16;
    private static final int BLOCKS = 48;
    private static final KvCacheShape SHAPE = new KvCacheShape(1, 1, 16, BLOCK, KvType.F32);

    /** What a sequence should hold. */
    private static final class Model {
        final List<Integer> tokens = new ArrayList<>();
        int computed;
        long key;

        Model copy() {
            Model m = new Model();
            m.tokens.addAll(tokens);
            m.computed = computed;
            m.key = key;
            return m;
        }
    }

    private final Map<Long, Model> live = new LinkedHashMap<>();
    private HostKvMemory memory;
    private KvCacheManager kv;
    private long budget;
    private long nextId = 1;
    private int admitted;
    private int refused;
    private int forks;

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void randomOperationsKeepEveryInvariant(long seed) {
        Random random = new Random(seed);
        budget = SHAPE.bytesPerBlock() * BLOCKS + SHAPE.bytesPerBlock() / 2;
        memory = new HostKvMemory(KvLayout.forBudget(SHAPE, budget));
        kv = new KvCacheManager(memory, 0.02, true);
        int[][] prefixes = {randomTokens(random, 40), randomTokens(random, 75), randomTokens(random, 20)};
        try {
            for (int step = 0; step < 2500; step++) {
                int op = random.nextInt(100);
                if (op < 30 || live.isEmpty()) {
                    admit(random, prefixes);
                } else if (op < 72) {
                    advance(random, pick(random));
                } else if (op < 80) {
                    fork(pick(random));
                } else if (op < 95) {
                    long id = pick(random);
                    kv.free(id);
                    live.remove(id);
                } else {
                    misuse(random);
                }
                verify();
            }
            assertTrue(admitted > 100 && refused > 0 && forks > 50, admitted + " " + refused + " " + forks);
            assertTrue(kv.metrics().prefixHitTokens() > 0);
            assertTrue(kv.metrics().evictedBlocks() > 0);
            for (long id : new ArrayList<>(live.keySet())) {
                kv.free(id);
                live.remove(id);
            }
            verify();
            assertEquals(0, kv.metrics().usedBlocks());
            assertEquals(BLOCKS, kv.freeBlocks());
        } finally {
            memory.close();
        }
    }

    private void admit(Random random, int[][] prefixes) {
        int[] prefix = prefixes[random.nextInt(prefixes.length)];
        int[] prompt = concat(prefix, randomTokens(random, 1 + random.nextInt(60)));
        long key = random.nextInt(4) == 0 ? 1 : 0;
        int cached = kv.cachedPrefixTokens(prompt, key);
        int newTokens = 1 + random.nextInt(prompt.length - cached);
        int needed = kv.blocksToAdmit(prompt, key, newTokens);
        int free = kv.freeBlocks();
        long id = nextId++;
        String before = fingerprint();
        boolean ok = kv.admit(id, prompt, key, newTokens);
        assertEquals(needed <= free - kv.watermarkBlocks(), ok);
        if (!ok) {
            refused++;
            assertEquals(before, fingerprint());
            return;
        }
        admitted++;
        assertEquals(free - needed, kv.freeBlocks());
        Model m = new Model();
        for (int t : prompt) {
            m.tokens.add(t);
        }
        m.key = key;
        m.computed = cached;
        assertEquals(cached, kv.computedTokens(id));
        live.put(id, m);
        // The cached prefix must already hold exactly this prompt's KV.
        verifySequence(id, m);
        compute(id, m, newTokens);
    }

    private void advance(Random random, long id) {
        Model m = live.get(id);
        int n;
        if (m.computed < m.tokens.size()) {
            n = 1 + random.nextInt(m.tokens.size() - m.computed);
        } else {
            int token = random.nextInt(50);
            kv.appendToken(id, token);
            m.tokens.add(token);
            n = 1;
        }
        int needed = kv.blocksToAllocate(id, n);
        int free = kv.freeBlocks();
        String before = fingerprint();
        boolean ok = kv.allocateSlots(id, n);
        assertEquals(needed <= free, ok);
        if (!ok) {
            refused++;
            assertEquals(before, fingerprint());
            return;
        }
        assertEquals(free - needed, kv.freeBlocks());
        compute(id, m, n);
    }

    private void fork(long parent) {
        long child = nextId++;
        int free = kv.freeBlocks();
        kv.fork(parent, child);
        assertEquals(free, kv.freeBlocks());
        live.put(child, live.get(parent).copy());
        forks++;
    }

    private void misuse(Random random) {
        String before = fingerprint();
        long unknown = -1 - random.nextInt(5);
        long known = live.isEmpty() ? unknown : pick(random);
        switch (random.nextInt(6)) {
            case 0 -> assertThrows(IllegalArgumentException.class, () -> kv.allocateSlots(unknown, 1));
            case 1 -> assertThrows(IllegalArgumentException.class, () -> kv.free(unknown));
            case 2 -> assertThrows(IllegalArgumentException.class, () -> kv.fork(unknown, nextId));
            case 3 -> assertThrows(IllegalArgumentException.class, () -> kv.admit(1, new int[] {1, 2}, 0, 5));
            case 4 ->
                assertThrows(IllegalArgumentException.class, () -> kv.admit(nextId, new int[BLOCK * BLOCKS + 1], 0, 1));
            default ->
                assertThrows(
                        IllegalArgumentException.class,
                        () -> kv.markComputed(known, kv.contains(known) ? BLOCK * BLOCKS + 1 : 1));
        }
        assertEquals(before, fingerprint());
    }

    /** Writes the KV of the next {@code n} positions as the model defines it, then marks them computed. */
    private void compute(long id, Model m, int n) {
        float[] vector = new float[16];
        for (int p = m.computed; p < m.computed + n; p++) {
            encode(m, p, vector);
            memory.write(0, kv.slot(id, p), vector, 0, vector, 0);
        }
        kv.markComputed(id, n);
        m.computed += n;
    }

    private void verify() {
        kv.checkInvariants();
        KvCacheMetrics metrics = kv.metrics();
        assertTrue(metrics.usedBlocks() <= metrics.totalBlocks());
        assertTrue(metrics.usedBytes() <= memory.footprintBytes());
        assertTrue(memory.footprintBytes() <= budget);
        assertEquals(live.size(), kv.sequenceCount());
        for (Map.Entry<Long, Model> e : live.entrySet()) {
            verifySequence(e.getKey(), e.getValue());
        }
    }

    private void verifySequence(long id, Model m) {
        assertEquals(m.tokens.size(), kv.numTokens(id));
        assertEquals(m.computed, kv.computedTokens(id));
        float[] expected = new float[16];
        BlockTable table = kv.blockTable(id);
        for (int p = 0; p < m.computed; p++) {
            encode(m, p, expected);
            int block = table.blockId(p / BLOCK);
            for (int d = 0; d < 4; d++) {
                if (expected[d] != memory.key(0, block, 0, p % BLOCK, d)
                        || expected[d] != memory.value(0, block, 0, p % BLOCK, d)) {
                    throw new AssertionError(
                            "sequence %d position %d (block %d) holds the wrong KV".formatted(id, p, block));
                }
            }
        }
    }

    /** Position {@code p}'s KV: its token, its position, and a hash of the cache key and every token up to it. */
    private static void encode(Model m, int p, float[] out) {
        long h = m.key * 0x9E3779B97F4A7C15L;
        for (int i = 0; i <= p; i++) {
            h = (h ^ m.tokens.get(i)) * 0xBF58476D1CE4E5B9L;
        }
        out[0] = m.tokens.get(p);
        out[1] = p;
        out[2] = (h >>> 8) & 0xFFFFF;
        out[3] = (h >>> 40) & 0xFFFFF;
    }

    private String fingerprint() {
        StringBuilder s = new StringBuilder();
        s.append(Arrays.toString(kv.pool().freeOrder())).append(kv.metrics()).append(kv.sequenceCount());
        for (long id : live.keySet()) {
            s.append(id).append(':').append(kv.numTokens(id)).append('/').append(kv.computedTokens(id));
            s.append(Arrays.toString(kv.blockIds(id)));
        }
        return s.toString();
    }

    private long pick(Random random) {
        int index = random.nextInt(live.size());
        return live.keySet().stream().skip(index).findFirst().orElseThrow();
    }

    private static int[] randomTokens(Random random, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(50);
        }
        return t;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
