package dev.spindle.bench.peer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * llama.cpp's side of the forward-pass benchmark: measures llama.cpp (through de.kherud:llama, the same build as
 * Spindle's oracle) on a model file, so that Spindle and llama.cpp are measured in one run on one file.
 *
 * <p>Each measurement runs in a forked JVM ({@link LlamaCppPeerChild}, whose comment gives the method): the binding's
 * {@code close()} can hang, so the fork halts once its figures are printed; each fork gets its own
 * {@code java.io.tmpdir} because every JVM extracts the native library to the same file name there; and a fork that
 * runs past its time limit is killed. llama.cpp's log (standard error of the fork) is checked for proof that the
 * prompt was processed in full and that the parallel sequences shared batches.
 */
public final class LlamaCppPeer {

    /** What {@link PeerFigures#engine()} says: the llama.cpp build inside de.kherud:llama 4.2.0. */
    public static final String ENGINE = "llama.cpp b4916";

    /** Runs per figure; each figure is their median. */
    public static final int DEFAULT_REPETITIONS = 3;

    /** Threads of the single-count {@link #measure} (this project's machines have 2 cores). */
    public static final int DEFAULT_THREADS = 2;

    private static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(20);

    /** {@code prompt eval time = ... ms / N tokens}, printed by llama.cpp's server when a slot finishes. */
    private static final Pattern PROMPT_EVAL = Pattern.compile("prompt eval time =\\s*[0-9.]+ ms /\\s*(\\d+) tokens");

    /** {@code prompt done, n_past = P, n_tokens = N}: a prompt of P tokens ended in a batch of N tokens. */
    private static final Pattern PROMPT_DONE = Pattern.compile("prompt done, n_past = (\\d+), n_tokens = (\\d+)");

    private LlamaCppPeer() {}

    /**
     * Measures llama.cpp on {@code model} with {@code threads} threads, each figure the median of
     * {@value #DEFAULT_REPETITIONS} runs.
     *
     * @param promptTokens the prompt's length for the prompt-processing rate
     * @param decodeTokens tokens generated per sequence for the decode rates
     * @param parallelSequences sequences decoding at once for the aggregate rate
     */
    public static PeerFigures measure(
            Path model, int promptTokens, int decodeTokens, int parallelSequences, int threads) {
        return measure(
                model, promptTokens, decodeTokens, parallelSequences, threads, DEFAULT_REPETITIONS, DEFAULT_TIMEOUT);
    }

    /**
     * Measures llama.cpp on {@code model}, each figure the median of {@code repetitions} runs, in a forked JVM that is
     * killed after {@code timeout}.
     *
     * @throws IllegalStateException if the fork fails, runs out of time, or llama.cpp's log contradicts the workload
     */
    public static PeerFigures measure(
            Path model,
            int promptTokens,
            int decodeTokens,
            int parallelSequences,
            int threads,
            int repetitions,
            Duration timeout) {
        if (promptTokens < 1 || decodeTokens < 1 || parallelSequences < 1 || threads < 1 || repetitions < 1) {
            throw new IllegalArgumentException("token counts, sequences, threads and repetitions must be positive");
        }
        if (!Files.isRegularFile(model)) {
            throw new IllegalArgumentException("no model file at " + model);
        }
        // The binding extracts its native library into java.io.tmpdir and, at start, deletes every file there whose
        // name begins with "llama" or "jllama": the fork's temporary folder is a subfolder holding nothing else.
        Path scratch;
        Path forkTemp;
        try {
            scratch = Files.createTempDirectory("spindle-peer-");
            forkTemp = Files.createDirectory(scratch.resolve("tmp"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path out = scratch.resolve("figures.txt");
        Path log = scratch.resolve("fork-stderr.log");
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.io.tmpdir=" + forkTemp,
                "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC",
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                LlamaCppPeerChild.class.getName(),
                model.toAbsolutePath().toString(),
                Integer.toString(promptTokens),
                Integer.toString(decodeTokens),
                Integer.toString(parallelSequences),
                Integer.toString(threads),
                Integer.toString(repetitions)));
        double[] rates;
        try {
            Process fork = new ProcessBuilder(command)
                    .redirectOutput(out.toFile())
                    .redirectError(log.toFile())
                    .start();
            if (!fork.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                fork.destroyForcibly().waitFor();
                throw failure("ran past " + timeout, log);
            }
            if (fork.exitValue() != 0) {
                throw failure("exited with status " + fork.exitValue(), log);
            }
            rates = figures(Files.readAllLines(out), log);
            checkLog(Files.readString(log), promptTokens, parallelSequences, log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while llama.cpp was measured", e);
        }
        deleteRecursively(scratch);
        return new PeerFigures(
                ENGINE,
                model.getFileName().toString(),
                threads,
                promptTokens,
                rates[0],
                decodeTokens,
                rates[1],
                parallelSequences,
                rates[2]);
    }

    /**
     * Measures with each thread count and keeps the figures with the best single-sequence decode rate: llama.cpp's
     * spinning worker threads sometimes decode faster on one thread than on two on a busy 2-core machine.
     */
    public static PeerFigures bestOf(
            Path model, int promptTokens, int decodeTokens, int parallelSequences, int... threadCounts) {
        if (threadCounts.length == 0) {
            throw new IllegalArgumentException("no thread counts");
        }
        List<PeerFigures> all = new ArrayList<>();
        for (int threads : threadCounts) {
            all.add(measure(model, promptTokens, decodeTokens, parallelSequences, threads));
        }
        return all.stream()
                .max(Comparator.comparingDouble(PeerFigures::decodeTokensPerSecond))
                .orElseThrow();
    }

    private static double[] figures(List<String> lines, Path log) {
        for (String line : lines) {
            if (line.startsWith(LlamaCppPeerChild.MARKER + " ")) {
                String[] fields = line.split(" ");
                return new double[] {
                    Double.parseDouble(fields[1]), Double.parseDouble(fields[2]), Double.parseDouble(fields[3])
                };
            }
        }
        throw failure("printed no figures", log);
    }

    /**
     * Checks llama.cpp's own account of the runs: some slot processed a prompt of exactly {@code promptTokens} tokens
     * (so nothing was cached or truncated), and some batch held work of all {@code parallel} sequences, so they were
     * decoded together rather than one after another. The second shows in the size of the batches in which the
     * decode runs' short prompts ended: with {@code parallel} slots and prompts of
     * {@value LlamaCppPeerChild#SHORT_PROMPT_TOKENS} tokens, a batch of at least {@code parallel - 1} prompts plus one
     * more token holds a token of every slot.
     */
    private static void checkLog(String text, int promptTokens, int parallel, Path log) {
        boolean fullPrompt = false;
        Matcher evaluated = PROMPT_EVAL.matcher(text);
        while (evaluated.find()) {
            fullPrompt |= Integer.parseInt(evaluated.group(1)) == promptTokens;
        }
        if (!fullPrompt) {
            throw failure("never processed a prompt of " + promptTokens + " tokens", log);
        }
        int largestPromptBatch = 0;
        Matcher done = PROMPT_DONE.matcher(text);
        while (done.find()) {
            if (Integer.parseInt(done.group(1)) == LlamaCppPeerChild.SHORT_PROMPT_TOKENS) {
                largestPromptBatch = Math.max(largestPromptBatch, Integer.parseInt(done.group(2)));
            }
        }
        int everySlot = parallel == 1 ? 1 : (parallel - 1) * LlamaCppPeerChild.SHORT_PROMPT_TOKENS + 1;
        if (largestPromptBatch < everySlot) {
            throw failure(
                    "never had all " + parallel + " sequences in one batch (largest batch ending prompts: "
                            + largestPromptBatch + " tokens)",
                    log);
        }
    }

    private static IllegalStateException failure(String what, Path log) {
        String tail;
        try {
            List<String> lines = Files.readAllLines(log);
            tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            tail = "(no log: " + e.getMessage() + ")";
        }
        return new IllegalStateException(
                "llama.cpp's benchmark fork " + what + "; its log is " + log + ", ending:\n" + tail);
    }

    private static void deleteRecursively(Path folder) {
        try (Stream<Path> files = Files.walk(folder)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            System.err.println("llama.cpp peer: could not remove " + folder + ": " + e.getMessage());
        }
    }
}
