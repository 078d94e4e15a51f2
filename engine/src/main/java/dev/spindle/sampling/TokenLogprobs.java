package dev.spindle.sampling;

/**
 * A reusable holder for one step's log-probabilities: the chosen token's and those of the most probable
 * alternatives, most probable first. The {@link Sampler} overwrites it on each step, so a caller copies what it keeps.
 */
public final class TokenLogprobs {
    private final int[] topTokens = new int[SamplingParams.MAX_TOP_LOGPROBS]; // [topCount]
    private final float[] topLogprobs = new float[SamplingParams.MAX_TOP_LOGPROBS]; // [topCount]
    private int token = -1;
    private float logprob;
    private int topCount;

    /** The chosen token. */
    public int token() {
        return token;
    }

    /** The chosen token's log-probability under the model. */
    public float logprob() {
        return logprob;
    }

    /** How many alternatives are held. */
    public int topCount() {
        return topCount;
    }

    /** The {@code i}-th most probable token. */
    public int topToken(int i) {
        return topTokens[checked(i)];
    }

    /** The {@code i}-th most probable token's log-probability. */
    public float topLogprob(int i) {
        return topLogprobs[checked(i)];
    }

    private int checked(int i) {
        if (i < 0 || i >= topCount) {
            throw new IndexOutOfBoundsException(i + " of " + topCount);
        }
        return i;
    }

    void setChosen(int token, float logprob) {
        this.token = token;
        this.logprob = logprob;
    }

    void setTop(int count) {
        topCount = count;
    }

    int[] topTokensArray() {
        return topTokens;
    }

    float[] topLogprobsArray() {
        return topLogprobs;
    }
}
