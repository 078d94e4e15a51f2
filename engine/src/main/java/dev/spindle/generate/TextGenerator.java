package dev.spindle.generate;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.KvCacheConfig;
import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.model.ForwardPass;
import dev.spindle.model.Model;
import dev.spindle.quant.parallel.WorkerPool;
import dev.spindle.sampling.SamplingParams;
import dev.spindle.sampling.TokenLogprobs;
import dev.spindle.tokenizer.IncrementalDetokenizer;
import dev.spindle.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * Prompt tokens in, text out, one request at a time: the engine of the command line. It owns a paged KV cache, a
 * forward pass over it and a {@link Generator}, and turns the generated tokens into text with an
 * {@link IncrementalDetokenizer}, so that streamed text never ends inside a UTF-8 character and stops at
 * end-of-generation tokens and at stop strings (the stop string itself is not emitted).
 *
 * <p>The KV cache has either a fixed budget, or (budget 0) the blocks the first request needs (at least
 * {@code reserveTokens}), grown when a later request needs more: a conversation grows turn by turn, so each growth at
 * least doubles the cache, up to the context. Prefix caching is on, so a chat turn reuses the KV of the whole blocks
 * of the conversation before it, unless the cache had to grow (a new cache starts empty): a chat reserves room.
 *
 * <p>The context is {@code contextSize} tokens, prompt and generated together, at most the model's own. A request
 * may generate at most {@code contextSize - prompt length} tokens; reaching that limit finishes it with
 * {@link Generator.FinishReason#CONTEXT}, as does a full fixed cache.
 *
 * <p>Not thread-safe: one caller at a time.
 */
public final class TextGenerator implements AutoCloseable {

    /** Receives text as it becomes final. */
    public interface TextSink {
        /** {@code text} is only valid during the call (a reused buffer); it is never empty. */
        void accept(CharSequence text);
    }

    /**
     * What a request produced.
     *
     * @param text the text emitted, as the sink received it
     * @param tokens the generated tokens, the end-of-generation token and the tokens of a stop string included
     * @param finishReason why it stopped: {@code STOP} for an end-of-generation token or a stop string
     * @param stopString the stop string that ended it, or {@code null}
     * @param promptTokens tokens in the prompt
     * @param cachedPromptTokens of which were found in the prefix cache, not computed
     * @param prefillNanos time from the start to the first generated token
     * @param decodeNanos time from the first generated token to the last
     */
    public record Completion(
            String text,
            int[] tokens,
            Generator.FinishReason finishReason,
            String stopString,
            int promptTokens,
            int cachedPromptTokens,
            long prefillNanos,
            long decodeNanos) {

        /** Tokens the decode steps produced: all but the first. */
        public int decodedTokens() {
            return Math.max(0, tokens.length - 1);
        }

        /** Prompt tokens computed per second of prefill (cached ones are not computed). */
        public double promptTokensPerSecond() {
            return perSecond(promptTokens - cachedPromptTokens, prefillNanos);
        }

        /** Decoded tokens per second of decode. */
        public double decodeTokensPerSecond() {
            return perSecond(decodedTokens(), decodeNanos);
        }

        private static double perSecond(int tokens, long nanos) {
            return nanos <= 0 ? 0 : tokens * 1e9 / nanos;
        }
    }

    /** Prompt tokens per prefill step: enough to keep the matrix products busy, small enough for modest buffers. */
    static final int CHUNK = 512;

    /** Thrown by the sink through the generation loop when a stop string completes, to end the request there. */
    private static final class StopStringReached extends RuntimeException {
        StopStringReached() {
            super("stop string reached", null, false, false);
        }
    }

    private static final StopStringReached STOP_STRING = new StopStringReached();

    private final Model model;
    private final Tokenizer tokenizer;
    private final KvType kvType;
    private final AttentionNumerics numerics;
    private final long fixedCacheBytes;
    private final int reserveTokens;
    private final int contextSize;
    private final int[] stopTokens;
    private final WorkerPool pool;

    private KvCache cache; // null until the first request
    private ForwardPass forward;
    private Generator generator;

    /** A generator whose attention follows our own kernels' arithmetic ({@link AttentionNumerics#ONLINE}). */
    public TextGenerator(
            Model model,
            Tokenizer tokenizer,
            int threads,
            int contextSize,
            KvType kvType,
            long kvCacheBytes,
            int reserveTokens) {
        this(model, tokenizer, threads, contextSize, kvType, AttentionNumerics.ONLINE, kvCacheBytes, reserveTokens);
    }

    /**
     * @param threads threads of the forward pass, the caller's included
     * @param contextSize the most tokens a request may hold, prompt and generated; at most the model's context
     * @param kvType what the KV cache stores K and V in
     * @param numerics the arithmetic of attention: {@link AttentionNumerics#LLAMA_CPP} gives llama.cpp's bits at the
     *     cost of speed; it must support {@code kvType} ({@link AttentionNumerics#supports})
     * @param kvCacheBytes a fixed KV cache budget, or 0 to size it from the requests
     * @param reserveTokens when sized from the requests, the fewest tokens the cache holds (capped at the context)
     * @throws IllegalArgumentException naming the parameter that is out of range
     */
    public TextGenerator(
            Model model,
            Tokenizer tokenizer,
            int threads,
            int contextSize,
            KvType kvType,
            AttentionNumerics numerics,
            long kvCacheBytes,
            int reserveTokens) {
        int modelContext = model.config().contextLength();
        if (contextSize < 1 || contextSize > modelContext) {
            throw new IllegalArgumentException(
                    "context size must be in [1, " + modelContext + "] (the model's), got " + contextSize);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        numerics.requireSupported(kvType); // here, not at the first request that sizes the cache
        if (kvCacheBytes < 0) {
            throw new IllegalArgumentException("KV cache memory must be positive, got " + kvCacheBytes);
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.kvType = kvType;
        this.numerics = numerics;
        this.fixedCacheBytes = kvCacheBytes;
        this.reserveTokens = Math.max(0, reserveTokens);
        this.contextSize = contextSize;
        this.stopTokens = endOfGenerationTokens(tokenizer, model.config().vocabSize());
        if (kvCacheBytes > 0) {
            allocate(kvCacheBytes); // a budget too small for one block fails here, before any request
        }
        this.pool = new WorkerPool(threads);
    }

    private static int[] endOfGenerationTokens(Tokenizer tokenizer, int vocabSize) {
        int n = Math.min(vocabSize, tokenizer.vocabularySize());
        int[] found = new int[n];
        int count = 0;
        for (int id = 0; id < n; id++) {
            if (tokenizer.isEndOfGeneration(id)) {
                found[count++] = id;
            }
        }
        return Arrays.copyOf(found, count);
    }

    /** The most tokens a request may hold. */
    public int contextSize() {
        return contextSize;
    }

    /** Tokens the KV cache holds now: 0 before the first request when it is sized from the requests. */
    public int kvCacheTokens() {
        return cache == null
                ? 0
                : cache.manager().totalBlocks() * cache.manager().blockSize();
    }

    /**
     * Generates after {@code prompt}, streaming the text to {@code sink} as it becomes final. Only the first of
     * {@code params.n()} samples is generated.
     *
     * @param stopStrings texts that end the request where they appear; none of their text is emitted
     * @throws IllegalArgumentException if the prompt is empty, longer than the context or larger than a fixed cache
     */
    public Completion generate(int[] prompt, SamplingParams params, List<String> stopStrings, TextSink sink) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: it needs at least one token");
        }
        if (prompt.length > contextSize) {
            throw new IllegalArgumentException(
                    "the prompt has " + prompt.length + " tokens, more than the context of " + contextSize + " tokens");
        }
        int room = Math.max(1, contextSize - prompt.length);
        int maxTokens = Math.min(params.maxTokens(), room);
        SamplingParams one =
                params.toBuilder().n(1).maxTokens(maxTokens).logprobs(false).build();
        prepareCache(prompt.length + maxTokens);
        int cachedTokens = cache.manager().cachedPrefixTokens(prompt, 0);
        int blocks = cache.manager().totalBlocks();
        int blockSize = cache.manager().blockSize();
        if (Math.ceilDiv(prompt.length, blockSize) > blocks) {
            throw new IllegalArgumentException(
                    "the prompt has " + prompt.length + " tokens; the KV cache holds " + (long) blocks * blockSize);
        }

        Streaming streaming = new Streaming(tokenizer.detokenizer(stopStrings, false), sink, maxTokens);
        Generator.FinishReason reason;
        long start = System.nanoTime();
        streaming.last = start;
        try {
            reason = generator.generate(prompt, one, streaming).finishReasons()[0];
            streaming.flush();
        } catch (StopStringReached stopped) {
            reason = Generator.FinishReason.STOP;
        }
        if (reason == Generator.FinishReason.LENGTH && maxTokens < params.maxTokens()) {
            reason = Generator.FinishReason.CONTEXT;
        }
        long first = streaming.count == 0 ? streaming.last : streaming.first;
        return new Completion(
                streaming.text.toString(),
                Arrays.copyOf(streaming.tokens, streaming.count),
                reason,
                streaming.detokenizer.stopString(),
                prompt.length,
                cachedTokens,
                first - start,
                streaming.last - first);
    }

    /** Tokens in, text out for one request; records tokens and when they came. */
    private static final class Streaming implements Generator.TokenSink {
        final IncrementalDetokenizer detokenizer;
        final TextSink sink;
        final StringBuilder text = new StringBuilder();
        final StringBuilder piece = new StringBuilder();
        final int[] tokens;
        int count;
        long first;
        long last;

        Streaming(IncrementalDetokenizer detokenizer, TextSink sink, int maxTokens) {
            this.detokenizer = detokenizer;
            this.sink = sink;
            this.tokens = new int[maxTokens];
        }

        @Override
        public void accept(int sample, int token, TokenLogprobs logprobs) {
            last = System.nanoTime();
            if (count == 0) {
                first = last;
            }
            tokens[count++] = token;
            piece.setLength(0);
            boolean stopped = detokenizer.accept(token, piece);
            emit();
            if (stopped) {
                throw STOP_STRING;
            }
        }

        void flush() {
            piece.setLength(0);
            detokenizer.flush(piece);
            emit();
        }

        private void emit() {
            if (!piece.isEmpty()) {
                text.append(piece);
                sink.accept(piece);
            }
        }
    }

    /** Makes sure a cache sized from the requests holds {@code tokens}, growing it (at least doubling) if not. */
    private void prepareCache(int tokens) {
        if (fixedCacheBytes > 0) {
            if (forward == null) {
                attach(cache);
            }
            return;
        }
        int needed = Math.min(Math.max(tokens, reserveTokens), contextSize);
        if (kvCacheTokens() >= needed) {
            return;
        }
        KvCacheShape shape = model.kvCacheShape(kvType, KvCacheShape.DEFAULT_BLOCK_SIZE);
        long blocks = Math.ceilDiv(needed, shape.blockSize());
        if (cache != null) {
            long doubled = 2L * cache.manager().totalBlocks();
            long all = Math.ceilDiv(contextSize, shape.blockSize());
            blocks = Math.max(blocks, Math.min(doubled, all));
            release();
        }
        allocate(blocks * shape.bytesPerBlock());
        attach(cache);
    }

    private void allocate(long bytes) {
        KvCacheShape shape = model.kvCacheShape(kvType, KvCacheShape.DEFAULT_BLOCK_SIZE);
        // One request at a time: admission keeps no blocks back (no watermark) for other running sequences.
        cache = KvCache.allocate(new KvCacheConfig(shape, bytes, 0, true, numerics));
    }

    private void attach(KvCache cache) {
        int chunk = Math.min(CHUNK, contextSize);
        forward = new ForwardPass(model, cache, pool, chunk, 1);
        generator = new Generator(forward, chunk, 1, stopTokens);
    }

    private void release() {
        if (forward != null) {
            forward.close();
            forward = null;
            generator = null;
        }
        if (cache != null) {
            cache.close();
            cache = null;
        }
    }

    /** Frees the KV cache and stops the threads; the model stays open. */
    @Override
    public void close() {
        release();
        pool.close();
    }
}
