package dev.spindle.bench.model;

import dev.spindle.bench.peer.LlamaCppPeer;
import dev.spindle.bench.peer.PeerFigures;
import dev.spindle.model.LayerWeights;
import dev.spindle.model.Model;
import dev.spindle.model.ModelWeights;
import dev.spindle.quant.QuantizedMatrix;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The forward-pass benchmark: Spindle beside llama.cpp on the same GGUF files, in one run.
 *
 * <p>For each model: prompt processing of a {@code --prompt}-token prompt, single-sequence decode of {@code --decode}
 * tokens, and aggregate decode of {@code --parallel} sequences in one batch ({@link PeerFigures} defines each).
 * Spindle runs with {@code --threads} threads in a JVM of its own for each file ({@link
 * SpindleBench#measureInFreshJvm}: a fresh JIT per model, as a server process has); llama.cpp ({@link LlamaCppPeer}: the de.kherud:llama
 * binding in a forked JVM, prompt caching off, EOS ignored) runs with 1 and with {@code --threads} threads, and its
 * better figures count. The decode roofline is the memory bandwidth ({@code --bandwidth} GB/s, from
 * shared/PERF-NOTES.md or the kernels' triad benchmark) over the bytes of weights one decode step reads.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp bench/target/spindle-bench.jar dev.spindle.bench.model.ForwardBenchmark \
 *     --threads 2 --bandwidth 34.2 --model tinyllama-q4_0.gguf --model tinyllama-q8_0.gguf
 * </pre>
 */
public final class ForwardBenchmark {
    private ForwardBenchmark() {}

    public static void main(String[] args) throws Exception {
        List<Path> models = new ArrayList<>();
        int threads = 2;
        int prompt = 256;
        int decode = 128;
        int parallel = 8;
        int repetitions = 3;
        double bandwidth = 34.2;
        boolean llama = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> models.add(Path.of(args[++i]));
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--prompt" -> prompt = Integer.parseInt(args[++i]);
                case "--decode" -> decode = Integer.parseInt(args[++i]);
                case "--parallel" -> parallel = Integer.parseInt(args[++i]);
                case "--repetitions" -> repetitions = Integer.parseInt(args[++i]);
                case "--bandwidth" -> bandwidth = Double.parseDouble(args[++i]);
                case "--no-llama" -> llama = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (models.isEmpty()) {
            throw new IllegalArgumentException("give at least one --model FILE");
        }
        StringBuilder table = new StringBuilder(PeerFigures.markdownHeader()).append('\n');
        StringBuilder verdicts = new StringBuilder();
        for (Path model : models) {
            long bytesPerStep;
            try (Model m = Model.open(model)) {
                bytesPerStep = weightBytesPerDecodeStep(m.weights());
            }
            double roofline = bandwidth * 1e9 / bytesPerStep;
            System.err.println("Spindle, " + threads + " threads: " + model);
            PeerFigures ours = SpindleBench.measureInFreshJvm(model, threads, prompt, decode, parallel, repetitions);
            System.err.println("  " + ours.markdownRow());
            table.append(ours.markdownRow()).append('\n');
            String line = String.format(
                    Locale.ROOT,
                    "%s: decode %.1f%% of the roofline (%.1f tok/s at %.1f GB/s); aggregate %.2fx our decode",
                    model.getFileName(),
                    100 * ours.decodeTokensPerSecond() / roofline,
                    roofline,
                    bandwidth,
                    ours.aggregateDecodeTokensPerSecond() / ours.decodeTokensPerSecond());
            if (llama) {
                int[] counts = threads == 1 ? new int[] {1} : new int[] {1, threads};
                System.err.println("llama.cpp, threads " + java.util.Arrays.toString(counts) + ": " + model);
                PeerFigures theirs = LlamaCppPeer.bestOf(model, prompt, decode, parallel, counts);
                System.err.println("  " + theirs.markdownRow());
                table.append(theirs.markdownRow()).append('\n');
                line += String.format(
                        Locale.ROOT,
                        "; against llama.cpp: decode %.2fx, prompt %.2fx, aggregate %.2fx",
                        ours.decodeTokensPerSecond() / theirs.decodeTokensPerSecond(),
                        ours.promptTokensPerSecond() / theirs.promptTokensPerSecond(),
                        ours.aggregateDecodeTokensPerSecond() / theirs.aggregateDecodeTokensPerSecond());
            }
            verdicts.append(line).append('\n');
        }
        System.out.print(table);
        System.out.println();
        System.out.print(verdicts);
    }

    /** Every matrix a decode step multiplies with: all layers' and the output head (not the embedding lookup). */
    static long weightBytesPerDecodeStep(ModelWeights w) {
        long bytes = w.output().data().byteSize();
        for (LayerWeights l : w.layers()) {
            for (QuantizedMatrix m :
                    new QuantizedMatrix[] {l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()}) {
                bytes += m.data().byteSize();
            }
        }
        return bytes;
    }
}
