package dev.spindle.generate;

import dev.spindle.model.ForwardBatch;
import dev.spindle.model.ForwardPass;
import dev.spindle.sampling.Sampler;
import dev.spindle.sampling.SamplingParams;
import dev.spindle.sampling.SamplingState;
import dev.spindle.sampling.TokenLogprobs;

/**
 * A simple generation loop for one request at a time, as the command line uses it: prefill the prompt in chunks,
 * then decode the request's {@code n} samples together, one token each per step, until each stops. The real
 * scheduler (continuous batching over many requests) is a separate component.
 *
 * <p>The {@code n} samples share the prompt's computation: the prompt is prefilled once, every sample draws its first
 * token from the same logits, and samples after the first share the prompt's full KV blocks; only the tail of the
 * prompt that shares a block with generated tokens is recomputed, in each sample's own block, together with its first
 * decode step.
 */
public final class Generator {
    /** Receives tokens as they are produced. */
    public interface TokenSink {
        /**
         * Sample {@code sample} produced {@code token}.
         *
         * @param logprobs the token's log-probabilities when asked for, else null; overwritten after the call
         */
        void accept(int sample, int token, TokenLogprobs logprobs);
    }

    /** Why a sample stopped. */
    public enum FinishReason {
        /** It produced an end-of-generation token (which the sink received). */
        STOP,
        /** It reached {@code maxTokens}. */
        LENGTH,
        /** It filled the KV cache available to it. */
        CONTEXT
    }

    /**
     * What a request produced, with timings.
     *
     * @param tokens each sample's generated tokens
     * @param finishReasons why each sample stopped
     * @param promptTokens tokens in the prompt
     * @param prefillNanos time from the start to the first sampled token
     * @param decodeNanos time of the decode steps after the first token
     */
    public record Result(
            int[][] tokens, FinishReason[] finishReasons, int promptTokens, long prefillNanos, long decodeNanos) {

        /** Tokens generated over all samples, after the first of each (those the decode steps produced). */
        public int decodedTokens() {
            int sum = 0;
            for (int[] t : tokens) {
                sum += Math.max(0, t.length - 1);
            }
            return sum;
        }
    }

    private final ForwardPass forward;
    private final Sampler sampler;
    private final ForwardBatch batch;
    private final int chunkSize;
    private final int blockSize;
    private final int totalBlocks;
    private final int[] stopTokens;

    /**
     * @param forward the forward pass, owning a KV cache of {@code totalBlocks} blocks of {@code blockSize} tokens
     * @param chunkSize prompt tokens per prefill step (also the largest batch)
     * @param maxSamples the largest {@code n}
     * @param stopTokens tokens that end a sample (EOS, end of turn), unless the request ignores them
     */
    public Generator(
            ForwardPass forward, int chunkSize, int maxSamples, int blockSize, int totalBlocks, int[] stopTokens) {
        this.forward = forward;
        this.sampler = new Sampler(forward.config().vocabSize());
        this.chunkSize = chunkSize;
        this.blockSize = blockSize;
        this.totalBlocks = totalBlocks;
        this.stopTokens = stopTokens.clone();
        this.batch = new ForwardBatch(Math.max(chunkSize, maxSamples * (blockSize + 1)), maxSamples);
    }

    /**
     * Generates {@code params.n()} samples after {@code prompt}, streaming each token to {@code sink}.
     *
     * @throws IllegalArgumentException if the prompt is empty or does not fit the cache
     */
    public Result generate(int[] prompt, SamplingParams params, TokenSink sink) {
        int n = params.n();
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty");
        }
        if (n > batch.maxSequences()) {
            throw new IllegalArgumentException("n must be <= " + batch.maxSequences() + ", got " + n);
        }
        sampler.checkFits(params);
        int vocab = forward.config().vocabSize();
        int promptFullBlocks = prompt.length / blockSize;
        // each sample owns its blocks after the prompt's full blocks; sample 0 also owns those
        int ownBlocks = (totalBlocks - promptFullBlocks) / n;
        int capacity = Math.min(forward.config().contextLength(), (promptFullBlocks + ownBlocks) * blockSize);
        if (ownBlocks < 1 || prompt.length > capacity) {
            throw new IllegalArgumentException("the prompt of " + prompt.length + " tokens does not fit a cache of "
                    + totalBlocks + " blocks of " + blockSize + " for " + n + " samples");
        }
        int[][] tables = new int[n][promptFullBlocks + ownBlocks];
        for (int s = 0; s < n; s++) {
            for (int b = 0; b < tables[s].length; b++) {
                tables[s][b] = b < promptFullBlocks ? b : promptFullBlocks + s * ownBlocks + (b - promptFullBlocks);
            }
        }
        SamplingState[] states = new SamplingState[n];
        TokenLogprobs[] logprobs = new TokenLogprobs[n];
        for (int s = 0; s < n; s++) {
            states[s] = SamplingState.start(params, s, prompt);
            logprobs[s] = params.logprobs() ? new TokenLogprobs() : null;
        }
        int maxTokens = params.maxTokens();
        int[][] generated = new int[n][maxTokens];
        int[] counts = new int[n];
        FinishReason[] finish = new FinishReason[n];

        long start = System.nanoTime();
        // prefill: the whole prompt in sample 0's table, chunk by chunk
        int row = -1;
        float[] logits = null;
        for (int done = 0; done < prompt.length; ) {
            int count = Math.min(chunkSize, prompt.length - done);
            boolean last = done + count == prompt.length;
            batch.clear();
            int seq = batch.add(tables[0], done, prompt, done, count, last);
            logits = forward.forward(batch);
            row = batch.logitsRow(seq);
            done += count;
        }
        for (int s = 0; s < n; s++) {
            int token = sampler.sample(logits, row * vocab, states[s], logprobs[s]);
            generated[s][counts[s]++] = token;
            sink.accept(s, token, logprobs[s]);
            finish[s] = finished(token, counts[s], prompt.length + counts[s], params, capacity);
        }
        long firstToken = System.nanoTime();

        // decode: every unfinished sample advances by one token per step
        int tail = prompt.length - promptFullBlocks * blockSize; // prompt tokens in the block shared with outputs
        int[] seqOfSample = new int[n];
        int[] input = new int[blockSize + 1];
        boolean[] tailDone = new boolean[n];
        tailDone[0] = true;
        while (true) {
            batch.clear();
            boolean any = false;
            for (int s = 0; s < n; s++) {
                seqOfSample[s] = -1;
                if (finish[s] != null) {
                    continue;
                }
                int last = generated[s][counts[s] - 1];
                int position = prompt.length + counts[s] - 1;
                if (tailDone[s]) {
                    input[0] = last;
                    seqOfSample[s] = batch.add(tables[s], position, input, 0, 1, true);
                } else {
                    // the prompt's tail goes into this sample's own block first
                    System.arraycopy(prompt, promptFullBlocks * blockSize, input, 0, tail);
                    input[tail] = last;
                    seqOfSample[s] = batch.add(tables[s], promptFullBlocks * blockSize, input, 0, tail + 1, true);
                    tailDone[s] = true;
                }
                any = true;
            }
            if (!any) {
                break;
            }
            logits = forward.forward(batch);
            for (int s = 0; s < n; s++) {
                if (seqOfSample[s] < 0) {
                    continue;
                }
                int token = sampler.sample(logits, batch.logitsRow(seqOfSample[s]) * vocab, states[s], logprobs[s]);
                generated[s][counts[s]++] = token;
                sink.accept(s, token, logprobs[s]);
                finish[s] = finished(token, counts[s], prompt.length + counts[s], params, capacity);
            }
        }
        long end = System.nanoTime();
        int[][] tokens = new int[n][];
        for (int s = 0; s < n; s++) {
            tokens[s] = java.util.Arrays.copyOf(generated[s], counts[s]);
        }
        return new Result(tokens, finish, prompt.length, firstToken - start, end - firstToken);
    }

    /** Why a sample that just produced {@code token} stops, or null if it goes on. */
    private FinishReason finished(int token, int count, int length, SamplingParams params, int capacity) {
        if (!params.ignoreEos()) {
            for (int stop : stopTokens) {
                if (token == stop) {
                    return FinishReason.STOP;
                }
            }
        }
        if (count >= params.maxTokens()) {
            return FinishReason.LENGTH;
        }
        if (length > capacity) { // the next step would write position length - 1
            return FinishReason.CONTEXT;
        }
        return null;
    }
}
