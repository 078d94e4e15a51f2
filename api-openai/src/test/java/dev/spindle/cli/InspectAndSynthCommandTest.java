package dev.spindle.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.gguf.GgufFile;
import dev.spindle.quant.GgmlType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code spindle inspect} and {@code spindle synth}: what they print, and one line on stderr when they fail. */
class InspectAndSynthCommandTest {

    static final Path STORIES = Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");

    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {}

    private static Run run(BiFunction<PrintStream, PrintStream, Callable<Integer>> command, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        CommandLine cl = new CommandLine(command.apply(o, e))
                .setOut(new java.io.PrintWriter(o, true))
                .setErr(new java.io.PrintWriter(e, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Run inspect(String... args) {
        return run(InspectCommand::new, args);
    }

    private static Run synth(String... args) {
        return run(SynthCommand::new, args);
    }

    private static void assertOneLineError(Run r, String command, String expected) {
        assertEquals(1, r.exit);
        assertEquals("", r.out);
        assertTrue(r.err.startsWith("spindle " + command + ": "), r.err);
        assertEquals(1, r.err.lines().count(), r.err);
        assertTrue(r.err.contains(expected), r.err);
        assertTrue(!r.err.contains("Exception") && !r.err.contains("\tat "), "no stack trace: " + r.err);
    }

    @Test
    void inspectDescribesStories260K() {
        Run r = inspect(STORIES.toString());
        assertEquals(0, r.exit, r.err);
        assertEquals("", r.err);
        String o = r.out;
        assertTrue(o.contains("1,185,376 bytes, GGUF v3, 19 metadata keys, alignment 32"), o);
        assertTrue(o.contains("architecture  llama"), o);
        assertTrue(o.matches("(?s).*\\n  block_count +5\\n.*"), o);
        assertTrue(o.matches("(?s).*\\n  attention\\.head_count_kv +4\\n.*"), o);
        assertTrue(o.matches("(?s).*\\n  attention\\.layer_norm_rms_epsilon +1\\.0E-5\\n.*"), o);
        assertTrue(o.contains("  model          \"llama\""), o);
        assertTrue(o.contains("  vocab size     512"), o);
        assertTrue(o.contains("  bos            1 \"<s>\""), o);
        assertTrue(o.contains("  eos            2 \"</s>\""), o);
        assertTrue(o.contains("  chat template  no"), o);
        assertTrue(o.contains("tensors (48)"), o);
        assertTrue(o.matches("(?s).*\\n  token_embd\\.weight +F32 +64 x 512 +131,072\\n.*"), o);
        assertTrue(o.matches("(?s).*\\n  blk\\.4\\.ffn_down\\.weight +F32 +172 x 64 +44,032\\n.*"), o);
        assertTrue(o.contains("total         1,171,200 bytes (1.1 MiB) in 48 tensors, 292,800 parameters; F32: 48"), o);
    }

    @Test
    void inspectListsAllMetadataOnRequest() {
        Run r = inspect("--metadata", "--no-tensors", STORIES.toString());
        assertEquals(0, r.exit, r.err);
        assertTrue(
                r.out.matches(
                        "(?s).*\\n  tokenizer\\.ggml\\.tokens +\\[STRING\\] +512 x STRING \\[\"<unk>\", \"<s>\", \"</s>\", \"<0x00>\", \"<0x01>\", \\.\\.\\.\\]\\n.*"),
                r.out);
        assertTrue(r.out.matches("(?s).*\\n  tokenizer\\.ggml\\.padding_token_id +UINT32 +4294967295\\n.*"), r.out);
        assertTrue(!r.out.contains("token_embd.weight"), "no tensor table");
        assertTrue(r.out.contains("tensors (48)"));
    }

    @Test
    void inspectFailsInOneLine() throws IOException {
        assertOneLineError(inspect(dir.resolve("missing.gguf").toString()), "inspect", "no such file");
        Path notGguf = Files.writeString(dir.resolve("notes.gguf"), "hello");
        assertOneLineError(inspect(notGguf.toString()), "inspect", "bad magic");
        byte[] cut = java.util.Arrays.copyOf(Files.readAllBytes(STORIES), 5000);
        Path truncated = Files.write(dir.resolve("cut.gguf"), cut);
        assertOneLineError(inspect(truncated.toString()), "inspect", "truncated file");
    }

    @Test
    void synthWritesAModelThatInspectDescribes() throws IOException {
        Path out = dir.resolve("q.gguf");
        Run r = synth(
                "--arch",
                "qwen2",
                "--shape",
                "tiny",
                "--type",
                "bf16",
                "--seed",
                "5",
                "--tied",
                "--out",
                out.toString());
        assertEquals(0, r.exit, r.err);
        assertTrue(r.out.startsWith("wrote " + out + ": qwen2 tiny, BF16 weights, seed 5, "), r.out);
        try (GgufFile f = GgufFile.open(out)) {
            assertEquals("qwen2", f.metadata().getString("general.architecture", null));
            assertEquals(GgmlType.BF16, f.tensor("blk.0.attn_q.weight").type());
            assertTrue(f.findTensor("output.weight").isEmpty());
        }
        Run i = inspect(out.toString());
        assertTrue(i.out.contains("file type     32 (mostly BF16)"), i.out);
        assertTrue(i.out.contains("blk.1.attn_v.bias"), i.out);
    }

    @Test
    void synthEmbedsATokenizer() throws IOException {
        Path out = dir.resolve("l3.gguf");
        Path tokenizer = Path.of(System.getProperty("spindle.shared"), "tokenizers", "llama3");
        Run r = synth(
                "--arch",
                "llama",
                "--shape",
                "tiny",
                "--tokenizer",
                tokenizer.toString(),
                "--type",
                "q4_0",
                "--tied",
                "--llama3-rope",
                "--out",
                out.toString());
        assertEquals(0, r.exit, r.err);
        Run i = inspect("--no-tensors", out.toString());
        assertTrue(i.out.contains("  pre            \"llama-bpe\""), i.out);
        assertTrue(i.out.contains("  vocab size     128,256"), i.out);
        assertTrue(i.out.contains("  merges         280,147"), i.out);
        assertTrue(i.out.contains("  bos            128000 \"<|begin_of_text|>\""), i.out);
        assertTrue(i.out.contains("  chat template  yes: default"), i.out);
    }

    @Test
    void synthFailsInOneLine() {
        String out = dir.resolve("x.gguf").toString();
        assertOneLineError(
                synth("--arch", "gptj", "--shape", "tiny", "--out", out), "synth", "unknown architecture 'gptj'");
        assertOneLineError(synth("--arch", "llama", "--shape", "huge", "--out", out), "synth", "unknown shape 'huge'");
        assertOneLineError(
                synth("--arch", "llama", "--shape", "tiny", "--type", "Q3_K", "--out", out),
                "synth",
                "cannot write weights of type 'Q3_K'");
        assertOneLineError(
                synth("--arch", "qwen3", "--shape", "tiny", "--llama3-rope", "--out", out), "synth", "llama only");
        assertOneLineError(
                synth(
                        "--arch",
                        "llama",
                        "--shape",
                        "tiny",
                        "--tokenizer",
                        dir.resolve("none").toString(),
                        "--out",
                        out),
                "synth",
                "is not a folder");
        assertOneLineError(
                synth("--arch", "llama", "--shape", "tiny", "--tokenizer", dir.toString(), "--out", out),
                "synth",
                "has no tokenizer.json");
        assertTrue(!Files.exists(dir.resolve("x.gguf")));
    }

    @Test
    void helpForBoth() {
        Run r = synth("--help");
        assertEquals(0, r.exit);
        assertTrue(r.out.contains("--tokenizer=DIR"), r.out);
        r = inspect("--help");
        assertEquals(0, r.exit);
        assertTrue(r.out.contains("FILE"), r.out);
    }
}
