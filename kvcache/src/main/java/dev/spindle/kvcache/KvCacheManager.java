package dev.spindle.kvcache;

import dev.spindle.kvcache.memory.KvMemory;
import java.util.Arrays;

/**
 * The sequences' block tables over a {@link BlockPool}: admission with prefix caching, slot allocation, forks with
 * copy-on-write, and the capacity answers a scheduler needs.
 *
 * <p>A sequence's tokens fall into regions (blocks of 4 tokens drawn here):
 *
 * <pre>
 *   | cached full blocks | computed         | scheduled  | known, not yet scheduled |
 *   |  (prefix hits or   |  (KV written)    | (slots     | (prompt rest, or the     |
 *   |   registered)      |                  |  allocated)|  token just sampled)     |
 *   [b7 ][b2 ][b9 ][b4 ][b11 ][b3  ][b5  ]
 *   0                 cachedBlocks*4   computedTokens      ... numTokens
 * </pre>
 *
 * <p>Protocol per step: {@link #admit} a new request (reusing its cached prefix) or {@link #allocateSlots} for a
 * running one; the forward pass writes the KV of the scheduled tokens into {@link BlockTable#slot} positions; then
 * {@link #markComputed} says so, which makes newly full blocks findable by later requests. A sampled token is recorded
 * with {@link #appendToken} before the slots for it are allocated. {@link #free} ends a sequence.
 *
 * <p>All or nothing: an allocation that does not fit returns {@code false} and changes nothing (choosing whom to
 * preempt is the scheduler's job). A bad argument (unknown or duplicate sequence, more tokens than exist, a request
 * larger than the whole pool) throws {@link IllegalArgumentException} and changes nothing.
 *
 * <p>Used by one thread (the engine's); not thread-safe.
 */
public final class KvCacheManager {

    private final BlockPool pool;
    private final KvMemory memory;
    private final int blockSize;
    private final int watermarkBlocks;
    private final boolean prefixCaching;
    private final long bytesPerBlock;

    private final LongToIntMap slotOf = new LongToIntMap(64);
    private Sequence[] sequences = new Sequence[64];
    private int[] freeSlots = new int[64];
    private int freeSlotCount;
    private int sequenceCount;

    /** Scratch of {@link #lookUp}: the cached blocks matched and their hashes. */
    private int[] hitBlocks = new int[64];

    private long[] hitHashes = new long[64];

    private long prefixQueryTokens;
    private long prefixHitTokens;

    /**
     * @param memory the pool's bytes, for copy-on-write; its layout gives the block count and size
     * @param watermark fraction of all blocks that admission of new requests leaves free, so that running sequences
     *     can keep decoding without preemption right away (0.01 is typical)
     * @param prefixCaching whether full blocks are shared across requests by their prefix hash
     */
    public KvCacheManager(KvMemory memory, double watermark, boolean prefixCaching) {
        if (!(watermark >= 0 && watermark < 1)) {
            throw new IllegalArgumentException("the watermark is a fraction in [0, 1), not " + watermark);
        }
        int numBlocks = memory.layout().numBlocks();
        this.memory = memory;
        this.blockSize = memory.layout().shape().blockSize();
        this.pool = new BlockPool(numBlocks, blockSize);
        this.watermarkBlocks = (int) (watermark * numBlocks);
        this.prefixCaching = prefixCaching;
        this.bytesPerBlock = memory.layout().shape().bytesPerBlock();
        for (int i = sequences.length - 1; i >= 0; i--) {
            freeSlots[freeSlotCount++] = i;
        }
    }

    /** The pool, read-only use only (for tests and diagnostics in this package). */
    BlockPool pool() {
        return pool;
    }

    /** Tokens per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Blocks in the pool. */
    public int totalBlocks() {
        return pool.numBlocks();
    }

    /** Blocks not referenced by any sequence, evictable cached ones included. */
    public int freeBlocks() {
        return pool.freeBlocks();
    }

    /** Blocks that admission keeps free for running sequences. */
    public int watermarkBlocks() {
        return watermarkBlocks;
    }

    /** Sequences held. */
    public int sequenceCount() {
        return sequenceCount;
    }

    public boolean contains(long sequence) {
        return slotOf.get(sequence) != LongToIntMap.MISSING;
    }

    /**
     * Prompt tokens a new request would find cached: whole blocks, at most {@code prompt.length - 1} tokens (the last
     * prompt token is always computed, for its logits). Changes nothing.
     */
    public int cachedPrefixTokens(int[] prompt, long cacheKey) {
        checkPrompt(prompt);
        return lookUp(prompt, cacheKey) * blockSize;
    }

    /**
     * Free blocks that {@link #admit} would take for this request: new blocks for its first {@code newTokens}
     * uncached tokens, plus cached prefix blocks that are currently free. Changes nothing.
     */
    public int blocksToAdmit(int[] prompt, long cacheKey, int newTokens) {
        checkPrompt(prompt);
        int hits = lookUp(prompt, cacheKey);
        checkAdmission(prompt, hits, newTokens);
        return blocksTakenByAdmission(hits, newTokens);
    }

    /** Whether {@link #admit} would succeed now, leaving the watermark free. Changes nothing. */
    public boolean canAdmit(int[] prompt, long cacheKey, int newTokens) {
        return blocksToAdmit(prompt, cacheKey, newTokens) <= pool.freeBlocks() - watermarkBlocks;
    }

    /**
     * Admits a new sequence: reuses the cached blocks of its prompt's longest cached prefix (see
     * {@link #cachedPrefixTokens}) and allocates slots for its next {@code newTokens} prompt tokens.
     *
     * @param sequence a new sequence id
     * @param prompt the prompt's token ids (copied)
     * @param cacheKey what besides the tokens determines the KV (an adapter id, say); 0 for none
     * @param newTokens prompt tokens to compute in this step, after the cached prefix: at least 1
     * @return false, with nothing changed, if the blocks needed (plus the watermark) are not free
     * @throws IllegalArgumentException for a duplicate id, an empty prompt, a token count outside {@code 1 ..
     *     prompt.length - cachedPrefixTokens}, or a prompt that needs more blocks than the whole pool
     */
    public boolean admit(long sequence, int[] prompt, long cacheKey, int newTokens) {
        if (contains(sequence)) {
            throw new IllegalArgumentException("sequence %d already exists".formatted(sequence));
        }
        checkPrompt(prompt);
        int hits = lookUp(prompt, cacheKey);
        checkAdmission(prompt, hits, newTokens);
        if (blocksTakenByAdmission(hits, newTokens) > pool.freeBlocks() - watermarkBlocks) {
            return false;
        }
        // Claim the hits before allocating: allocation may otherwise evict one of them.
        for (int i = 0; i < hits; i++) {
            pool.touch(hitBlocks[i]);
        }
        Sequence s = new Sequence(sequence, cacheKey, prompt, blockSize);
        for (int i = 0; i < hits; i++) {
            s.table.add(hitBlocks[i]);
        }
        s.computedTokens = hits * blockSize;
        s.cachedBlocks = hits;
        s.chainHash = hits == 0 ? PrefixHash.root(cacheKey) : hitHashes[hits - 1];
        int blocks = Math.ceilDiv(s.computedTokens + newTokens, blockSize);
        while (s.table.size() < blocks) {
            s.table.add(pool.allocate());
        }
        store(s);
        prefixQueryTokens += prompt.length;
        prefixHitTokens += (long) hits * blockSize;
        return true;
    }

    /**
     * Free blocks {@link #allocateSlots} would take for {@code newTokens} more tokens of {@code sequence} (new blocks,
     * plus one if its last, partly filled block is shared and must be copied first). Changes nothing.
     */
    public int blocksToAllocate(long sequence, int newTokens) {
        Sequence s = get(sequence);
        checkNewTokens(s, newTokens);
        return newBlocksFor(s, newTokens) + (mustCopyBeforeWrite(s) ? 1 : 0);
    }

    /**
     * Makes room for the KV of the next {@code newTokens} known tokens of {@code sequence} (positions {@code
     * computedTokens .. computedTokens + newTokens - 1}): allocates blocks, and first copies the last block if it is
     * shared with a fork, so that the writes stay private.
     *
     * @return false, with nothing changed, if that many free blocks are not available
     * @throws IllegalArgumentException for an unknown sequence, fewer than 1 or more tokens than are known, or a
     *     sequence that would outgrow the whole pool
     */
    public boolean allocateSlots(long sequence, int newTokens) {
        Sequence s = get(sequence);
        checkNewTokens(s, newTokens);
        boolean copy = mustCopyBeforeWrite(s);
        int newBlocks = newBlocksFor(s, newTokens);
        if (newBlocks + (copy ? 1 : 0) > pool.freeBlocks()) {
            return false;
        }
        if (copy) {
            int index = s.computedTokens / blockSize;
            int shared = s.table.blockId(index);
            int own = pool.allocate();
            memory.copyBlock(shared, own);
            pool.release(shared);
            s.table.set(index, own);
        }
        for (int i = 0; i < newBlocks; i++) {
            s.table.add(pool.allocate());
        }
        return true;
    }

    /** What {@link #appendSlot} returns when no block is free for the new token. */
    public static final int NO_SLOT = -1;

    /**
     * The decode step's shortcut for {@link #appendToken} then {@link #allocateSlots}{@code (sequence, 1)}: records
     * {@code token} and returns the slot its K and V go to, or {@link #NO_SLOT}, with nothing changed, if that needs
     * a block and none is free.
     *
     * @throws IllegalArgumentException for an unknown sequence, or one with known tokens not yet computed
     */
    public int appendSlot(long sequence, int token) {
        Sequence s = get(sequence);
        if (s.computedTokens != s.numTokens) {
            throw new IllegalArgumentException(
                    "sequence %d has %d known tokens but %d computed; compute them before appending"
                            .formatted(sequence, s.numTokens, s.computedTokens));
        }
        boolean needsBlock = s.computedTokens >= s.table.capacity() || mustCopyBeforeWrite(s);
        if (needsBlock && pool.freeBlocks() == 0) {
            return NO_SLOT;
        }
        if (Math.ceilDiv(s.computedTokens + 1, blockSize) > pool.numBlocks()) {
            throw new IllegalArgumentException(
                    "sequence %d would need more blocks than the whole pool has".formatted(sequence));
        }
        s.append(token);
        allocateSlots(sequence, 1);
        return s.table.slot(s.computedTokens);
    }

    /** Records a token sampled for {@code sequence}; its slot is allocated by a later {@link #allocateSlots}. */
    public void appendToken(long sequence, int token) {
        get(sequence).append(token);
    }

    /**
     * Records that the KV of the next {@code tokens} tokens of {@code sequence} is written. Blocks that become full
     * are registered in the prefix cache.
     *
     * @throws IllegalArgumentException for an unknown sequence, or more tokens than have slots
     * @throws IllegalStateException if one of those slots lies in a block shared with another sequence (the slots
     *     were not allocated through {@link #allocateSlots}, which copies shared blocks first)
     */
    public void markComputed(long sequence, int tokens) {
        Sequence s = get(sequence);
        int limit = Math.min(s.numTokens, s.table.capacity());
        if (tokens < 1 || tokens > limit - s.computedTokens) {
            throw new IllegalArgumentException(
                    "sequence %d has %d computed tokens and slots for %d known tokens; %d more cannot be computed"
                            .formatted(sequence, s.computedTokens, limit, tokens));
        }
        int last = (s.computedTokens + tokens - 1) / blockSize;
        for (int i = s.computedTokens / blockSize; i <= last; i++) {
            if (pool.refCount(s.table.blockId(i)) > 1) {
                throw new IllegalStateException("sequence %d would have written into block %d, shared with another"
                        .formatted(sequence, s.table.blockId(i)));
            }
        }
        s.computedTokens += tokens;
        if (prefixCaching) {
            int full = s.computedTokens / blockSize;
            for (int i = s.cachedBlocks; i < full; i++) {
                long hash = PrefixHash.block(s.chainHash, s.tokens, i * blockSize, blockSize);
                int parent = i == 0 ? BlockPool.NONE : s.table.blockId(i - 1);
                pool.cache(s.table.blockId(i), hash, parent, s.cacheKey, s.tokens, i * blockSize);
                s.chainHash = hash;
                s.cachedBlocks = i + 1;
            }
        }
    }

    /**
     * Starts {@code child} as a copy of {@code parent} (for {@code n > 1} samples, or a shared system prompt): the same
     * tokens and the same blocks for its computed tokens, shared by reference. The last block, if partly filled, is
     * copied on the first write by either. Takes no free block.
     *
     * @throws IllegalArgumentException if {@code parent} is unknown or {@code child} exists
     */
    public void fork(long parent, long child) {
        Sequence p = get(parent);
        if (contains(child)) {
            throw new IllegalArgumentException("sequence %d already exists".formatted(child));
        }
        Sequence c = new Sequence(child, p.cacheKey, Arrays.copyOf(p.tokens, p.numTokens), blockSize);
        int shared = Math.ceilDiv(p.computedTokens, blockSize);
        for (int i = 0; i < shared; i++) {
            int block = p.table.blockId(i);
            pool.touch(block);
            c.table.add(block);
        }
        c.computedTokens = p.computedTokens;
        c.cachedBlocks = p.cachedBlocks;
        c.chainHash = p.chainHash;
        store(c);
    }

    /**
     * Ends {@code sequence}, releasing its blocks last to first, so that its tail is evicted before its prefix.
     *
     * @throws IllegalArgumentException if {@code sequence} is unknown
     */
    public void free(long sequence) {
        Sequence s = get(sequence);
        for (int i = s.table.size() - 1; i >= 0; i--) {
            pool.release(s.table.blockId(i));
        }
        int slot = slotOf.remove(sequence);
        sequences[slot] = null;
        freeSlots[freeSlotCount++] = slot;
        sequenceCount--;
    }

    /** Tokens known for {@code sequence}: prompt and sampled. */
    public int numTokens(long sequence) {
        return get(sequence).numTokens;
    }

    /** Tokens of {@code sequence} whose KV is written (or was found cached). */
    public int computedTokens(long sequence) {
        return get(sequence).computedTokens;
    }

    /** The live block table of {@code sequence}, for the forward pass. */
    public BlockTable blockTable(long sequence) {
        return get(sequence).table;
    }

    /** A copy of {@code sequence}'s physical block ids, in logical order. */
    public int[] blockIds(long sequence) {
        return get(sequence).table.toArray();
    }

    /** The slot that holds {@code position}'s K and V in {@code sequence}. */
    public int slot(long sequence, int position) {
        return get(sequence).table.slot(position);
    }

    /**
     * Free blocks needed for every sequence to compute one more token: one for each whose next position starts a new
     * block or falls in a shared block that must be copied first.
     */
    public int blocksForNextDecodeStep() {
        int needed = 0;
        for (Sequence s : sequences) {
            if (s != null && (s.computedTokens >= s.table.capacity() || mustCopyBeforeWrite(s))) {
                needed++;
            }
        }
        return needed;
    }

    /** Whether one more decode step fits for all sequences without preempting any. */
    public boolean decodeStepFits() {
        return blocksForNextDecodeStep() <= pool.freeBlocks();
    }

    public KvCacheMetrics metrics() {
        return new KvCacheMetrics(
                pool.numBlocks(),
                pool.usedBlocks(),
                pool.cachedBlocks(),
                bytesPerBlock,
                prefixQueryTokens,
                prefixHitTokens,
                pool.evictions());
    }

    /**
     * Checks that every block is owned as counted: each block's reference count equals the number of block tables
     * holding it, no table holds a block twice, every table covers its computed tokens, and the pool's own invariants
     * hold.
     *
     * @throws IllegalStateException naming the first invariant broken
     */
    public void checkInvariants() {
        pool.checkInvariants();
        int[] references = new int[pool.numBlocks()];
        int[] lastSeenIn = new int[pool.numBlocks()];
        Arrays.fill(lastSeenIn, -1);
        int count = 0;
        for (int slot = 0; slot < sequences.length; slot++) {
            Sequence s = sequences[slot];
            if (s == null) {
                continue;
            }
            count++;
            if (slotOf.get(s.id) != slot) {
                throw new IllegalStateException("sequence %d is not indexed at its slot".formatted(s.id));
            }
            if (s.computedTokens > s.numTokens || s.computedTokens > s.table.capacity()) {
                throw new IllegalStateException("sequence %d has %d computed tokens of %d known, %d slots"
                        .formatted(s.id, s.computedTokens, s.numTokens, s.table.capacity()));
            }
            for (int i = 0; i < s.table.size(); i++) {
                int b = s.table.blockId(i);
                if (lastSeenIn[b] == slot) {
                    throw new IllegalStateException("sequence %d holds block %d twice".formatted(s.id, b));
                }
                lastSeenIn[b] = slot;
                references[b]++;
                if (i < s.cachedBlocks && prefixCaching && !pool.isCached(b)) {
                    throw new IllegalStateException("sequence %d's full block %d is not cached".formatted(s.id, b));
                }
            }
        }
        if (count != sequenceCount || slotOf.size() != sequenceCount) {
            throw new IllegalStateException("%d sequences are stored, %d indexed; the manager counts %d"
                    .formatted(count, slotOf.size(), sequenceCount));
        }
        for (int b = 0; b < references.length; b++) {
            if (references[b] != pool.refCount(b)) {
                throw new IllegalStateException("block %d is held by %d tables but counts %d references"
                        .formatted(b, references[b], pool.refCount(b)));
            }
        }
    }

    /** Matches the prompt's full blocks against the cache into the scratch arrays; returns the blocks matched. */
    private int lookUp(int[] prompt, long cacheKey) {
        if (!prefixCaching) {
            return 0;
        }
        int candidates = (prompt.length - 1) / blockSize;
        if (hitBlocks.length < candidates) {
            hitBlocks = new int[candidates];
            hitHashes = new long[candidates];
        }
        long hash = PrefixHash.root(cacheKey);
        int parent = BlockPool.NONE;
        for (int i = 0; i < candidates; i++) {
            hash = PrefixHash.block(hash, prompt, i * blockSize, blockSize);
            int block = pool.find(hash, parent, cacheKey, prompt, i * blockSize);
            if (block == BlockPool.NONE) {
                return i;
            }
            hitBlocks[i] = block;
            hitHashes[i] = hash;
            parent = block;
        }
        return candidates;
    }

    private int blocksTakenByAdmission(int hits, int newTokens) {
        int taken = Math.ceilDiv(hits * blockSize + newTokens, blockSize) - hits;
        for (int i = 0; i < hits; i++) {
            if (pool.refCount(hitBlocks[i]) == 0) {
                taken++;
            }
        }
        return taken;
    }

    private void checkPrompt(int[] prompt) {
        if (prompt == null || prompt.length == 0) {
            throw new IllegalArgumentException("a prompt needs at least one token");
        }
    }

    private void checkAdmission(int[] prompt, int hits, int newTokens) {
        int uncached = prompt.length - hits * blockSize;
        if (newTokens < 1 || newTokens > uncached) {
            throw new IllegalArgumentException(
                    "a prompt of %d tokens with %d cached can compute 1 to %d new tokens, not %d"
                            .formatted(prompt.length, hits * blockSize, uncached, newTokens));
        }
        int blocks = Math.ceilDiv(prompt.length, blockSize);
        if (blocks > pool.numBlocks()) {
            throw new IllegalArgumentException("a prompt of %d tokens needs %d blocks; the whole pool has %d"
                    .formatted(prompt.length, blocks, pool.numBlocks()));
        }
    }

    private void checkNewTokens(Sequence s, int newTokens) {
        if (newTokens < 1 || newTokens > s.numTokens - s.computedTokens) {
            throw new IllegalArgumentException("sequence %d has %d known tokens, %d computed; cannot schedule %d"
                    .formatted(s.id, s.numTokens, s.computedTokens, newTokens));
        }
        int blocks = Math.ceilDiv(s.computedTokens + newTokens, blockSize);
        if (blocks > pool.numBlocks()) {
            throw new IllegalArgumentException("sequence %d would need %d blocks; the whole pool has %d"
                    .formatted(s.id, blocks, pool.numBlocks()));
        }
    }

    private int newBlocksFor(Sequence s, int newTokens) {
        return Math.max(0, Math.ceilDiv(s.computedTokens + newTokens, blockSize) - s.table.size());
    }

    /** Whether the block that the next position falls in exists and is shared: it must be copied before writing. */
    private boolean mustCopyBeforeWrite(Sequence s) {
        int index = s.computedTokens / blockSize;
        return index < s.table.size() && pool.refCount(s.table.blockId(index)) > 1;
    }

    private Sequence get(long sequence) {
        int slot = slotOf.get(sequence);
        if (slot == LongToIntMap.MISSING) {
            throw new IllegalArgumentException("unknown sequence " + sequence);
        }
        return sequences[slot];
    }

    private void store(Sequence s) {
        if (freeSlotCount == 0) {
            int old = sequences.length;
            sequences = Arrays.copyOf(sequences, old * 2);
            freeSlots = Arrays.copyOf(freeSlots, old * 2);
            for (int i = sequences.length - 1; i >= old; i--) {
                freeSlots[freeSlotCount++] = i;
            }
        }
        int slot = freeSlots[--freeSlotCount];
        sequences[slot] = s;
        slotOf.put(s.id, slot);
        sequenceCount++;
    }

    /** One sequence's state; see the regions in the class comment. */
    private static final class Sequence {
        final long id;
        final long cacheKey;
        final BlockTable table;
        int[] tokens;
        int numTokens;
        int computedTokens;
        /** Leading full blocks registered in (or found in) the prefix cache. */
        int cachedBlocks;
        /** Prefix hash of block {@code cachedBlocks - 1}, or the root hash. */
        long chainHash;

        Sequence(long id, long cacheKey, int[] tokens, int blockSize) {
            this.id = id;
            this.cacheKey = cacheKey;
            this.tokens = Arrays.copyOf(tokens, Math.max(tokens.length + blockSize, tokens.length * 5 / 4));
            this.numTokens = tokens.length;
            this.table = new BlockTable(blockSize, Math.ceilDiv(this.tokens.length, blockSize));
        }

        void append(int token) {
            if (numTokens == tokens.length) {
                tokens = Arrays.copyOf(tokens, tokens.length * 2);
            }
            tokens[numTokens++] = token;
        }
    }
}
