package dev.spindle.kvcache;

import java.util.Arrays;

/**
 * The physical blocks of the KV cache: their ids, reference counts, the free list and the prefix-cache index. It knows
 * nothing of sequences (that is {@link KvCacheManager}) nor of where the bytes are (that is the memory layer).
 *
 * <p>States of a block:
 *
 * <pre>
 *                 allocate()                     release() to 0
 *   free ----------------------------> in use ----------------------> free
 *  (ref 0)  (evicts its cache entry)  (ref > 0)   cached: at the tail
 *     ^                                  | ^      uncached: at the head
 *     |          touch() a cached block  | |
 *     +----------------------------------+ +-- cache(): in use and findable by hash
 * </pre>
 *
 * <p>The free list is a doubly linked list over primitive {@code prev}/{@code next} arrays in eviction order: blocks
 * are taken from the head. Uncached free blocks are put at the head (they hold nothing worth keeping); cached ones at
 * the tail, so the least recently freed cached block is evicted first. A cached block stays findable while free, until
 * it is taken for reuse. Nothing here allocates after construction.
 *
 * <p>Used by one thread (the engine's); not thread-safe.
 */
public final class BlockPool {

    /** No block: the end of a list, or a first block's parent. */
    public static final int NONE = -1;

    private final int numBlocks;
    private final int blockSize;
    private final int[] refCount;

    // Free list in eviction order.
    private final int[] prevFree;
    private final int[] nextFree;
    private int freeHead = NONE;
    private int freeTail = NONE;
    private int freeCount;

    // Prefix cache: for each cached block, what identifies its content, and a doubly linked chain of blocks sharing
    // a hash (collisions and duplicates). epoch[b] is 0 for an uncached block, else a number never given twice, so a
    // child can name the exact parent it was computed after.
    private final long[] hash;
    private final long[] epoch;
    private final int[] parent;
    private final long[] parentEpoch;
    private final long[] cacheKey;
    private final int[] tokens;
    private final int[] nextSameHash;
    private final int[] prevSameHash;
    private final LongToIntMap firstWithHash;
    private long lastEpoch;
    private int cachedCount;
    private long evictions;

    public BlockPool(int numBlocks, int blockSize) {
        if (numBlocks < 1 || blockSize < 1) {
            throw new IllegalArgumentException("a pool needs at least one block of at least one token, not %d of %d"
                    .formatted(numBlocks, blockSize));
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.refCount = new int[numBlocks];
        this.prevFree = new int[numBlocks];
        this.nextFree = new int[numBlocks];
        this.hash = new long[numBlocks];
        this.epoch = new long[numBlocks];
        this.parent = new int[numBlocks];
        this.parentEpoch = new long[numBlocks];
        this.cacheKey = new long[numBlocks];
        this.tokens = new int[Math.multiplyExact(numBlocks, blockSize)];
        this.nextSameHash = new int[numBlocks];
        this.prevSameHash = new int[numBlocks];
        this.firstWithHash = new LongToIntMap(numBlocks);
        Arrays.fill(parent, NONE);
        for (int b = 0; b < numBlocks; b++) {
            appendFree(b);
        }
    }

    public int numBlocks() {
        return numBlocks;
    }

    /** Tokens per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Blocks with no reference: never used, or cached and evictable. */
    public int freeBlocks() {
        return freeCount;
    }

    /** Blocks referenced by at least one sequence. */
    public int usedBlocks() {
        return numBlocks - freeCount;
    }

    /** Blocks findable in the prefix cache, in use or not. */
    public int cachedBlocks() {
        return cachedCount;
    }

    /** Cached blocks evicted so far to be reused. */
    public long evictions() {
        return evictions;
    }

    public int refCount(int block) {
        checkBlock(block);
        return refCount[block];
    }

    /** Whether {@code block} is findable in the prefix cache. */
    public boolean isCached(int block) {
        checkBlock(block);
        return epoch[block] != 0;
    }

    /**
     * Takes the block at the head of the free list, evicting its cache entry if it has one, with a reference count of
     * 1.
     *
     * @throws IllegalStateException if no block is free (callers check {@link #freeBlocks()} first)
     */
    public int allocate() {
        if (freeCount == 0) {
            throw new IllegalStateException("no free block in a pool of " + numBlocks);
        }
        int block = freeHead;
        unlinkFree(block);
        if (epoch[block] != 0) {
            uncache(block);
            evictions++;
        }
        refCount[block] = 1;
        return block;
    }

    /** Adds a reference to {@code block}; a free (cached) block leaves the free list. */
    public void touch(int block) {
        checkBlock(block);
        if (refCount[block] == 0) {
            if (epoch[block] == 0) {
                throw new IllegalStateException("block %d is free and holds nothing to share".formatted(block));
            }
            unlinkFree(block);
        }
        refCount[block]++;
    }

    /**
     * Drops a reference to {@code block}; at zero the block becomes free, at the tail of the free list if cached (kept
     * for reuse, evicted least recently freed first), else at the head.
     */
    public void release(int block) {
        checkBlock(block);
        if (refCount[block] == 0) {
            throw new IllegalStateException("block %d is already free".formatted(block));
        }
        if (--refCount[block] == 0) {
            if (epoch[block] != 0) {
                appendFree(block);
            } else {
                prependFree(block);
            }
        }
    }

    /**
     * Makes the full, in-use block findable: it holds the KV of {@code tokens[from .. from + blockSize)} computed
     * after block {@code parentBlock} (itself cached) or, for {@link #NONE}, at the start of a request with cache key
     * {@code key}.
     */
    public void cache(int block, long blockHash, int parentBlock, long key, int[] source, int from) {
        checkBlock(block);
        if (refCount[block] == 0 || epoch[block] != 0) {
            throw new IllegalStateException("only an uncached block in use can be cached; block %d has %d references%s"
                    .formatted(block, refCount[block], epoch[block] != 0 ? " and is cached" : ""));
        }
        checkTokens(source, from);
        if (parentBlock != NONE) {
            checkBlock(parentBlock);
            if (epoch[parentBlock] == 0) {
                throw new IllegalStateException("parent block %d is not cached".formatted(parentBlock));
            }
        }
        hash[block] = blockHash;
        epoch[block] = ++lastEpoch;
        parent[block] = parentBlock;
        parentEpoch[block] = parentBlock == NONE ? 0 : epoch[parentBlock];
        cacheKey[block] = key;
        System.arraycopy(source, from, tokens, block * blockSize, blockSize);
        int first = firstWithHash.get(blockHash);
        prevSameHash[block] = NONE;
        nextSameHash[block] = first == LongToIntMap.MISSING ? NONE : first;
        if (first != LongToIntMap.MISSING) {
            prevSameHash[first] = block;
        }
        firstWithHash.put(blockHash, block);
        cachedCount++;
    }

    /**
     * The cached block holding exactly {@code tokens[from .. from + blockSize)} after {@code parentBlock} (or at the
     * start, for {@link #NONE}) with cache key {@code key}, or {@link #NONE}. Changes nothing.
     */
    public int find(long blockHash, int parentBlock, long key, int[] source, int from) {
        checkTokens(source, from);
        if (parentBlock != NONE) {
            checkBlock(parentBlock);
        }
        long wantedParentEpoch = parentBlock == NONE ? 0 : epoch[parentBlock];
        int candidate = firstWithHash.get(blockHash);
        for (int b = candidate == LongToIntMap.MISSING ? NONE : candidate; b != NONE; b = nextSameHash[b]) {
            if (parent[b] == parentBlock
                    && parentEpoch[b] == wantedParentEpoch
                    && cacheKey[b] == key
                    && Arrays.equals(tokens, b * blockSize, (b + 1) * blockSize, source, from, from + blockSize)) {
                return b;
            }
        }
        return NONE;
    }

    private void uncache(int block) {
        int prev = prevSameHash[block];
        int next = nextSameHash[block];
        if (prev == NONE) {
            if (next == NONE) {
                firstWithHash.remove(hash[block]);
            } else {
                firstWithHash.put(hash[block], next);
            }
        } else {
            nextSameHash[prev] = next;
        }
        if (next != NONE) {
            prevSameHash[next] = prev;
        }
        epoch[block] = 0;
        parent[block] = NONE;
        cachedCount--;
    }

    private void appendFree(int block) {
        prevFree[block] = freeTail;
        nextFree[block] = NONE;
        if (freeTail == NONE) {
            freeHead = block;
        } else {
            nextFree[freeTail] = block;
        }
        freeTail = block;
        freeCount++;
    }

    private void prependFree(int block) {
        prevFree[block] = NONE;
        nextFree[block] = freeHead;
        if (freeHead == NONE) {
            freeTail = block;
        } else {
            prevFree[freeHead] = block;
        }
        freeHead = block;
        freeCount++;
    }

    private void unlinkFree(int block) {
        int prev = prevFree[block];
        int next = nextFree[block];
        if (prev == NONE) {
            freeHead = next;
        } else {
            nextFree[prev] = next;
        }
        if (next == NONE) {
            freeTail = prev;
        } else {
            prevFree[next] = prev;
        }
        freeCount--;
    }

    /** The free blocks from head (evicted first) to tail; for tests and diagnostics. */
    public int[] freeOrder() {
        int[] order = new int[freeCount];
        int i = 0;
        for (int b = freeHead; b != NONE; b = nextFree[b]) {
            order[i++] = b;
        }
        return order;
    }

    /**
     * Checks the pool's own invariants: the free list holds exactly the blocks with no reference, each once, linked
     * both ways; counts are never negative; every cached block is reachable through its hash chain and no other is.
     *
     * @throws IllegalStateException naming the first invariant broken
     */
    public void checkInvariants() {
        boolean[] seen = new boolean[numBlocks];
        int count = 0;
        int prev = NONE;
        for (int b = freeHead; b != NONE; b = nextFree[b]) {
            if (seen[b]) {
                throw new IllegalStateException("block %d is twice in the free list".formatted(b));
            }
            seen[b] = true;
            if (prevFree[b] != prev) {
                throw new IllegalStateException("free list links of block %d disagree".formatted(b));
            }
            if (refCount[b] != 0) {
                throw new IllegalStateException("block %d is free with %d references".formatted(b, refCount[b]));
            }
            prev = b;
            count++;
        }
        if (prev != freeTail || count != freeCount) {
            throw new IllegalStateException("free list has %d blocks ending at %d; the pool counts %d ending at %d"
                    .formatted(count, prev, freeCount, freeTail));
        }
        int cached = 0;
        for (int b = 0; b < numBlocks; b++) {
            if (refCount[b] < 0) {
                throw new IllegalStateException("block %d has %d references".formatted(b, refCount[b]));
            }
            if (refCount[b] == 0 && !seen[b]) {
                throw new IllegalStateException("block %d has no reference but is not free".formatted(b));
            }
            if (epoch[b] != 0) {
                cached++;
                boolean reachable = false;
                int first = firstWithHash.get(hash[b]);
                for (int c = first == LongToIntMap.MISSING ? NONE : first; c != NONE; c = nextSameHash[c]) {
                    reachable |= c == b;
                }
                if (!reachable) {
                    throw new IllegalStateException("cached block %d cannot be found by its hash".formatted(b));
                }
            }
        }
        if (cached != cachedCount || firstWithHash.size() > cachedCount) {
            throw new IllegalStateException("%d blocks are cached under %d hashes; the pool counts %d"
                    .formatted(cached, firstWithHash.size(), cachedCount));
        }
    }

    private void checkTokens(int[] source, int from) {
        if (from < 0 || from > source.length - blockSize) {
            throw new IllegalArgumentException("a block's %d tokens from offset %d do not fit in %d tokens"
                    .formatted(blockSize, from, source.length));
        }
    }

    private void checkBlock(int block) {
        if (block < 0 || block >= numBlocks) {
            throw new IllegalArgumentException("block %d is outside the pool's %d blocks".formatted(block, numBlocks));
        }
    }
}
