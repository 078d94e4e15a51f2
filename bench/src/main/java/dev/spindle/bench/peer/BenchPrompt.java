package dev.spindle.bench.peer;

import dev.spindle.tokenizer.Tokenizer;

/**
 * The prompts of the forward-pass benchmark, as token ids, so that Spindle and llama.cpp process exactly the same
 * tokens: the model's BOS (where its vocabulary adds one), then the ids of a passage of ordinary prose, repeated as
 * often as the length asks.
 */
public final class BenchPrompt {

    /** Ordinary prose, so that every tokenizer splits it into ordinary tokens. */
    static final String PASSAGE = "The river ran low that autumn, and the mill stood quiet for the first time in"
            + " forty years. Children walked along the dry stones where the water had been, picking up old coins,"
            + " buttons and the blue glass of bottles broken long before they were born. In the evenings the miller"
            + " sat at his door and counted the boats that no longer came.";

    private BenchPrompt() {}

    /**
     * A prompt of exactly {@code length} tokens.
     *
     * @param variant shifts where in the passage the prompt starts, so that sequences decoding together can have
     *     different prompts of the same length
     */
    public static int[] tokens(Tokenizer tokenizer, int length, int variant) {
        if (length < 1) {
            throw new IllegalArgumentException("a prompt needs at least one token");
        }
        int[] passage = tokenizer.encode(PASSAGE, false, false);
        int[] prompt = new int[length];
        int first = 0;
        if (tokenizer.addsBos() && tokenizer.bosId() >= 0) {
            prompt[0] = tokenizer.bosId();
            first = 1;
        }
        for (int i = first; i < length; i++) {
            prompt[i] = passage[(variant * 3 + i - first) % passage.length];
        }
        return prompt;
    }
}
