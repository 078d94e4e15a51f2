package dev.spindle.model;

/**
 * One step's work for the forward pass: a ragged batch of sequences, each advancing by some new tokens.
 *
 * <p>A sequence's new tokens are a prompt chunk (whole or partial) in prefill, or one token in decode; there is no
 * mode, only a count. Its tokens lie together in the batch and have consecutive positions, starting right after its
 * cached prefix:
 *
 * <pre>
 *   batch tokens:   | seq 0: 5 prompt tokens | seq 1: 1 | seq 2: 1 | seq 3: chunk of 64 |
 *   positions:        p0 .. p0+4               q0         r0         s0 .. s0+63
 *   attends to:       cache[0, p0+i]  (the cached prefix, then its own chunk causally)
 * </pre>
 *
 * <p>The descriptor is reusable: {@link #clear()} and {@link #add} only write into arrays sized once for the engine's
 * largest batch, so building a step allocates nothing.
 */
public final class ForwardBatch {
    private final int maxTokens;
    private final int maxSequences;

    private final int[] tokens; // [maxTokens] token ids
    private final int[] positions; // [maxTokens] position of each token in its sequence
    private final int[] sequenceOf; // [maxTokens] batch index of each token's sequence

    private final int[] firstToken; // [maxSequences] index of the sequence's first token in the batch
    private final int[] tokenCount; // [maxSequences] new tokens of the sequence
    private final int[] startPosition; // [maxSequences] position of its first new token = cached prefix length
    private final int[][] blockTables; // [maxSequences] the sequence's KV block ids, by logical block
    private final int[] logitsRow; // [maxSequences] row of its last token's logits, or -1

    private int tokenTotal;
    private int sequenceTotal;
    private int logitRows;

    public ForwardBatch(int maxTokens, int maxSequences) {
        if (maxTokens < 1 || maxSequences < 1) {
            throw new IllegalArgumentException("maxTokens and maxSequences must be >= 1");
        }
        this.maxTokens = maxTokens;
        this.maxSequences = maxSequences;
        tokens = new int[maxTokens];
        positions = new int[maxTokens];
        sequenceOf = new int[maxTokens];
        firstToken = new int[maxSequences];
        tokenCount = new int[maxSequences];
        startPosition = new int[maxSequences];
        blockTables = new int[maxSequences][];
        logitsRow = new int[maxSequences];
    }

    /** Empties the batch for the next step. */
    public void clear() {
        for (int s = 0; s < sequenceTotal; s++) {
            blockTables[s] = null;
        }
        tokenTotal = 0;
        sequenceTotal = 0;
        logitRows = 0;
    }

    /**
     * Adds a sequence advancing by {@code count} tokens.
     *
     * @param blockTable the sequence's KV block ids by logical block; it must already cover positions up to
     *     {@code startPosition + count - 1}. Referenced, not copied: it must stay unchanged until the step ends.
     * @param startPosition the position of the first new token: how many of the sequence's tokens the cache holds
     * @param newTokens holds the new tokens at {@code [from, from + count)}
     * @param wantsLogits whether to compute logits after the sequence's last new token (it will sample)
     * @return the sequence's index in this batch
     */
    public int add(int[] blockTable, int startPosition, int[] newTokens, int from, int count, boolean wantsLogits) {
        if (count < 1) {
            throw new IllegalArgumentException("a sequence must advance by at least one token, got " + count);
        }
        if (startPosition < 0) {
            throw new IllegalArgumentException("startPosition must be >= 0, got " + startPosition);
        }
        if (sequenceTotal == maxSequences || tokenTotal + count > maxTokens) {
            throw new IllegalStateException("the batch holds at most " + maxSequences + " sequences and " + maxTokens
                    + " tokens; it has " + sequenceTotal + " and " + tokenTotal + ", adding " + count);
        }
        int s = sequenceTotal++;
        firstToken[s] = tokenTotal;
        tokenCount[s] = count;
        this.startPosition[s] = startPosition;
        blockTables[s] = blockTable;
        logitsRow[s] = wantsLogits ? logitRows++ : -1;
        for (int i = 0; i < count; i++) {
            tokens[tokenTotal] = newTokens[from + i];
            positions[tokenTotal] = startPosition + i;
            sequenceOf[tokenTotal] = s;
            tokenTotal++;
        }
        return s;
    }

    public int maxTokens() {
        return maxTokens;
    }

    public int maxSequences() {
        return maxSequences;
    }

    /** Tokens in the batch, over all sequences. */
    public int tokenCount() {
        return tokenTotal;
    }

    /** Sequences in the batch. */
    public int sequenceCount() {
        return sequenceTotal;
    }

    /** How many rows of logits the step returns: one per sequence that asked. */
    public int logitRows() {
        return logitRows;
    }

    /** The row of sequence {@code s}'s logits, or -1 when it did not ask for them. */
    public int logitsRow(int s) {
        return logitsRow[s];
    }

    int[] tokens() {
        return tokens;
    }

    int[] positions() {
        return positions;
    }

    int[] sequenceOf() {
        return sequenceOf;
    }

    int firstToken(int s) {
        return firstToken[s];
    }

    int tokenCount(int s) {
        return tokenCount[s];
    }

    int startPosition(int s) {
        return startPosition[s];
    }

    int[] blockTable(int s) {
        return blockTables[s];
    }
}
