package dev.spindle.sampling;

import java.util.concurrent.ThreadLocalRandom;

/**
 * One sample's (one sequence's) sampling state: its parameters, its own random stream and, when penalties are on,
 * the tokens it has seen. Lives with the sequence, apart from the {@link Sampler}'s shared scratch.
 */
public final class SamplingState {
    private final SamplingParams params;
    private final TokenHistory history; // null when no penalty is on
    private long rng; // SplitMix64 state

    private SamplingState(SamplingParams params, long seed, int[] promptTokens) {
        this.params = params;
        this.rng = seed;
        if (params.hasPenalties()) {
            history = new TokenHistory(promptTokens.length + params.maxTokens());
            for (int token : promptTokens) {
                history.addPrompt(token);
            }
        } else {
            history = null;
        }
    }

    /**
     * The state of sample {@code sampleIndex} (in {@code [0, n)}) of a request. With a seed, sample {@code i} of two
     * requests with equal parameters and prompts draws the same stream; the samples of one request draw different
     * streams. Without a seed every state draws a fresh one.
     *
     * @param promptTokens the prompt, which the repetition penalty counts as seen
     */
    public static SamplingState start(SamplingParams params, int sampleIndex, int[] promptTokens) {
        if (sampleIndex < 0 || sampleIndex >= params.n()) {
            throw new IllegalArgumentException("sampleIndex must be in [0, " + params.n() + "), got " + sampleIndex);
        }
        long seed = params.seed().isPresent()
                ? params.seed().getAsLong() + 0x9E3779B97F4A7C15L * (sampleIndex + 1)
                : ThreadLocalRandom.current().nextLong();
        return new SamplingState(params, seed, promptTokens);
    }

    public SamplingParams params() {
        return params;
    }

    /** The number of times {@code token} was generated so far (counted only when a penalty is on). */
    public int outputCount(int token) {
        return history == null ? 0 : history.outputCount(token);
    }

    TokenHistory history() {
        return history;
    }

    void recordOutput(int token) {
        if (history != null) {
            history.addOutput(token);
        }
    }

    /** The next uniform double in {@code [0, 1)} of this state's stream (SplitMix64). */
    double nextUniform() {
        rng += 0x9E3779B97F4A7C15L;
        long z = rng;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
