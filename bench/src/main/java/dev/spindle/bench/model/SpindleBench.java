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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

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

    /** Starts the line of a fork's standard output that carries its figures. */
    private static final String MARKER = "spindle-bench-figures";

    private SpindleBench() {}

    /**
     * {@link #measure} in a JVM of its own, as a server process runs one model: what the JIT compiled for one model
     * changes how it compiles the kernels for the next (measured in session 4: a Q8_0 file decoded at 11 tok/s right
     * after a Q4_0 one in the same JVM, at 16 in a fresh one). The fork gets this JVM's class path and {@code
     * spindle.*} system properties; its standard error comes through.
     */
    static PeerFigures measureInFreshJvm(
            Path modelPath, int threads, int promptTokens, int decodeTokens, int parallel, int repetitions)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED"));
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("spindle.")) {
                command.add("-D" + name + "=" + System.getProperty(name));
            }
        }
        command.addAll(List.of(
                "-cp",
                System.getProperty("java.class.path"),
                SpindleBench.class.getName(),
                modelPath.toAbsolutePath().toString(),
                Integer.toString(threads),
                Integer.toString(promptTokens),
                Integer.toString(decodeTokens),
                Integer.toString(parallel),
                Integer.toString(repetitions)));
        Process fork = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        List<String> lines;
        try (var out = fork.inputReader()) {
            lines = out.lines().toList();
        }
        int status = fork.waitFor();
        for (String line : lines) {
            if (line.startsWith(MARKER + " ") && status == 0) {
                String[] f = line.split(" ");
                return new PeerFigures(
                        "Spindle",
                        modelPath.getFileName().toString(),
                        threads,
                        promptTokens,
                        Double.parseDouble(f[1]),
                        decodeTokens,
                        Double.parseDouble(f[2]),
                        parallel,
                        Double.parseDouble(f[3]));
            }
        }
        throw new IllegalStateException("the Spindle fork for " + modelPath + " exited with status " + status
                + " and no figures; its standard output: " + lines);
    }

    /** The fork's side: arguments model, threads, prompt, decode, parallel, repetitions; prints one marked line. */
    public static void main(String[] args) throws IOException {
        PeerFigures f = measure(
                Path.of(args[0]),
                Integer.parseInt(args[1]),
                Integer.parseInt(args[2]),
                Integer.parseInt(args[3]),
                Integer.parseInt(args[4]),
                Integer.parseInt(args[5]));
        System.out.println(String.format(
                Locale.ROOT,
                "%s %.6f %.6f %.6f",
                MARKER,
                f.promptTokensPerSecond(),
                f.decodeTokensPerSecond(),
                f.aggregateDecodeTokensPerSecond()));
    }

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
