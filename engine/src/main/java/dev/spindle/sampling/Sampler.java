package dev.spindle.sampling;

/**
 * Turns one row of logits into a token, following a sequence's {@link SamplingParams} (see there for the order of
 * the steps). Owns scratch arrays sized for the vocabulary, so a step allocates nothing; one sampler serves every
 * sequence of an engine, one at a time (it is not thread-safe).
 */
public final class Sampler {
    private final int vocabSize;
    private final float[] work; // [vocabSize] the logits being processed
    private final int[] candidates; // [vocabSize] token ids, most probable first once sorted
    private final float[] weights; // [vocabSize] unnormalised probabilities of candidates, same order

    public Sampler(int vocabSize) {
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize must be >= 1, got " + vocabSize);
        }
        this.vocabSize = vocabSize;
        this.work = new float[vocabSize];
        this.candidates = new int[vocabSize];
        this.weights = new float[vocabSize];
    }

    public int vocabSize() {
        return vocabSize;
    }

    /**
     * Checks that {@code params} fit this vocabulary: every biased token must be a token of it.
     *
     * @throws IllegalArgumentException naming {@code logitBias} otherwise
     */
    public void checkFits(SamplingParams params) {
        int max = params.logitBias().maxToken();
        if (max >= vocabSize) {
            throw new IllegalArgumentException(
                    "logitBias token id " + max + " is outside the vocabulary of " + vocabSize + " tokens");
        }
    }

    /**
     * Chooses the next token of a sequence and records it in the sequence's state.
     *
     * @param logits holds the sequence's logits at {@code [offset, offset + vocabSize)}; left unchanged
     * @param logprobs receives the log-probabilities when the parameters ask for them; may be null otherwise
     * @return the chosen token id
     */
    public int sample(float[] logits, int offset, SamplingState state, TokenLogprobs logprobs) {
        SamplingParams params = state.params();
        System.arraycopy(logits, offset, work, 0, vocabSize);
        applyLogitBias(params.logitBias());
        if (state.history() != null) {
            applyPenalties(params, state.history());
        }
        int token = params.isGreedy() ? argMax(work) : draw(params, state);
        if (params.logprobs()) {
            if (logprobs == null) {
                throw new IllegalArgumentException("logprobs are asked for but no TokenLogprobs was given");
            }
            fillLogprobs(logits, offset, token, params.topLogprobs(), logprobs);
        }
        state.recordOutput(token);
        return token;
    }

    private void applyLogitBias(SamplingParams.LogitBias bias) {
        for (int i = 0; i < bias.size(); i++) {
            work[bias.token(i)] += bias.bias(i);
        }
    }

    private void applyPenalties(SamplingParams params, TokenHistory history) {
        float repetition = params.repetitionPenalty();
        float presence = params.presencePenalty();
        float frequency = params.frequencyPenalty();
        for (int slot = 0; slot < history.capacity(); slot++) {
            int token = history.tokenAt(slot);
            if (token < 0 || token >= vocabSize) {
                continue;
            }
            int count = history.outputCountAt(slot);
            if (repetition != 1 && (count > 0 || history.inPromptAt(slot))) {
                float l = work[token];
                work[token] = l > 0 ? l / repetition : l * repetition;
            }
            if (count > 0) {
                work[token] -= frequency * count + presence;
            }
        }
    }

    /** The index of the largest value; the lowest index on a tie. */
    private static int argMax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    private int draw(SamplingParams params, SamplingState state) {
        float temperature = params.temperature();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) {
            work[i] /= temperature;
            max = Math.max(max, work[i]);
        }
        boolean truncates = params.topK() > 0 || params.topP() < 1 || params.minP() > 0;
        if (!truncates) {
            return drawFromAll(max, state);
        }
        int count;
        double total;
        if (params.topK() > 0 && params.topK() < vocabSize) {
            count = selectTop(work, params.topK(), candidates);
            total = 0;
            for (int i = 0; i < count; i++) {
                weights[i] = (float) Math.exp(work[candidates[i]] - max);
                total += weights[i];
            }
        } else {
            total = 0;
            for (int i = 0; i < vocabSize; i++) {
                total += Math.exp(work[i] - max);
            }
            // Tokens below both floors cannot be kept: under the nucleus floor (1 - p) / (V - 1) of the mass,
            // all such tokens together weigh less than 1 - p, so the smallest prefix reaching p never needs them.
            double nucleusFloor = params.topP() < 1 ? total * (1 - params.topP()) / Math.max(1, vocabSize - 1) : 0;
            double minPFloor = params.minP(); // the top token has weight exp(0) = 1
            double logFloor = Math.log(Math.min(1, Math.max(nucleusFloor, minPFloor)));
            count = 0;
            for (int i = 0; i < vocabSize; i++) {
                if (work[i] - max >= logFloor) {
                    candidates[count++] = i;
                }
            }
            sortDescending(work, candidates, count);
            for (int i = 0; i < count; i++) {
                weights[i] = (float) Math.exp(work[candidates[i]] - max);
            }
        }
        // top-p: the shortest prefix whose share of the (top-k) mass reaches p
        if (params.topP() < 1) {
            double target = params.topP() * total;
            double cumulative = 0;
            for (int i = 0; i < count; i++) {
                cumulative += weights[i];
                if (cumulative >= target) {
                    count = i + 1;
                    break;
                }
            }
        }
        // min-p: at least minP times the most probable token's probability
        if (params.minP() > 0) {
            float floor = params.minP() * weights[0];
            int kept = 1;
            while (kept < count && weights[kept] >= floor) {
                kept++;
            }
            count = kept;
        }
        double kept = 0;
        for (int i = 0; i < count; i++) {
            kept += weights[i];
        }
        double u = state.nextUniform() * kept;
        double cumulative = 0;
        for (int i = 0; i < count; i++) {
            cumulative += weights[i];
            if (u < cumulative) {
                return candidates[i];
            }
        }
        return candidates[count - 1]; // u rounded up to the total
    }

    private int drawFromAll(float max, SamplingState state) {
        double total = 0;
        for (int i = 0; i < vocabSize; i++) {
            float w = (float) Math.exp(work[i] - max);
            work[i] = w;
            total += w;
        }
        double u = state.nextUniform() * total;
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (work[i] > 0) {
                cumulative += work[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last;
    }

    private void fillLogprobs(float[] logits, int offset, int token, int top, TokenLogprobs out) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        double logNormaliser = max + Math.log(sum);
        out.setChosen(token, (float) (logits[offset + token] - logNormaliser));
        if (top > 0) {
            System.arraycopy(logits, offset, work, 0, vocabSize);
            int count = selectTop(work, Math.min(top, vocabSize), candidates);
            for (int i = 0; i < count; i++) {
                out.topTokensArray()[i] = candidates[i];
                out.topLogprobsArray()[i] = (float) (work[candidates[i]] - logNormaliser);
            }
            out.setTop(count);
        } else {
            out.setTop(0);
        }
    }

    // ---- selection and sorting of token ids by value, allocation-free ----

    /** Whether token {@code a} ranks before token {@code b}: larger value first, then lower id. */
    private static boolean before(float[] values, int a, int b) {
        return values[a] > values[b] || (values[a] == values[b] && a < b);
    }

    /**
     * Puts the {@code k} highest-ranked token ids into {@code out[0, k)}, best first, with a bounded min-heap.
     *
     * @return {@code k}
     */
    static int selectTop(float[] values, int k, int[] out) {
        // out[0, k) is a heap whose root is the worst of the kept tokens
        for (int i = 0; i < k; i++) {
            out[i] = i;
            siftUpWorst(values, out, i);
        }
        for (int i = k; i < values.length; i++) {
            if (before(values, i, out[0])) {
                out[0] = i;
                siftDownWorst(values, out, 0, k);
            }
        }
        // repeatedly move the worst to the end: the array ends best first
        for (int end = k - 1; end > 0; end--) {
            int worst = out[0];
            out[0] = out[end];
            out[end] = worst;
            siftDownWorst(values, out, 0, end);
        }
        return k;
    }

    /** Sorts {@code ids[0, count)} best first (heap sort: no allocation, no recursion). */
    static void sortDescending(float[] values, int[] ids, int count) {
        for (int i = 1; i < count; i++) {
            siftUpWorst(values, ids, i);
        }
        for (int end = count - 1; end > 0; end--) {
            int worst = ids[0];
            ids[0] = ids[end];
            ids[end] = worst;
            siftDownWorst(values, ids, 0, end);
        }
    }

    private static void siftUpWorst(float[] values, int[] heap, int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (before(values, heap[parent], heap[i])) {
                int t = heap[parent];
                heap[parent] = heap[i];
                heap[i] = t;
                i = parent;
            } else {
                return;
            }
        }
    }

    private static void siftDownWorst(float[] values, int[] heap, int i, int size) {
        while (true) {
            int left = 2 * i + 1;
            if (left >= size) {
                return;
            }
            int worse = left;
            int right = left + 1;
            if (right < size && before(values, heap[left], heap[right])) {
                worse = right;
            }
            if (before(values, heap[i], heap[worse])) {
                int t = heap[i];
                heap[i] = heap[worse];
                heap[worse] = t;
                i = worse;
            } else {
                return;
            }
        }
    }
}
