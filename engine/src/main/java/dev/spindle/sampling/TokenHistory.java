package dev.spindle.sampling;

/**
 * The tokens a sequence has seen, for the penalties: whether each appeared in the prompt, and how often in the output.
 *
 * <p>An open-addressing hash map from token id to counts in primitive arrays, sized up front for the prompt plus
 * the request's token budget, so that recording a token allocates nothing.
 */
final class TokenHistory {
    private static final int EMPTY = -1;

    private int[] keys; // [capacity] token id or EMPTY
    private int[] outputCounts; // [capacity] occurrences in the output
    private boolean[] inPrompt; // [capacity]
    private int size;

    TokenHistory(int expectedDistinct) {
        int capacity = Integer.highestOneBit(Math.max(16, expectedDistinct) * 2 - 1) << 1;
        allocate(capacity);
    }

    private void allocate(int capacity) {
        keys = new int[capacity];
        java.util.Arrays.fill(keys, EMPTY);
        outputCounts = new int[capacity];
        inPrompt = new boolean[capacity];
        size = 0;
    }

    void addPrompt(int token) {
        inPrompt[slotFor(token)] = true;
    }

    void addOutput(int token) {
        outputCounts[slotFor(token)]++;
    }

    /** Slots in use, for iteration with {@link #tokenAt}, {@link #inPromptAt} and {@link #outputCountAt}. */
    int capacity() {
        return keys.length;
    }

    /** The token in slot {@code slot}, or -1 when the slot is empty. */
    int tokenAt(int slot) {
        return keys[slot];
    }

    boolean inPromptAt(int slot) {
        return inPrompt[slot];
    }

    int outputCountAt(int slot) {
        return outputCounts[slot];
    }

    int outputCount(int token) {
        int mask = keys.length - 1;
        for (int slot = mix(token) & mask; ; slot = (slot + 1) & mask) {
            if (keys[slot] == token) {
                return outputCounts[slot];
            }
            if (keys[slot] == EMPTY) {
                return 0;
            }
        }
    }

    private int slotFor(int token) {
        if (token < 0) {
            throw new IllegalArgumentException("token id must be >= 0, got " + token);
        }
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        int slot = mix(token) & mask;
        while (keys[slot] != EMPTY && keys[slot] != token) {
            slot = (slot + 1) & mask;
        }
        if (keys[slot] == EMPTY) {
            keys[slot] = token;
            size++;
        }
        return slot;
    }

    private void grow() {
        int[] oldKeys = keys;
        int[] oldCounts = outputCounts;
        boolean[] oldPrompt = inPrompt;
        allocate(oldKeys.length * 2);
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                int slot = slotFor(oldKeys[i]);
                outputCounts[slot] = oldCounts[i];
                inPrompt[slot] = oldPrompt[i];
            }
        }
    }

    private static int mix(int token) {
        int h = token * 0x9E3779B9;
        return h ^ (h >>> 16);
    }
}
