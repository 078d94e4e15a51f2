package dev.spindle.kvcache;

import static dev.spindle.kvcache.BlockPool.NONE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BlockPoolTest {

    private final BlockPool pool = new BlockPool(6, 4);

    @AfterEach
    void invariantsHold() {
        pool.checkInvariants();
    }

    @Test
    void aNewPoolIsAllFreeInIdOrder() {
        assertEquals(6, pool.freeBlocks());
        assertEquals(0, pool.usedBlocks());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, pool.freeOrder());
    }

    @Test
    void uncachedBlocksAreReusedFirstAndCachedOnesInTheOrderFreed() {
        int a = pool.allocate();
        int b = pool.allocate();
        int c = pool.allocate();
        int d = pool.allocate();
        cacheAsFirst(a, 1);
        cacheAsFirst(b, 2);
        pool.release(b);
        pool.release(a);
        pool.release(c);
        pool.release(d);
        // c and d held nothing: at the head. b then a were freed while cached: at the tail, b evicted first.
        assertArrayEquals(new int[] {d, c, 4, 5, b, a}, pool.freeOrder());
        assertEquals(6, pool.freeBlocks());
        assertEquals(2, pool.cachedBlocks());
    }

    @Test
    void reusingAFreeCachedBlockEvictsItLeastRecentlyFreedFirst() {
        int[] blocks = new int[6];
        for (int i = 0; i < 6; i++) {
            blocks[i] = pool.allocate();
            cacheAsFirst(blocks[i], 10 + i);
        }
        for (int i = 0; i < 6; i++) {
            pool.release(blocks[i]);
        }
        assertEquals(0, pool.evictions());
        int reused = pool.allocate();
        assertEquals(blocks[0], reused);
        assertEquals(1, pool.evictions());
        assertFalse(pool.isCached(reused));
        assertEquals(NONE, pool.find(10, NONE, 0, tokens(10), 0));
        assertEquals(blocks[1], pool.find(11, NONE, 0, tokens(11), 0));
        assertEquals(5, pool.cachedBlocks());
    }

    @Test
    void touchingAFreeCachedBlockTakesItOutOfTheFreeList() {
        int a = pool.allocate();
        cacheAsFirst(a, 7);
        pool.release(a);
        assertEquals(6, pool.freeBlocks());
        pool.touch(a);
        assertEquals(1, pool.refCount(a));
        assertEquals(5, pool.freeBlocks());
        for (int b : pool.freeOrder()) {
            assertTrue(b != a);
        }
        pool.touch(a);
        assertEquals(2, pool.refCount(a));
        pool.release(a);
        pool.release(a);
        assertEquals(0, pool.refCount(a));
    }

    @Test
    void aHitNeedsTheSameTokensKeyAndParentNotJustTheHash() {
        int parent = pool.allocate();
        cacheAsFirst(parent, 100);
        int child = pool.allocate();
        pool.cache(child, 42, parent, 0, tokens(5), 0);
        int impostor = pool.allocate();
        // Same hash (a collision), different tokens.
        pool.cache(impostor, 42, parent, 0, tokens(6), 0);
        assertEquals(child, pool.find(42, parent, 0, tokens(5), 0));
        assertEquals(impostor, pool.find(42, parent, 0, tokens(6), 0));
        assertEquals(NONE, pool.find(42, parent, 0, tokens(7), 0));
        assertEquals(NONE, pool.find(42, parent, 1, tokens(5), 0));
        assertEquals(NONE, pool.find(42, NONE, 0, tokens(5), 0));
        assertEquals(NONE, pool.find(42, child, 0, tokens(5), 0));
    }

    @Test
    void aChildIsNotFoundBehindAReusedParentId() {
        int parent = pool.allocate();
        cacheAsFirst(parent, 100);
        int child = pool.allocate();
        pool.cache(child, 200, parent, 0, tokens(2), 0);
        pool.release(child);
        pool.release(parent);
        // Use up the free list until the parent's id is evicted and handed out again, then cache it anew.
        int again;
        do {
            again = pool.allocate();
        } while (again != parent);
        cacheAsFirst(again, 100);
        assertEquals(again, pool.find(100, NONE, 0, tokens(100), 0));
        assertEquals(NONE, pool.find(200, again, 0, tokens(2), 0));
    }

    @Test
    void misuseIsRefusedAndChangesNothing() {
        int a = pool.allocate();
        int[] order = pool.freeOrder();
        assertThrows(IllegalArgumentException.class, () -> pool.release(6));
        assertThrows(IllegalArgumentException.class, () -> pool.touch(-1));
        assertThrows(IllegalStateException.class, () -> pool.release(order[0]));
        assertThrows(IllegalStateException.class, () -> pool.touch(order[0]));
        assertThrows(IllegalStateException.class, () -> pool.cache(order[0], 1, NONE, 0, tokens(1), 0));
        assertThrows(IllegalStateException.class, () -> pool.cache(a, 1, order[0], 0, tokens(1), 0));
        assertThrows(IllegalArgumentException.class, () -> pool.cache(a, 1, NONE, 0, new int[3], 0));
        cacheAsFirst(a, 1);
        assertThrows(IllegalStateException.class, () -> cacheAsFirst(a, 2));
        assertArrayEquals(order, pool.freeOrder());
        assertEquals(1, pool.refCount(a));
        while (pool.freeBlocks() > 0) {
            pool.allocate();
        }
        assertThrows(IllegalStateException.class, pool::allocate);
    }

    private void cacheAsFirst(int block, int token) {
        pool.cache(block, token, NONE, 0, tokens(token), 0);
    }

    private static int[] tokens(int first) {
        return new int[] {first, first + 1, first + 2, first + 3};
    }
}
