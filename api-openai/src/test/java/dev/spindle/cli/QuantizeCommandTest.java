package dev.spindle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.gguf.GgufFile;
import dev.spindle.quant.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code spindle quantize IN OUT --type T} on stories260K. */
class QuantizeCommandTest {

    static final Path STORIES = Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(boolean terminal, String... args) {
        QuantizeCommand command = new QuantizeCommand(
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                terminal);
        return new CommandLine(command).execute(args);
    }

    @Test
    void writesTheModelInTheTypeAndReportsTheChoices() throws IOException {
        Path q4 = dir.resolve("stories-q4_0.gguf");
        assertEquals(0, run(false, STORIES.toString(), q4.toString(), "--type", "q4_0"));
        String report = out.toString(StandardCharsets.UTF_8);
        assertTrue(report.contains("blk.0.ffn_down.weight"), "the F16 fallback is listed: " + report);
        assertTrue(report.contains("output head"), report);
        assertTrue(report.contains("wrote " + q4), report);
        assertEquals("", err.toString(StandardCharsets.UTF_8), "no progress bar off a terminal");
        try (GgufFile file = GgufFile.open(q4)) {
            assertEquals(GgmlType.Q4_0, file.tensor("blk.3.attn_q.weight").type());
        }
    }

    @Test
    void drawsAProgressBarOnATerminal() {
        assertEquals(0, run(true, STORIES.toString(), dir.resolve("q8.gguf").toString(), "--type", "Q8_0"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("] 100%"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void refusesUnknownTypesAndMissingFilesInOneLine() {
        Path target = dir.resolve("never.gguf");
        assertEquals(1, run(false, STORIES.toString(), target.toString(), "--type", "Q3_K"));
        String message = err.toString(StandardCharsets.UTF_8);
        assertTrue(message.startsWith("spindle quantize: cannot quantize to 'Q3_K'"), message);
        assertEquals(1, message.lines().count());
        assertFalse(Files.exists(target));
        err.reset();
        assertEquals(1, run(false, dir.resolve("missing.gguf").toString(), target.toString(), "--type", "Q8_0"));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("spindle quantize: no such file"));
    }
}
