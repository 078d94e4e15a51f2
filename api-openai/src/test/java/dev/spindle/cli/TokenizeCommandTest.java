package dev.spindle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code spindle tokenize} on stories260K, whose ids llama.cpp's README records. */
class TokenizeCommandTest {

    static final String MODEL = Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf")
            .toString();

    static String run(String stdin, String... args) {
        PrintStream out = System.out;
        InputStream in = System.in;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            int exit = new CommandLine(new SpindleCommand()).execute(args);
            assertEquals(0, exit, "exit status");
        } finally {
            System.setOut(out);
            System.setIn(in);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void printsIdsAndPiecesWithBosOnlyWhenAsked() {
        String withBos = run("", "tokenize", "--model", MODEL, "--add-special", "Once upon a time");
        assertEquals(
                "5 tokens\n       1  \"<s>\"\n     403  \" Once\"\n     407  \" upon\"\n     261  \" a\"\n     378  \" time\"\n",
                withBos.replace(System.lineSeparator(), "\n"));
        assertTrue(run("", "tokenize", "--model", MODEL, "Once upon a time").startsWith("4 tokens"));
    }

    @Test
    void jsonlReadsOneStringPerLineAndWritesOneArrayPerLine() {
        String out = run("\"Once upon a time\"\n\"\"\n\"a\\nb\"\n", "tokenize", "--model", MODEL, "--jsonl");
        String[] lines = out.split("\\R");
        assertEquals("[403,407,261,378]", lines[0]);
        assertEquals("[]", lines[1]);
        assertTrue(lines[2].matches("\\[\\d+(,\\d+)*\\]"), lines[2]);
        assertEquals(3, lines.length);
    }

    @Test
    void jsonStringsAreReadWithTheirEscapes() {
        assertEquals("h\u00e9\n\ud83e\udd99\"", JsonString.parse("\"h\\u00e9\\n\\ud83e\\udd99\\\"\""));
        assertThrows(IllegalArgumentException.class, () -> JsonString.parse("not json"));
        assertEquals("\"a\\n\\u0001\"", JsonString.quote("a\n\u0001"));
    }
}
