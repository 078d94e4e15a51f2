package dev.spindle.bench.model;

import java.util.SplittableRandom;

/**
 * What both engines run, token for token: one long prompt for prompt processing, and short prompts after which one
 * sequence, then {@code sequences} sequences together, decode {@code decodeTokens} tokens each.
 */
record Workload(int promptTokens, int decodeTokens, int sequences, int shortPrompt, int vocabSize) {

    /** The long prompt: BOS-free random ids away from the special tokens at the start of most vocabularies. */
    int[] longPrompt() {
        return tokens(1, promptTokens);
    }

    /** Sequence {@code s}'s short prompt. */
    int[] shortPrompt(int s) {
        return tokens(100 + s, shortPrompt);
    }

    private int[] tokens(long seed, int length) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            t[i] = random.nextInt(Math.min(vocabSize / 2, 1000), vocabSize);
        }
        return t;
    }

    /** Arguments for a child process. */
    String[] toArgs() {
        return new String[] {
            String.valueOf(promptTokens),
            String.valueOf(decodeTokens),
            String.valueOf(sequences),
            String.valueOf(shortPrompt),
            String.valueOf(vocabSize)
        };
    }

    static Workload fromArgs(String[] a, int from) {
        return new Workload(
                Integer.parseInt(a[from]),
                Integer.parseInt(a[from + 1]),
                Integer.parseInt(a[from + 2]),
                Integer.parseInt(a[from + 3]),
                Integer.parseInt(a[from + 4]));
    }
}
