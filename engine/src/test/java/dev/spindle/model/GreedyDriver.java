package dev.spindle.model;

/**
 * Drives a {@link ForwardPass} the way a scheduler would, for tests: several sequences in one batch per step, each
 * prefilling its prompt in chunks of a given size and then decoding greedily one token per step.
 */
final class GreedyDriver {
    private final ForwardPass forward;
    private final ForwardBatch batch;
    private final int blocksPerSequence;
    private int banned = -1;
    private long[] checksums = new long[0];

    GreedyDriver(ForwardPass forward, int maxBatchTokens, int maxSequences, int blocksPerSequence) {
        this.forward = forward;
        this.batch = new ForwardBatch(maxBatchTokens, maxSequences);
        this.blocksPerSequence = blocksPerSequence;
    }

    /** Never chooses {@code token}: llama.cpp's {@code ignore_eos} bans the EOS token this way. */
    GreedyDriver banning(int token) {
        banned = token;
        return this;
    }

    /**
     * Generates {@code steps} greedy tokens after each prompt, all sequences sharing every step.
     *
     * @param chunks the prefill chunk size of each sequence
     * @return the generated tokens of each sequence
     */
    int[][] run(int[][] prompts, int[] chunks, int steps) {
        int n = prompts.length;
        int vocab = forward.config().vocabSize();
        int[][] tables = new int[n][blocksPerSequence];
        for (int s = 0; s < n; s++) {
            for (int b = 0; b < blocksPerSequence; b++) {
                // interleave the sequences' blocks, backwards, so that no table is the identity
                tables[s][b] = (blocksPerSequence - 1 - b) * n + s;
            }
        }
        int[][] out = new int[n][steps];
        checksums = new long[n];
        int[] done = new int[n]; // prompt tokens cached so far
        int[] generated = new int[n];
        int[] seqIndex = new int[n];
        int[] last = new int[1];
        while (true) {
            batch.clear();
            boolean any = false;
            for (int s = 0; s < n; s++) {
                seqIndex[s] = -1;
                if (done[s] < prompts[s].length) {
                    int count = Math.min(chunks[s], prompts[s].length - done[s]);
                    boolean finishes = done[s] + count == prompts[s].length;
                    seqIndex[s] = batch.add(tables[s], done[s], prompts[s], done[s], count, finishes);
                    done[s] += count;
                    any = true;
                } else if (generated[s] < steps) {
                    last[0] = out[s][generated[s] - 1];
                    seqIndex[s] = batch.add(tables[s], prompts[s].length + generated[s] - 1, last, 0, 1, true);
                    any = true;
                }
            }
            if (!any) {
                return out;
            }
            float[] logits = forward.forward(batch);
            for (int s = 0; s < n; s++) {
                if (seqIndex[s] >= 0 && batch.logitsRow(seqIndex[s]) >= 0 && generated[s] < steps) {
                    int row = batch.logitsRow(seqIndex[s]);
                    out[s][generated[s]++] = argMax(logits, row * vocab, vocab, banned);
                    for (int i = 0; i < vocab; i++) {
                        checksums[s] = checksums[s] * 31 + Float.floatToRawIntBits(logits[row * vocab + i]);
                    }
                }
            }
        }
    }

    /**
     * For each sequence of the last {@link #run}, a hash of the bits of every logit it was given: equal hashes mean
     * (but for a collision) bit-identical logits at every step.
     */
    long[] checksums() {
        return checksums.clone();
    }

    static int argMax(float[] values, int offset, int length) {
        return argMax(values, offset, length, -1);
    }

    /** The index of the largest value, the lowest on a tie, never {@code banned}. */
    static int argMax(float[] values, int offset, int length, int banned) {
        int best = banned == 0 ? 1 : 0;
        for (int i = best + 1; i < length; i++) {
            if (i != banned && values[offset + i] > values[offset + best]) {
                best = i;
            }
        }
        return best;
    }
}
