package dev.spindle.bench.model;

import dev.spindle.bench.peer.BenchPrompt;
import dev.spindle.bench.peer.PeerFigures;
import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.KvCacheConfig;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.model.ForwardBatch;
import dev.spindle.model.ForwardPass;
import dev.spindle.model.Model;
import dev.spindle.sampling.Sampler;
import dev.spindle.sampling.SamplingParams;
import dev.spindle.sampling.SamplingState;
import dev.spindle.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Spindle's side of the forward-pass benchmark, with the meaning {@link PeerFigures} gives llama.cpp's figures: the
 * same prompts ({@link BenchPrompt}), greedy sampling through the {@link Sampler}, the KV cache in F16 as llama.cpp's,
 * each figure the median of several runs after a warm-up run. Times are taken around the forward steps and sampling,
 * in this thread.
 */
final class SpindleBench {
    /** Prompt length of the decode runs, as llama.cpp's peer uses. */
    static final int SHORT_PROMPT = 16;

    private static final int BLOCK = KvCacheShape.DEFAULT_BLOCK_SIZE;

    private SpindleBench() {}

    static PeerFigures measure(
            Path modelPath, int threads, int promptTokens, int decodeTokens, int parallel, int repetitions)
            throws IOException {
        try (Model model = Model.open(modelPath)) {
            Tokenizer tokenizer = Tokenizer.fromGguf(model.file().metadata());
            int context = Math.max(promptTokens, SHORT_PROMPT + decodeTokens) + 1;
            int blocksPerSequence = (context + BLOCK - 1) / BLOCK;
            int maxTokens = Math.max(promptTokens, parallel * SHORT_PROMPT);
            KvCacheShape shape = model.kvCacheShape(KvType.F16, BLOCK);
            long bytes = (long) parallel * blocksPerSequence * shape.bytesPerBlock();
            try (KvCache cache = KvCache.allocate(new KvCacheConfig(shape, bytes, 0, false));
                    ForwardPass forward = new ForwardPass(model, cache, maxTokens, parallel, threads)) {
                Run run = new Run(forward, tokenizer, blocksPerSequence, maxTokens, parallel);
                double[] prompt = new double[repetitions];
                double[] decode = new double[repetitions];
                double[] aggregate = new double[repetitions];
                for (int r = -1; r < repetitions; r++) { // run -1 warms the JIT up
                    double p = run.prompt(promptTokens);
                    double d = run.decode(decodeTokens, 1);
                    double a = run.decode(decodeTokens, parallel);
                    if (r >= 0) {
                        prompt[r] = p;
                        decode[r] = d;
                        aggregate[r] = a;
                    }
                }
                return new PeerFigures(
                        "Spindle",
                        modelPath.getFileName().toString(),
                        threads,
                        promptTokens,
                        median(prompt),
                        decodeTokens,
                        median(decode),
                        parallel,
                        median(aggregate));
            }
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** The sequences' block tables (fixed, disjoint) and the reusable batch and sampler. */
    private static final class Run {
        private final ForwardPass forward;
        private final Tokenizer tokenizer;
        private final int[][] tables;
        private final ForwardBatch batch;
        private final Sampler sampler;
        private final int vocab;

        Run(ForwardPass forward, Tokenizer tokenizer, int blocksPerSequence, int maxTokens, int parallel) {
            this.forward = forward;
            this.tokenizer = tokenizer;
            this.vocab = forward.config().vocabSize();
            this.tables = new int[parallel][blocksPerSequence];
            for (int s = 0; s < parallel; s++) {
                for (int b = 0; b < blocksPerSequence; b++) {
                    tables[s][b] = s * blocksPerSequence + b;
                }
            }
            this.batch = new ForwardBatch(maxTokens, parallel);
            this.sampler = new Sampler(vocab);
        }

        /** Tokens per second of one prompt's prefill, its logits and one sampling step. */
        double prompt(int length) {
            int[] prompt = BenchPrompt.tokens(tokenizer, length, 0);
            SamplingState state = SamplingState.start(SamplingParams.greedy(1), 0, prompt);
            long start = System.nanoTime();
            batch.clear();
            batch.add(tables[0], 0, prompt, 0, prompt.length, true);
            float[] logits = forward.forward(batch);
            sampler.sample(logits, 0, state, null);
            return length / ((System.nanoTime() - start) / 1e9);
        }

        /** {@code parallel} sequences prefill short prompts together, then decode together; decode steps timed. */
        double decode(int tokens, int parallel) {
            SamplingState[] states = new SamplingState[parallel];
            batch.clear();
            for (int s = 0; s < parallel; s++) {
                int[] prompt = BenchPrompt.tokens(tokenizer, SHORT_PROMPT, s);
                states[s] = SamplingState.start(
                        SamplingParams.builder()
                                .temperature(0)
                                .maxTokens(tokens + 1)
                                .build(),
                        0,
                        prompt);
                batch.add(tables[s], 0, prompt, 0, prompt.length, true);
            }
            float[] logits = forward.forward(batch);
            int[] next = new int[parallel];
            for (int s = 0; s < parallel; s++) {
                next[s] = sampler.sample(logits, batch.logitsRow(s) * vocab, states[s], null);
            }
            long start = System.nanoTime();
            for (int step = 0; step < tokens; step++) {
                batch.clear();
                for (int s = 0; s < parallel; s++) {
                    batch.add(tables[s], SHORT_PROMPT + step, next, s, 1, true);
                }
                logits = forward.forward(batch);
                for (int s = 0; s < parallel; s++) {
                    next[s] = sampler.sample(logits, batch.logitsRow(s) * vocab, states[s], null);
                }
            }
            return (double) parallel * tokens / ((System.nanoTime() - start) / 1e9);
        }
    }
}
