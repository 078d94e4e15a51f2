package dev.spindle.cli;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufFormatException;
import dev.spindle.quant.GgmlType;
import dev.spindle.quantize.ModelQuantizer;
import dev.spindle.quantize.TensorChoice;
import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = {
            "Rewrites a GGUF model with its weight matrices in another type, as llama.cpp's llama-quantize does.",
            "Norms and other vectors stay as they are (F32); the output head becomes Q6_K for quantized types"
                    + " other than Q8_0; rows that are not whole blocks of the type fall back to a type that fits"
                    + " (finally F16). Quantized inputs are requantized.",
            "Types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K."
        })
final class QuantizeCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "IN", description = "The GGUF model to read.")
    Path in;

    @Parameters(index = "1", paramLabel = "OUT", description = "The GGUF file to write (replaced if it exists).")
    Path out;

    @Option(names = "--type", required = true, paramLabel = "T", description = "Type of the weight matrices.")
    String type;

    @Option(names = "--verbose", description = "List the type chosen for every tensor.")
    boolean verbose;

    private final PrintStream stdout;
    private final PrintStream stderr;
    private final boolean terminal;

    QuantizeCommand() {
        this(System.out, System.err, isTerminal());
    }

    QuantizeCommand(PrintStream stdout, PrintStream stderr, boolean terminal) {
        this.stdout = stdout;
        this.stderr = stderr;
        this.terminal = terminal;
    }

    private static boolean isTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }

    @Override
    public Integer call() {
        try {
            GgmlType target = parseType(type);
            if (Files.exists(out) && Files.isSameFile(in, out)) {
                throw new IllegalArgumentException("OUT must not be IN: the input is read while the output is written");
            }
            ModelQuantizer quantizer = new ModelQuantizer(target);
            long start = System.nanoTime();
            try (GgufFile file = GgufFile.open(in)) {
                List<TensorChoice> plan = quantizer.plan(file);
                report(plan, target);
                ProgressBar bar = terminal ? new ProgressBar(stderr) : null;
                quantizer.write(file, plan, out, bar != null ? bar::update : (tensor, done, total) -> {});
                if (bar != null) {
                    bar.finish();
                }
                long before =
                        plan.stream().mapToLong(c -> c.tensor().byteSize()).sum();
                long after = plan.stream().mapToLong(TensorChoice::outputBytes).sum();
                stdout.printf(
                        Locale.ROOT,
                        "wrote %s: %s, tensors %,d -> %,d bytes (%.1f%%), file %,d bytes in %.1f s%n",
                        out,
                        target,
                        before,
                        after,
                        100.0 * after / Math.max(1, before),
                        Files.size(out),
                        (System.nanoTime() - start) / 1e9);
            }
            return 0;
        } catch (IllegalArgumentException | GgufFormatException e) {
            stderr.println("spindle quantize: " + e.getMessage());
        } catch (NoSuchFileException e) {
            stderr.println("spindle quantize: no such file: " + e.getFile());
        } catch (IOException e) {
            stderr.println("spindle quantize: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
        }
        return 1;
    }

    /** Counts per type, and every tensor whose type is not the requested one (or all, with --verbose). */
    private void report(List<TensorChoice> plan, GgmlType target) {
        Map<GgmlType, Integer> counts = new EnumMap<>(GgmlType.class);
        for (TensorChoice c : plan) {
            counts.merge(c.type(), 1, Integer::sum);
            if (verbose || (c.type() != target && !c.copied())) {
                stdout.printf(
                        Locale.ROOT,
                        "%-32s %-5s -> %-5s %s%n",
                        c.tensor().name(),
                        c.tensor().type(),
                        c.type(),
                        c.reason());
            }
        }
        stdout.println(counts.entrySet().stream()
                .map(e -> e.getValue() + " " + e.getKey())
                .collect(Collectors.joining(", ", "tensors: ", "")));
    }

    private static GgmlType parseType(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        for (GgmlType t : GgmlType.values()) {
            if (t.name().equals(upper) && t.kernels().canQuantize()) {
                return t;
            }
        }
        throw new IllegalArgumentException("cannot quantize to '%s' (types: %s)"
                .formatted(
                        name,
                        Arrays.stream(GgmlType.values())
                                .filter(t -> t.kernels().canQuantize())
                                .map(GgmlType::name)
                                .collect(Collectors.joining(", "))));
    }

    /** A one-line bar on the terminal, redrawn at most every 100 ms. */
    private static final class ProgressBar {
        private static final int WIDTH = 30;
        private final PrintStream err;
        private long lastDrawn;

        ProgressBar(PrintStream err) {
            this.err = err;
        }

        synchronized void update(String tensor, long done, long total) {
            long now = System.nanoTime();
            if (done < total && now - lastDrawn < 100_000_000L) {
                return;
            }
            lastDrawn = now;
            int filled = (int) (WIDTH * done / Math.max(1, total));
            String name = tensor.length() > 32 ? tensor.substring(0, 32) : tensor;
            err.printf(
                    Locale.ROOT,
                    "\r[%s%s] %3d%% %-32s",
                    "=".repeat(filled),
                    " ".repeat(WIDTH - filled),
                    100 * done / Math.max(1, total),
                    name);
            err.flush();
        }

        void finish() {
            err.print("\r" + " ".repeat(WIDTH + 40) + "\r");
            err.flush();
        }
    }
}
