package dev.spindle.bench.peer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * Measures llama.cpp on a model file and prints its figures as a Markdown table:
 *
 * <pre>
 * spindle bench --main dev.spindle.bench.peer.LlamaCppPeerMain --model FILE [--prompt 256] [--decode 64]
 *     [--parallel 8] [--threads 1,2] [--repetitions 3] [--timeout-minutes 20]
 * </pre>
 *
 * One row per thread count, then the row with the best single-sequence decode rate marked as llama.cpp's figure.
 */
public final class LlamaCppPeerMain {

    private LlamaCppPeerMain() {}

    public static void main(String[] args) {
        Path model = null;
        int promptTokens = 256;
        int decodeTokens = 64;
        int parallel = 8;
        int[] threadCounts = {1, 2};
        int repetitions = LlamaCppPeer.DEFAULT_REPETITIONS;
        int timeoutMinutes = 20;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--model" -> model = Path.of(required(args[i], value));
                case "--prompt" -> promptTokens = Integer.parseInt(required(args[i], value));
                case "--decode" -> decodeTokens = Integer.parseInt(required(args[i], value));
                case "--parallel" -> parallel = Integer.parseInt(required(args[i], value));
                case "--threads" ->
                    threadCounts = Arrays.stream(required(args[i], value).split(","))
                            .mapToInt(Integer::parseInt)
                            .toArray();
                case "--repetitions" -> repetitions = Integer.parseInt(required(args[i], value));
                case "--timeout-minutes" -> timeoutMinutes = Integer.parseInt(required(args[i], value));
                case "-h", "--help" -> {
                    usage();
                    return;
                }
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    usage();
                    System.exit(2);
                }
            }
            i++;
        }
        if (model == null) {
            usage();
            System.exit(2);
        }
        System.out.println(PeerFigures.markdownHeader());
        PeerFigures best = null;
        for (int threads : threadCounts) {
            PeerFigures figures = LlamaCppPeer.measure(
                    model,
                    promptTokens,
                    decodeTokens,
                    parallel,
                    threads,
                    repetitions,
                    Duration.ofMinutes(timeoutMinutes));
            System.out.println(figures.markdownRow());
            if (best == null || figures.decodeTokensPerSecond() > best.decodeTokensPerSecond()) {
                best = figures;
            }
        }
        if (threadCounts.length > 1) {
            System.out.println(new PeerFigures(
                            best.engine() + ", best of " + threadCounts.length + " thread counts",
                            best.model(),
                            best.threads(),
                            best.promptTokens(),
                            best.promptTokensPerSecond(),
                            best.decodeTokens(),
                            best.decodeTokensPerSecond(),
                            best.parallel(),
                            best.aggregateDecodeTokensPerSecond())
                    .markdownRow());
        }
    }

    private static String required(String option, String value) {
        if (value == null) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return value;
    }

    private static void usage() {
        System.err.println("""
                usage: LlamaCppPeerMain --model FILE [--prompt TOKENS] [--decode TOKENS] [--parallel SEQUENCES]
                                        [--threads N,N,...] [--repetitions N] [--timeout-minutes N]
                Measures llama.cpp (de.kherud:llama) on FILE: prompt processing of a prompt of TOKENS tokens,
                one sequence decoding TOKENS tokens, and SEQUENCES sequences decoding together; each figure the
                median of N runs, in a forked JVM per thread count.""");
    }
}
