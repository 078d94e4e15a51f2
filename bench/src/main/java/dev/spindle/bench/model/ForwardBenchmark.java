package dev.spindle.bench.model;

import dev.spindle.model.LayerWeights;
import dev.spindle.model.Model;
import dev.spindle.model.ModelWeights;
import dev.spindle.quant.QuantizedMatrix;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The forward-pass benchmark: Spindle beside llama.cpp on the same GGUF files, in one run.
 *
 * <p>For each model: prompt processing of a {@code --prompt}-token prompt, single-sequence decode of {@code
 * --decode} tokens, and aggregate decode of {@code --batch} sequences in one batch. Spindle runs with {@code
 * --threads} threads in this JVM; llama.cpp (through the {@code de.kherud:llama} binding, prompt caching off, EOS
 * ignored) runs in a child JVM once with 1 thread and once with {@code --threads}, and its better figure counts
 * (its spinning workers sometimes make 2 threads slower than 1). The decode roofline is the measured memory
 * bandwidth (a STREAM-style triad) over the bytes of weights one decode step reads.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *     -cp bench/target/spindle-bench.jar dev.spindle.bench.model.ForwardBenchmark \
 *     --threads 2 --model a-q4_0.gguf --model a-q8_0.gguf
 * </pre>
 */
public final class ForwardBenchmark {
    private ForwardBenchmark() {}

    public static void main(String[] args) throws Exception {
        List<Path> models = new ArrayList<>();
        int threads = 2;
        int prompt = 256;
        int decode = 128;
        int batch = 8;
        int repeats = 2;
        boolean llama = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> models.add(Path.of(args[++i]));
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--prompt" -> prompt = Integer.parseInt(args[++i]);
                case "--decode" -> decode = Integer.parseInt(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--no-llama" -> llama = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (models.isEmpty()) {
            throw new IllegalArgumentException("give at least one --model FILE");
        }
        double bandwidth = Triad.bestGigabytesPerSecond(threads);
        System.err.printf(Locale.ROOT, "memory bandwidth (triad, %d threads): %.1f GB/s%n", threads, bandwidth);
        StringBuilder table = new StringBuilder();
        table.append("| model | engine | prompt tok/s | decode tok/s | ")
                .append(batch)
                .append("-sequence aggregate tok/s | decode roofline tok/s |\n");
        table.append("|---|---|---|---|---|---|\n");
        for (Path model : models) {
            int vocab;
            long bytesPerToken;
            try (Model m = Model.open(model)) {
                vocab = m.config().vocabSize();
                bytesPerToken = weightBytesPerDecodeStep(m.weights());
            }
            double roofline = bandwidth * 1e9 / bytesPerToken;
            Workload w = new Workload(prompt, decode, batch, 16, vocab);
            System.err.println("spindle: " + model);
            Figures ours = SpindleBench.measure(model, threads, w, repeats);
            row(table, model, "Spindle, " + threads + " threads", ours, roofline);
            if (llama) {
                Figures best = null;
                for (int t : threads == 1 ? new int[] {1} : new int[] {1, threads}) {
                    System.err.println("llama.cpp, " + t + " thread(s): " + model);
                    Figures f = llamaCpp(model, t, w, repeats);
                    System.err.println("  " + f);
                    best = best == null ? f : best.best(f);
                }
                row(table, model, "llama.cpp, best of 1 and " + threads + " threads", best, roofline);
                System.err.printf(
                        Locale.ROOT,
                        "%s: decode %.2fx llama.cpp, %.0f%% of roofline; prompt %.2fx; aggregate %.2fx our decode, %.2fx"
                                + " llama.cpp's aggregate%n",
                        model.getFileName(),
                        ours.decode() / best.decode(),
                        100 * ours.decode() / roofline,
                        ours.prompt() / best.prompt(),
                        ours.aggregate() / ours.decode(),
                        ours.aggregate() / best.aggregate());
            }
        }
        System.out.print(table);
    }

    private static void row(StringBuilder table, Path model, String engine, Figures f, double roofline) {
        table.append(String.format(
                Locale.ROOT,
                "| %s | %s | %.1f | %.1f | %.1f | %.1f |%n",
                model.getFileName(),
                engine,
                f.prompt(),
                f.decode(),
                f.aggregate(),
                roofline));
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

    private static Figures llamaCpp(Path model, int threads, Workload w, int repeats) throws Exception {
        Path dir = Files.createTempDirectory("spindle-llama-bench-");
        Path log = dir.resolve("llama.log");
        Path output = dir.resolve("output.txt");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Djava.io.tmpdir=" + dir,
                "-cp",
                System.getProperty("java.class.path"),
                LlamaCppBench.class.getName(),
                model.toAbsolutePath().toString(),
                String.valueOf(threads),
                log.toString(),
                String.valueOf(repeats)));
        command.addAll(List.of(w.toArgs()));
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        if (!p.waitFor(30, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new IllegalStateException("llama.cpp benchmark timed out; see " + dir);
        }
        List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
        for (String line : lines) {
            if (line.startsWith("figures ")) {
                return Figures.parse(line);
            }
        }
        throw new IllegalStateException("llama.cpp benchmark failed (exit " + p.exitValue() + "): " + lines);
    }
}
