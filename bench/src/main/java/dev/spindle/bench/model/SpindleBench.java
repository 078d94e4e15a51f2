package dev.spindle.bench.model;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.KvCacheConfig;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.model.ForwardBatch;
import dev.spindle.model.ForwardPass;
import dev.spindle.model.Model;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Spindle's side of the forward-pass benchmark: the {@link Workload} through {@link ForwardPass} directly (KV cache
 * in F16, as llama.cpp's), greedy argmax as the "sampler", timed with {@code System.nanoTime} around the forward
 * steps only.
 */
final class SpindleBench {
    private static final int BLOCK = 16;

    private SpindleBench() {}

    static Figures measure(Path modelPath, int threads, Workload w, int repeats) throws IOException {
        try (Model model = Model.open(modelPath)) {
            int context = Math.max(w.promptTokens(), w.shortPrompt() + w.decodeTokens()) + 1;
            int blocksPerSequence = (context + BLOCK - 1) / BLOCK;
            int maxTokens = Math.max(w.promptTokens(), w.sequences() * w.shortPrompt());
            KvCacheShape shape = model.kvCacheShape(KvType.F16, BLOCK);
            long bytes = (long) w.sequences() * blocksPerSequence * shape.bytesPerBlock();
            try (KvCache cache = KvCache.allocate(new KvCacheConfig(shape, bytes, 0, false));
                    ForwardPass forward = new ForwardPass(model, cache, maxTokens, w.sequences(), threads)) {
                int[][] tables = new int[w.sequences()][blocksPerSequence];
                for (int s = 0; s < w.sequences(); s++) {
                    for (int b = 0; b < blocksPerSequence; b++) {
                        tables[s][b] = s * blocksPerSequence + b;
                    }
                }
                ForwardBatch batch = new ForwardBatch(maxTokens, w.sequences());
                Figures best = new Figures(0, 0, 0);
                // the first round warms the JIT up and is not counted
                for (int r = 0; r <= repeats; r++) {
                    Figures f = new Figures(
                            prompt(forward, batch, tables, w),
                            decode(forward, batch, tables, w, 1),
                            decode(forward, batch, tables, w, w.sequences()));
                    if (r > 0) {
                        best = best.best(f);
                    }
                }
                return best;
            }
        }
    }

    private static double prompt(ForwardPass forward, ForwardBatch batch, int[][] tables, Workload w) {
        int[] prompt = w.longPrompt();
        batch.clear();
        batch.add(tables[0], 0, prompt, 0, prompt.length, true);
        long start = System.nanoTime();
        forward.forward(batch);
        return prompt.length / seconds(start);
    }

    /** {@code sequences} sequences prefill their short prompts together, then decode together; decode is timed. */
    private static double decode(ForwardPass forward, ForwardBatch batch, int[][] tables, Workload w, int sequences) {
        int vocab = forward.config().vocabSize();
        batch.clear();
        for (int s = 0; s < sequences; s++) {
            int[] prompt = w.shortPrompt(s);
            batch.add(tables[s], 0, prompt, 0, prompt.length, true);
        }
        float[] logits = forward.forward(batch);
        int[] next = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            next[s] = argMax(logits, batch.logitsRow(s) * vocab, vocab);
        }
        long start = System.nanoTime();
        for (int step = 0; step < w.decodeTokens(); step++) {
            batch.clear();
            for (int s = 0; s < sequences; s++) {
                batch.add(tables[s], w.shortPrompt() + step, next, s, 1, true);
            }
            logits = forward.forward(batch);
            for (int s = 0; s < sequences; s++) {
                next[s] = argMax(logits, batch.logitsRow(s) * vocab, vocab);
            }
        }
        return (double) sequences * w.decodeTokens() / seconds(start);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    private static int argMax(float[] values, int offset, int length) {
        int best = 0;
        for (int i = 1; i < length; i++) {
            if (values[offset + i] > values[offset + best]) {
                best = i;
            }
        }
        return best;
    }
}
