package dev.spindle.sampling;

import java.util.Arrays;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * How one request turns logits into tokens: an immutable value, validated on construction.
 *
 * <p>The steps are applied in this order (the order vLLM uses), each one only when it is switched on:
 *
 * <ol>
 *   <li>{@code logitBias}: a constant added to chosen tokens' logits;
 *   <li>{@code repetitionPenalty}: every token seen in the prompt or the output has a positive logit divided by the
 *       penalty and a negative one multiplied by it;
 *   <li>{@code frequencyPenalty} and {@code presencePenalty}: subtracted once per occurrence, or once, of a token in
 *       the output so far;
 *   <li>{@code temperature}: zero (or below {@link #MIN_TEMPERATURE}) means greedy (the arg-max of the penalised logits, the lowest id on a tie); otherwise
 *       logits are divided by it before the softmax;
 *   <li>{@code topK}: only the k most probable tokens stay;
 *   <li>{@code topP}: only the smallest set of most probable tokens whose probability reaches p stays;
 *   <li>{@code minP}: only tokens whose probability is at least {@code minP} times the most probable token's stay;
 *   <li>one token is drawn from what is left, with the request's own random stream.
 * </ol>
 *
 * <p>Log-probabilities, when asked, are those of the model itself: the log-softmax of the raw logits, before any of
 * the steps above (as vLLM reports them by default).
 *
 * @param temperature softmax temperature, {@code >= 0}; {@code 0} is greedy
 * @param topK how many most probable tokens to keep, {@code >= 0}; {@code 0} keeps all
 * @param topP nucleus mass, in {@code (0, 1]}; {@code 1} keeps all
 * @param minP relative probability floor, in {@code [0, 1]}; {@code 0} keeps all
 * @param repetitionPenalty {@code > 0}; {@code 1} is off
 * @param presencePenalty in {@code [-2, 2]}; {@code 0} is off
 * @param frequencyPenalty in {@code [-2, 2]}; {@code 0} is off
 * @param logitBias token id to bias in {@code [-100, 100]}
 * @param seed the seed of the request's random stream; empty draws a fresh one per request
 * @param n how many independent samples (completions) the request wants, {@code >= 1}
 * @param maxTokens how many tokens each sample may generate at most, {@code >= 1}
 * @param ignoreEos whether generation goes on past the end-of-sequence token
 * @param logprobs whether each chosen token's log-probability is reported
 * @param topLogprobs how many most probable alternatives are reported with it, in {@code [0, 20]}; needs
 *     {@code logprobs}
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        LogitBias logitBias,
        OptionalLong seed,
        int n,
        int maxTokens,
        boolean ignoreEos,
        boolean logprobs,
        int topLogprobs) {

    /** The largest {@link #topLogprobs} accepted. */
    public static final int MAX_TOP_LOGPROBS = 20;

    public SamplingParams {
        check(Float.isFinite(temperature) && temperature >= 0, "temperature", temperature, "must be >= 0");
        check(topK >= 0, "topK", topK, "must be >= 0 (0 keeps every token)");
        check(topP > 0 && topP <= 1, "topP", topP, "must be in (0, 1]");
        check(minP >= 0 && minP <= 1, "minP", minP, "must be in [0, 1]");
        check(
                Float.isFinite(repetitionPenalty) && repetitionPenalty > 0,
                "repetitionPenalty",
                repetitionPenalty,
                "must be > 0 (1 is off)");
        check(presencePenalty >= -2 && presencePenalty <= 2, "presencePenalty", presencePenalty, "must be in [-2, 2]");
        check(
                frequencyPenalty >= -2 && frequencyPenalty <= 2,
                "frequencyPenalty",
                frequencyPenalty,
                "must be in [-2, 2]");
        if (logitBias == null) {
            throw new IllegalArgumentException("logitBias must not be null (use LogitBias.NONE)");
        }
        if (seed == null) {
            throw new IllegalArgumentException("seed must not be null (use OptionalLong.empty())");
        }
        check(n >= 1, "n", n, "must be >= 1");
        check(maxTokens >= 1, "maxTokens", maxTokens, "must be >= 1");
        check(
                topLogprobs >= 0 && topLogprobs <= MAX_TOP_LOGPROBS,
                "topLogprobs",
                topLogprobs,
                "must be in [0, " + MAX_TOP_LOGPROBS + "]");
        check(logprobs || topLogprobs == 0, "topLogprobs", topLogprobs, "needs logprobs to be on");
    }

    private static void check(boolean ok, String field, Object value, String rule) {
        if (!ok) {
            throw new IllegalArgumentException(field + " " + rule + ", got " + value);
        }
    }

    /** Greedy decoding of at most {@code maxTokens} tokens, nothing else switched on. */
    public static SamplingParams greedy(int maxTokens) {
        return builder().temperature(0).maxTokens(maxTokens).build();
    }

    /** A builder starting from the defaults: temperature 1, every filter and penalty off, 16 tokens, n = 1. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this value. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.temperature = temperature;
        b.topK = topK;
        b.topP = topP;
        b.minP = minP;
        b.repetitionPenalty = repetitionPenalty;
        b.presencePenalty = presencePenalty;
        b.frequencyPenalty = frequencyPenalty;
        b.logitBias = logitBias;
        b.seed = seed;
        b.n = n;
        b.maxTokens = maxTokens;
        b.ignoreEos = ignoreEos;
        b.logprobs = logprobs;
        b.topLogprobs = topLogprobs;
        return b;
    }

    /** Temperatures below this are treated as zero (greedy): dividing by them would overflow the logits. */
    public static final float MIN_TEMPERATURE = 1e-5f;

    /** Whether the choice is the arg-max, with no randomness: temperature 0 (or below {@link #MIN_TEMPERATURE}). */
    public boolean isGreedy() {
        return temperature < MIN_TEMPERATURE;
    }

    /** Whether any of the three penalties is on; they need the tokens seen so far. */
    public boolean hasPenalties() {
        return repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0;
    }

    /** Builds {@link SamplingParams}; validation happens in {@link #build()}. */
    public static final class Builder {
        private float temperature = 1;
        private int topK = 0;
        private float topP = 1;
        private float minP = 0;
        private float repetitionPenalty = 1;
        private float presencePenalty = 0;
        private float frequencyPenalty = 0;
        private LogitBias logitBias = LogitBias.NONE;
        private OptionalLong seed = OptionalLong.empty();
        private int n = 1;
        private int maxTokens = 16;
        private boolean ignoreEos = false;
        private boolean logprobs = false;
        private int topLogprobs = 0;

        private Builder() {}

        public Builder temperature(float value) {
            temperature = value;
            return this;
        }

        public Builder topK(int value) {
            topK = value;
            return this;
        }

        public Builder topP(float value) {
            topP = value;
            return this;
        }

        public Builder minP(float value) {
            minP = value;
            return this;
        }

        public Builder repetitionPenalty(float value) {
            repetitionPenalty = value;
            return this;
        }

        public Builder presencePenalty(float value) {
            presencePenalty = value;
            return this;
        }

        public Builder frequencyPenalty(float value) {
            frequencyPenalty = value;
            return this;
        }

        public Builder logitBias(LogitBias value) {
            logitBias = value;
            return this;
        }

        public Builder logitBias(Map<Integer, Float> value) {
            logitBias = LogitBias.of(value);
            return this;
        }

        public Builder seed(long value) {
            seed = OptionalLong.of(value);
            return this;
        }

        public Builder seed(OptionalLong value) {
            seed = value;
            return this;
        }

        public Builder n(int value) {
            n = value;
            return this;
        }

        public Builder maxTokens(int value) {
            maxTokens = value;
            return this;
        }

        public Builder ignoreEos(boolean value) {
            ignoreEos = value;
            return this;
        }

        public Builder logprobs(boolean value) {
            logprobs = value;
            return this;
        }

        /** Turns log-probabilities on and asks for {@code alternatives} most probable alternatives with each. */
        public Builder topLogprobs(int alternatives) {
            logprobs = true;
            topLogprobs = alternatives;
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(
                    temperature,
                    topK,
                    topP,
                    minP,
                    repetitionPenalty,
                    presencePenalty,
                    frequencyPenalty,
                    logitBias,
                    seed,
                    n,
                    maxTokens,
                    ignoreEos,
                    logprobs,
                    topLogprobs);
        }
    }

    /**
     * Additive logit biases, as parallel primitive arrays sorted by token id so that applying them allocates nothing.
     */
    public static final class LogitBias {
        /** No bias at all. */
        public static final LogitBias NONE = new LogitBias(new int[0], new float[0]);

        private final int[] tokens; // [count], ascending
        private final float[] biases; // [count]

        private LogitBias(int[] tokens, float[] biases) {
            this.tokens = tokens;
            this.biases = biases;
        }

        /**
         * Biases from a map of token id to bias.
         *
         * @throws IllegalArgumentException naming {@code logitBias} when an id is negative or a bias is outside
         *     {@code [-100, 100]}
         */
        public static LogitBias of(Map<Integer, Float> bias) {
            if (bias.isEmpty()) {
                return NONE;
            }
            TreeMap<Integer, Float> sorted = new TreeMap<>(bias);
            int[] tokens = new int[sorted.size()];
            float[] biases = new float[sorted.size()];
            int i = 0;
            for (Map.Entry<Integer, Float> e : sorted.entrySet()) {
                int token = e.getKey();
                float value = e.getValue();
                if (token < 0) {
                    throw new IllegalArgumentException("logitBias token id must be >= 0, got " + token);
                }
                if (!(value >= -100 && value <= 100)) {
                    throw new IllegalArgumentException(
                            "logitBias for token " + token + " must be in [-100, 100], got " + value);
                }
                tokens[i] = token;
                biases[i] = value;
                i++;
            }
            return new LogitBias(tokens, biases);
        }

        /** How many tokens are biased. */
        public int size() {
            return tokens.length;
        }

        /** The {@code i}-th biased token id, ascending. */
        public int token(int i) {
            return tokens[i];
        }

        /** The bias of the {@code i}-th biased token. */
        public float bias(int i) {
            return biases[i];
        }

        /** The largest biased token id, or -1 when there is none. */
        public int maxToken() {
            return tokens.length == 0 ? -1 : tokens[tokens.length - 1];
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof LogitBias other
                    && Arrays.equals(tokens, other.tokens)
                    && Arrays.equals(biases, other.biases);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(tokens) + Arrays.hashCode(biases);
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("{");
            for (int i = 0; i < tokens.length; i++) {
                s.append(i == 0 ? "" : ", ").append(tokens[i]).append('=').append(biases[i]);
            }
            return s.append('}').toString();
        }
    }
}
