package dev.spindle.kvcache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;
import dev.spindle.kvcache.memory.KvType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class KvCacheManagerTest {

    private static final int BLOCK = 16;
    private static final KvCacheShape SHAPE = new KvCacheShape(1, 1, 16, BLOCK, KvType.F32);

    private HostKvMemory memory = new HostKvMemory(new KvLayout(SHAPE, 32));
    private KvCacheManager kv = new KvCacheManager(memory, 0, true);

    @AfterEach
    void invariantsHoldAndMemoryIsReleased() {
        kv.checkInvariants();
        memory.close();
    }

    @Test
    void twoRequestsWithASharedHundredTokenPrefixShareExactlyItsFullBlocks() {
        int[] prefix = tokens(1000, 100);
        int[] a = concat(prefix, tokens(5000, 20));
        int[] b = concat(prefix, tokens(7000, 30));
        runPrompt(1, a);
        // 100 shared tokens fill 6 blocks of 16 (96 tokens); block 6 holds tokens 96..111, which differ after 100.
        assertEquals(96, kv.cachedPrefixTokens(b, 0));
        assertTrue(kv.admit(2, b, 0, b.length - 96));
        assertEquals(96, kv.computedTokens(2));
        int[] tableA = kv.blockIds(1);
        int[] tableB = kv.blockIds(2);
        assertArrayEquals(Arrays.copyOf(tableA, 6), Arrays.copyOf(tableB, 6));
        for (int i = 6; i < tableB.length; i++) {
            for (int blockOfA : tableA) {
                assertNotEquals(blockOfA, tableB[i]);
            }
        }
        for (int i = 0; i < 6; i++) {
            assertEquals(2, kv.pool().refCount(tableA[i]));
        }
        KvCacheMetrics metrics = kv.metrics();
        assertEquals(a.length + b.length, metrics.prefixQueryTokens());
        assertEquals(96, metrics.prefixHitTokens());
    }

    @Test
    void oneChangedTokenBreaksReuseFromItsBlockOn() {
        int[] a = tokens(1, 100);
        runPrompt(1, a);
        int[] b = a.clone();
        b[40] = -5; // in block 2 (tokens 32..47)
        assertEquals(32, kv.cachedPrefixTokens(b, 0));
        assertTrue(kv.admit(2, b, 0, b.length - 32));
        int[] tableA = kv.blockIds(1);
        int[] tableB = kv.blockIds(2);
        assertArrayEquals(Arrays.copyOf(tableA, 2), Arrays.copyOf(tableB, 2));
        assertNotEquals(tableA[2], tableB[2]);
        int[] c = a.clone();
        c[0] = -1;
        assertEquals(0, kv.cachedPrefixTokens(c, 0));
    }

    @Test
    void theCacheKeySeparatesOtherwiseEqualPrompts() {
        int[] a = tokens(1, 64);
        runPrompt(1, a, 77);
        assertEquals(48, kv.cachedPrefixTokens(a, 77));
        assertEquals(0, kv.cachedPrefixTokens(a, 78));
    }

    @Test
    void theLastPromptTokenIsAlwaysComputed() {
        int[] a = tokens(1, 64);
        runPrompt(1, a);
        // Four full blocks are cached, but a prompt of exactly those 64 tokens must still compute its last one.
        assertEquals(48, kv.cachedPrefixTokens(a, 0));
        assertEquals(64, kv.cachedPrefixTokens(tokens(1, 65), 0));
        assertThrows(IllegalArgumentException.class, () -> kv.admit(2, a, 0, 17));
        assertTrue(kv.admit(2, a, 0, 16));
    }

    @Test
    void freedCachedBlocksStayReusableUntilMemoryIsNeeded() {
        int[] a = tokens(1, 80);
        runPrompt(1, a);
        int[] tableA = kv.blockIds(1);
        kv.free(1);
        assertEquals(32, kv.freeBlocks());
        assertEquals(5, kv.metrics().cachedBlocks());
        assertTrue(kv.admit(2, a, 0, 16));
        assertArrayEquals(Arrays.copyOf(tableA, 4), Arrays.copyOf(kv.blockIds(2), 4));
        kv.free(2);
        // Fill the whole pool with other prompts: every cached block of `a` gets evicted, tail first.
        assertTrue(kv.admit(3, tokens(9000, 32 * BLOCK), 0, 32 * BLOCK));
        assertEquals(0, kv.cachedPrefixTokens(a, 0));
        assertEquals(0, kv.metrics().cachedBlocks());
    }

    @Test
    void aRequestsTailIsEvictedBeforeItsPrefix() {
        int[] a = tokens(1, 80);
        runPrompt(1, a);
        kv.free(1);
        // 27 never-used blocks are handed out first; the next two evictions take a's last two blocks, leaving its
        // first three (48 tokens) findable.
        assertTrue(kv.admit(2, tokens(5000, 29 * BLOCK), 0, 29 * BLOCK));
        assertEquals(48, kv.cachedPrefixTokens(a, 0));
    }

    @Test
    void evictionUnderPressureNeverTakesABlockInUse() {
        int[] shared = tokens(1, 64);
        runPrompt(1, concat(shared, tokens(100, 40)));
        runPrompt(2, concat(shared, tokens(200, 40)));
        kv.free(2);
        int[] running = kv.blockIds(1);
        // Admit requests until memory is exhausted: only free blocks may be taken.
        int id = 10;
        while (kv.admit(id, tokens(id * 1000, 2 * BLOCK), 0, 2 * BLOCK)) {
            for (int block : kv.blockIds(id)) {
                for (int used : running) {
                    assertNotEquals(used, block);
                }
            }
            kv.checkInvariants();
            id++;
        }
        assertArrayEquals(running, kv.blockIds(1));
        for (int block : running) {
            assertTrue(kv.pool().refCount(block) >= 1);
        }
        assertEquals(64, kv.cachedPrefixTokens(concat(shared, tokens(100, 40)), 0) - 32);
    }

    @Test
    void afterAForkWritesByOneChildAreNeverVisibleToTheOther() {
        int[] prompt = tokens(1, 20);
        assertTrue(kv.admit(1, prompt, 0, 20));
        for (int p = 0; p < 20; p++) {
            write(1, p, p);
        }
        kv.markComputed(1, 20);
        kv.fork(1, 2);
        assertArrayEquals(kv.blockIds(1), kv.blockIds(2));
        assertEquals(2, kv.blocksForNextDecodeStep());

        float[] parentBefore = attend(1, 20);
        kv.appendToken(2, 555);
        assertTrue(kv.allocateSlots(2, 1));
        assertNotEquals(kv.blockIds(1)[1], kv.blockIds(2)[1], "the shared partial block is copied");
        assertEquals(kv.blockIds(1)[0], kv.blockIds(2)[0], "the full block stays shared");
        write(2, 20, 900);
        kv.markComputed(2, 1);
        assertArrayEquals(parentBefore, attend(1, 20));
        // The copy carried the first 20 tokens over.
        for (int p = 0; p < 20; p++) {
            assertEquals(p, memory.key(0, kv.blockIds(2)[p / BLOCK], 0, p % BLOCK, 0));
        }

        float[] childBefore = attend(2, 21);
        kv.appendToken(1, 777);
        assertTrue(kv.allocateSlots(1, 1));
        write(1, 20, 400);
        kv.markComputed(1, 1);
        assertArrayEquals(childBefore, attend(2, 21));
        assertEquals(900, memory.key(0, kv.blockIds(2)[1], 0, 4, 0));
        assertEquals(400, memory.key(0, kv.blockIds(1)[1], 0, 4, 0));
    }

    @Test
    void writingIntoASharedBlockWithoutAllocatingFirstIsCaught() {
        assertTrue(kv.admit(1, tokens(1, 20), 0, 20));
        kv.markComputed(1, 20);
        kv.fork(1, 2);
        kv.appendToken(2, 3);
        assertThrows(IllegalStateException.class, () -> kv.markComputed(2, 1));
        assertEquals(20, kv.computedTokens(2));
    }

    @Test
    void anAllocationThatDoesNotFitReturnsNoAndChangesNothing() {
        assertTrue(kv.admit(1, tokens(1, 30 * BLOCK), 0, 30 * BLOCK));
        kv.markComputed(1, 30 * BLOCK);
        String before = fingerprint(1);
        assertFalse(kv.canAdmit(tokens(50, 3 * BLOCK), 0, 3 * BLOCK));
        assertFalse(kv.admit(2, tokens(50, 3 * BLOCK), 0, 3 * BLOCK));
        assertFalse(kv.contains(2));
        assertEquals(before, fingerprint(1));
        assertTrue(kv.admit(2, tokens(50, BLOCK), 0, BLOCK));
        kv.markComputed(2, BLOCK);
        for (int t = 0; t < 2 * BLOCK; t++) {
            kv.appendToken(2, t);
        }
        before = fingerprint(1, 2);
        assertEquals(2, kv.blocksToAllocate(2, 2 * BLOCK));
        assertFalse(kv.allocateSlots(2, 2 * BLOCK));
        assertEquals(before, fingerprint(1, 2));
        assertTrue(kv.allocateSlots(2, BLOCK));
        assertEquals(0, kv.freeBlocks());
    }

    @Test
    void theWatermarkHoldsBackAdmissionButNotRunningSequences() {
        memory.close();
        memory = new HostKvMemory(new KvLayout(SHAPE, 100));
        kv = new KvCacheManager(memory, 0.05, true);
        assertEquals(5, kv.watermarkBlocks());
        assertTrue(kv.admit(1, tokens(1, 94 * BLOCK), 0, 94 * BLOCK));
        assertEquals(2, kv.blocksToAdmit(tokens(5, 2 * BLOCK), 0, 2 * BLOCK));
        assertFalse(kv.admit(2, tokens(5, 2 * BLOCK), 0, 2 * BLOCK));
        kv.markComputed(1, 94 * BLOCK);
        for (int t = 0; t < 5 * BLOCK; t++) {
            kv.appendToken(1, t);
        }
        assertTrue(kv.allocateSlots(1, 5 * BLOCK));
        assertEquals(1, kv.freeBlocks());
    }

    @Test
    void blocksToAdmitCountsCachedPrefixBlocksThatAreFree() {
        int[] a = tokens(1, 64);
        runPrompt(1, a);
        int[] b = concat(tokens(1, 48), tokens(99, 20));
        // Three cached blocks in use: sharing them takes nothing; the 20 new tokens take 2 blocks.
        assertEquals(2, kv.blocksToAdmit(b, 0, 20));
        kv.free(1);
        // Now free: taking them back out of the free list counts too.
        assertEquals(5, kv.blocksToAdmit(b, 0, 20));
        int free = kv.freeBlocks();
        assertTrue(kv.admit(2, b, 0, 20));
        assertEquals(free - 5, kv.freeBlocks());
    }

    @Test
    void oneMoreDecodeStepNeedsABlockPerSequenceAtABlockBoundary() {
        assertTrue(kv.admit(1, tokens(1, 16), 0, 16));
        kv.markComputed(1, 16);
        assertTrue(kv.admit(2, tokens(100, 10), 0, 10));
        kv.markComputed(2, 10);
        assertEquals(1, kv.blocksForNextDecodeStep());
        assertTrue(kv.decodeStepFits());
        assertTrue(kv.admit(3, tokens(200, 29 * BLOCK), 0, 29 * BLOCK));
        kv.markComputed(3, 29 * BLOCK);
        assertEquals(2, kv.blocksForNextDecodeStep());
        assertEquals(1, kv.freeBlocks());
        assertFalse(kv.decodeStepFits());
    }

    @Test
    void everyOperationRefusesABadArgumentAndChangesNothing() {
        assertTrue(kv.admit(1, tokens(1, 20), 0, 20));
        kv.markComputed(1, 10);
        String before = fingerprint(1);
        List<Executable> calls = new ArrayList<>();
        calls.add(() -> kv.admit(1, tokens(1, 5), 0, 5));
        calls.add(() -> kv.admit(2, new int[0], 0, 1));
        calls.add(() -> kv.admit(2, null, 0, 1));
        calls.add(() -> kv.admit(2, tokens(1, 5), 0, 0));
        calls.add(() -> kv.admit(2, tokens(1, 5), 0, 6));
        calls.add(() -> kv.admit(2, tokens(1, 33 * BLOCK), 0, 1));
        calls.add(() -> kv.canAdmit(tokens(1, 5), 0, 9));
        calls.add(() -> kv.blocksToAdmit(new int[0], 0, 1));
        calls.add(() -> kv.cachedPrefixTokens(new int[0], 0));
        calls.add(() -> kv.allocateSlots(9, 1));
        calls.add(() -> kv.allocateSlots(1, 0));
        calls.add(() -> kv.allocateSlots(1, 11));
        calls.add(() -> kv.blocksToAllocate(9, 1));
        calls.add(() -> kv.markComputed(9, 1));
        calls.add(() -> kv.markComputed(1, 11));
        calls.add(() -> kv.markComputed(1, 0));
        calls.add(() -> kv.appendToken(9, 1));
        calls.add(() -> kv.fork(9, 3));
        calls.add(() -> kv.fork(1, 1));
        calls.add(() -> kv.free(9));
        calls.add(() -> kv.numTokens(9));
        calls.add(() -> kv.computedTokens(9));
        calls.add(() -> kv.blockIds(9));
        calls.add(() -> kv.blockTable(9));
        calls.add(() -> kv.slot(9, 0));
        for (Executable call : calls) {
            assertThrows(IllegalArgumentException.class, call);
            assertEquals(before, fingerprint(1));
            kv.checkInvariants();
        }
        assertThrows(IndexOutOfBoundsException.class, () -> kv.slot(1, 32));
        for (int t = 0; t < 32 * BLOCK; t++) {
            kv.appendToken(1, t);
        }
        kv.markComputed(1, 10);
        String grown = fingerprint(1);
        assertThrows(IllegalArgumentException.class, () -> kv.allocateSlots(1, 31 * BLOCK));
        assertEquals(grown, fingerprint(1));
    }

    @Test
    void appendSlotRecordsTheTokenAndGivesItsSlotOrNoAndChangesNothing() {
        assertTrue(kv.admit(1, tokens(1, 31 * BLOCK), 0, 31 * BLOCK));
        kv.markComputed(1, 31 * BLOCK);
        assertTrue(kv.admit(2, tokens(9000, 15), 0, 15));
        kv.markComputed(2, 15);
        assertEquals(0, kv.freeBlocks());
        int slot = kv.appendSlot(2, 42);
        assertEquals(kv.blockIds(2)[0] * BLOCK + 15, slot);
        assertEquals(16, kv.numTokens(2));
        kv.markComputed(2, 1);
        String before = fingerprint(1, 2);
        assertEquals(KvCacheManager.NO_SLOT, kv.appendSlot(2, 43));
        assertEquals(before, fingerprint(1, 2));
        kv.free(1);
        assertTrue(kv.appendSlot(2, 43) >= 0);
        assertEquals(17, kv.numTokens(2));
        assertThrows(IllegalArgumentException.class, () -> kv.appendSlot(2, 44));
        assertThrows(IllegalArgumentException.class, () -> kv.appendSlot(9, 44));
        kv.markComputed(2, 1);
    }

    @Test
    void slotsFollowTheBlockTable() {
        assertTrue(kv.admit(1, tokens(1, 40), 0, 40));
        BlockTable table = kv.blockTable(1);
        assertEquals(3, table.size());
        for (int p = 0; p < 48; p++) {
            assertEquals(table.blockId(p / BLOCK) * BLOCK + p % BLOCK, kv.slot(1, p));
        }
    }

    @Test
    void freeingEverythingReturnsEveryBlock() {
        runPrompt(1, tokens(1, 70));
        kv.fork(1, 2);
        kv.fork(2, 3);
        assertTrue(kv.admit(4, tokens(1, 100), 0, 100 - kv.cachedPrefixTokens(tokens(1, 100), 0)));
        for (long id = 1; id <= 4; id++) {
            kv.free(id);
        }
        assertEquals(0, kv.metrics().usedBlocks());
        assertEquals(32, kv.freeBlocks());
        assertEquals(0, kv.sequenceCount());
    }

    @Test
    void prefixCachingCanBeTurnedOff() {
        kv = new KvCacheManager(memory, 0, false);
        int[] a = tokens(1, 64);
        runPrompt(1, a);
        assertEquals(0, kv.cachedPrefixTokens(a, 0));
        assertEquals(0, kv.metrics().cachedBlocks());
        kv.free(1);
    }

    private void runPrompt(long id, int[] prompt) {
        runPrompt(id, prompt, 0);
    }

    private void runPrompt(long id, int[] prompt, long key) {
        int cached = kv.cachedPrefixTokens(prompt, key);
        assertTrue(kv.admit(id, prompt, key, prompt.length - cached));
        kv.markComputed(id, prompt.length - cached);
    }

    /** Writes K and V for one position whose every element is {@code marker}. */
    private void write(long id, int position, float marker) {
        float[] kvVector = new float[16];
        Arrays.fill(kvVector, marker);
        memory.write(0, kv.slot(id, position), kvVector, 0, kvVector, 0);
    }

    private float[] attend(long id, int context) {
        float[] query = new float[16];
        Arrays.fill(query, 0.01f);
        float[] out = new float[16];
        PagedAttention.scalar(memory, 1, 1f).attend(0, query, kv.blockTable(id).ids(), context, out);
        return out;
    }

    private String fingerprint(long... ids) {
        StringBuilder s = new StringBuilder();
        s.append(kv.freeBlocks()).append(' ').append(Arrays.toString(kv.pool().freeOrder()));
        s.append(' ').append(kv.metrics()).append(' ').append(kv.sequenceCount());
        for (long id : ids) {
            s.append(" [").append(kv.numTokens(id)).append(' ').append(kv.computedTokens(id));
            s.append(' ').append(Arrays.toString(kv.blockIds(id))).append(']');
        }
        return s.toString();
    }

    static int[] tokens(int first, int count) {
        return IntStream.range(first, first + count).toArray();
    }

    static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
