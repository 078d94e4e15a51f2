package dev.spindle.bench.peer;

import java.util.Locale;

/**
 * One engine's forward-pass throughput on one model file, as measured by {@link LlamaCppPeer} (and, with the same
 * meaning, by Spindle's own side of the benchmark). Every rate is in tokens per second of wall-clock time.
 *
 * @param engine the engine measured, for example {@code llama.cpp b4916}
 * @param model the model file's name
 * @param threads the compute threads the engine was given
 * @param promptTokens the prompt's length for {@code promptTokensPerSecond}
 * @param promptTokensPerSecond prompt processing: {@code promptTokens} divided by the time from submitting a prompt of
 *     exactly that many tokens to receiving the one token generated after it (time to first token), so it includes
 *     the single logits row and sampling step that end a prefill
 * @param decodeTokens the tokens generated for the two decode rates
 * @param decodeTokensPerSecond one sequence decoding after a short prompt: {@code decodeTokens} divided by the time
 *     those decode steps took, each step a forward pass of one token plus sampling
 * @param parallel the sequences decoding at once for {@code aggregateDecodeTokensPerSecond}
 * @param aggregateDecodeTokensPerSecond {@code parallel} sequences decoding together in one batch:
 *     {@code parallel * decodeTokens} divided by the time those batched decode steps took
 */
public record PeerFigures(
        String engine,
        String model,
        int threads,
        int promptTokens,
        double promptTokensPerSecond,
        int decodeTokens,
        double decodeTokensPerSecond,
        int parallel,
        double aggregateDecodeTokensPerSecond) {

    public PeerFigures {
        if (threads < 1 || promptTokens < 1 || decodeTokens < 1 || parallel < 1) {
            throw new IllegalArgumentException("threads, token counts and parallel sequences must be positive");
        }
    }

    /** The header of the Markdown table whose rows {@link #markdownRow()} writes. */
    public static String markdownHeader() {
        return """
                | engine | model | threads | prompt tokens | prompt tok/s | decode tokens | decode tok/s \
                | sequences | aggregate decode tok/s |
                |---|---|---:|---:|---:|---:|---:|---:|---:|""";
    }

    /** These figures as one row of the table headed by {@link #markdownHeader()}. */
    public String markdownRow() {
        return String.format(
                Locale.ROOT,
                "| %s | %s | %d | %d | %.1f | %d | %.2f | %d | %.2f |",
                engine,
                model,
                threads,
                promptTokens,
                promptTokensPerSecond,
                decodeTokens,
                decodeTokensPerSecond,
                parallel,
                aggregateDecodeTokensPerSecond);
    }
}
