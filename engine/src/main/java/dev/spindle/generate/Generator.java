package dev.spindle.generate;

import dev.spindle.kvcache.KvCacheManager;
import dev.spindle.model.ForwardBatch;
import dev.spindle.model.ForwardPass;
import dev.spindle.sampling.Sampler;
import dev.spindle.sampling.SamplingParams;
import dev.spindle.sampling.SamplingState;
import dev.spindle.sampling.TokenLogprobs;
import java.util.Arrays;

/**
 * A simple generation loop for one request at a time, as the command line uses it: prefill the prompt in chunks,
 * then decode the request's {@code n} samples together, one token each per step, until each stops. The real
 * scheduler (continuous batching over many requests) is a separate component.
 *
 * <p>The {@code n} samples share the prompt: it is prefilled once, every sample draws its first token from the same
 * logits, and the samples after the first are forks of the first in the KV cache, sharing its blocks (the partly
 * filled last one is copied when a sample first writes into it).
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
        /** It reached the model's context length, or the KV cache had no room for it. */
        CONTEXT
    }

    /**
     * What a request produced, with timings.
     *
     * @param tokens each sample's generated tokens
     * @param finishReasons why each sample stopped
     * @param promptTokens tokens in the prompt
     * @param prefillNanos time from the start to the first sampled tokens
     * @param decodeNanos time of the decode steps after the first tokens
     */
    public record Result(
            int[][] tokens, FinishReason[] finishReasons, int promptTokens, long prefillNanos, long decodeNanos) {

        /** Tokens the decode steps produced, over all samples: all but the first of each. */
        public int decodedTokens() {
            int sum = 0;
            for (int[] t : tokens) {
                sum += Math.max(0, t.length - 1);
            }
            return sum;
        }
    }

    private final ForwardPass forward;
    private final KvCacheManager cache;
    private final Sampler sampler;
    private final ForwardBatch batch;
    private final int chunkSize;
    private final int[] stopTokens;
    private long nextSequence;

    /**
     * @param chunkSize prompt tokens per prefill step, at most the forward pass's batch
     * @param maxSamples the largest {@code n}
     * @param stopTokens tokens that end a sample (EOS, end of turn), unless the request ignores EOS
     */
    public Generator(ForwardPass forward, int chunkSize, int maxSamples, int[] stopTokens) {
        this.forward = forward;
        this.cache = forward.cache().manager();
        this.sampler = new Sampler(forward.config().vocabSize());
        this.chunkSize = chunkSize;
        this.stopTokens = stopTokens.clone();
        this.batch = new ForwardBatch(Math.max(chunkSize, maxSamples), maxSamples);
    }

    /**
     * Generates {@code params.n()} samples after {@code prompt}, streaming each token to {@code sink}.
     *
     * @throws IllegalArgumentException if the prompt is empty, longer than the context, or does not fit the cache
     */
    public Result generate(int[] prompt, SamplingParams params, TokenSink sink) {
        int n = params.n();
        int context = forward.config().contextLength();
        if (prompt.length == 0 || prompt.length > context) {
            throw new IllegalArgumentException(
                    "the prompt has " + prompt.length + " tokens; the context holds 1 to " + context);
        }
        if (n > batch.maxSequences()) {
            throw new IllegalArgumentException("n must be <= " + batch.maxSequences() + ", got " + n);
        }
        sampler.checkFits(params);
        int vocab = forward.config().vocabSize();
        long[] ids = new long[n];
        for (int s = 0; s < n; s++) {
            ids[s] = nextSequence++;
        }
        SamplingState[] states = new SamplingState[n];
        TokenLogprobs[] logprobs = new TokenLogprobs[n];
        for (int s = 0; s < n; s++) {
            states[s] = SamplingState.start(params, s, prompt);
            logprobs[s] = params.logprobs() ? new TokenLogprobs() : null;
        }
        int[][] generated = new int[n][params.maxTokens()];
        int[] counts = new int[n];
        FinishReason[] finish = new FinishReason[n];
        int live = 0;
        try {
            long start = System.nanoTime();
            // prefill: the prompt after any cached prefix, chunk by chunk, in sample 0's sequence
            int done = cache.cachedPrefixTokens(prompt, 0);
            int count = Math.min(chunkSize, prompt.length - done);
            if (!cache.admit(ids[0], prompt, 0, count)) {
                throw new IllegalArgumentException("the KV cache has no room for a prompt of " + prompt.length);
            }
            live = 1;
            float[] logits;
            int row;
            while (true) {
                batch.clear();
                boolean last = done + count == prompt.length;
                int seq = batch.add(cache.blockTable(ids[0]).ids(), done, prompt, done, count, last);
                logits = forward.forward(batch);
                row = batch.logitsRow(seq);
                cache.markComputed(ids[0], count);
                done += count;
                if (last) {
                    break;
                }
                count = Math.min(chunkSize, prompt.length - done);
                if (!cache.allocateSlots(ids[0], count)) {
                    throw new IllegalArgumentException("the KV cache has no room for a prompt of " + prompt.length);
                }
            }
            for (int s = 1; s < n; s++) {
                cache.fork(ids[0], ids[s]);
                live++;
            }
            for (int s = 0; s < n; s++) {
                finish[s] = accept(
                        s,
                        sampler.sample(logits, row * vocab, states[s], logprobs[s]),
                        ids[s],
                        params,
                        generated,
                        counts,
                        context,
                        sink,
                        logprobs[s]);
            }
            long firstTokens = System.nanoTime();

            // decode: every unfinished sample advances by one token per step
            int[] seqOfSample = new int[n];
            while (true) {
                batch.clear();
                for (int s = 0; s < n; s++) {
                    seqOfSample[s] = -1;
                    if (finish[s] != null) {
                        continue;
                    }
                    if (!roomForOneMore(ids[s]) || !cache.allocateSlots(ids[s], 1)) {
                        finish[s] = FinishReason.CONTEXT;
                        continue;
                    }
                    int position = cache.computedTokens(ids[s]);
                    seqOfSample[s] =
                            batch.add(cache.blockTable(ids[s]).ids(), position, generated[s], counts[s] - 1, 1, true);
                }
                if (batch.sequenceCount() == 0) {
                    break;
                }
                logits = forward.forward(batch);
                for (int s = 0; s < n; s++) {
                    if (seqOfSample[s] >= 0) {
                        cache.markComputed(ids[s], 1);
                        int token =
                                sampler.sample(logits, batch.logitsRow(seqOfSample[s]) * vocab, states[s], logprobs[s]);
                        finish[s] = accept(s, token, ids[s], params, generated, counts, context, sink, logprobs[s]);
                    }
                }
            }
            long end = System.nanoTime();
            int[][] tokens = new int[n][];
            for (int s = 0; s < n; s++) {
                tokens[s] = Arrays.copyOf(generated[s], counts[s]);
            }
            return new Result(tokens, finish, prompt.length, firstTokens - start, end - firstTokens);
        } finally {
            for (int s = 0; s < live; s++) {
                cache.free(ids[s]);
            }
        }
    }

    /** Whether the whole pool could hold one more position of {@code sequence} (else allocation would throw). */
    private boolean roomForOneMore(long sequence) {
        return cache.computedTokens(sequence) < (long) cache.totalBlocks() * cache.blockSize();
    }

    /** Records a sampled token and says why its sample stops, or null if it goes on. */
    private FinishReason accept(
            int sample,
            int token,
            long sequence,
            SamplingParams params,
            int[][] generated,
            int[] counts,
            int context,
            TokenSink sink,
            TokenLogprobs logprobs) {
        generated[sample][counts[sample]++] = token;
        cache.appendToken(sequence, token);
        sink.accept(sample, token, logprobs);
        if (!params.ignoreEos()) {
            for (int stop : stopTokens) {
                if (token == stop) {
                    return FinishReason.STOP;
                }
            }
        }
        if (counts[sample] >= params.maxTokens()) {
            return FinishReason.LENGTH;
        }
        if (cache.numTokens(sequence) >= context) {
            return FinishReason.CONTEXT; // the next step would compute position context
        }
        return null;
    }
}
