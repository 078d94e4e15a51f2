package dev.spindle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SpindleCommandTest {

    private record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        CommandLine commandLine = SpindleCommand.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out));
        commandLine.setErr(new PrintWriter(err));
        int exit = commandLine.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void anUnparsableOptionIsOneLineNamingTheCommandAndTheOption() {
        Run run = run("generate", "--model", "x.gguf", "--prompt", "hi", "--temperature", "abc");
        assertEquals(2, run.exit());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertTrue(run.err().startsWith("spindle generate: "), run.err());
        assertTrue(run.err().contains("--temperature"), run.err());
    }

    @Test
    void anUnknownOptionIsOneLine() {
        Run run = run("inspect", "--no-such-option", "x.gguf");
        assertEquals(2, run.exit());
        assertEquals(1, run.err().strip().lines().count(), run.err());
        assertTrue(run.err().contains("--no-such-option"), run.err());
    }

    @Test
    void everySubcommandHasHelp() {
        for (String command : new String[] {"inspect", "synth", "quantize", "tokenize", "generate", "serve", "bench"}) {
            Run run = run(command, "--help");
            assertEquals(0, run.exit(), command);
            assertTrue(run.out().contains("Usage: spindle " + command), command + ": " + run.out());
            assertFalse(run.out().isBlank());
        }
    }

    @Test
    void serveTakesReadmesCommandAndSaysItIsNotYetImplemented() {
        Run run = run("serve", "--model", "path/to/model.gguf");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("not yet implemented"), run.err());
        assertFalse(run.err().contains("Unknown option"), run.err());
    }

    @Test
    void serveWithoutAModelIsRefused() {
        Run run = run("serve");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("--model"), run.err());
    }
}
