package dev.spindle.cli;

import dev.spindle.gguf.GgufFormatException;
import dev.spindle.hf.JsonException;
import dev.spindle.quant.GgmlType;
import dev.spindle.synth.Architecture;
import dev.spindle.synth.ModelSynthesizer;
import dev.spindle.synth.Shape;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "synth",
        mixinStandardHelpOptions = true,
        description = {
            "Writes a GGUF model with random weights at a named shape.",
            "Shapes: tiny (dim 256, 2 layers, 2M parameters), small-160m (dim 768, 12 layers, 125M),"
                    + " tinyllama-1.1b (dim 2048, 22 layers, 1.1B).",
            "Without --tokenizer the model gets a synthetic SentencePiece vocabulary of the shape's size;"
                    + " with it, the Hugging Face byte-level BPE tokenizer in DIR (tokenizer.json,"
                    + " tokenizer_config.json), as llama.cpp's converter would embed it."
        })
final class SynthCommand implements Callable<Integer> {

    @Option(names = "--arch", required = true, paramLabel = "ARCH", description = "llama, qwen2 or qwen3.")
    String arch;

    @Option(
            names = "--shape",
            required = true,
            paramLabel = "NAME",
            description = "tiny, small-160m or tinyllama-1.1b.")
    String shape;

    @Option(
            names = "--type",
            defaultValue = "F16",
            paramLabel = "T",
            description = "Type of the weight matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or"
                    + " Q6_K (default ${DEFAULT-VALUE}); norms and biases stay F32.")
    String type;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The GGUF file to write.")
    Path file;

    @Option(names = "--tokenizer", paramLabel = "DIR", description = "A Hugging Face tokenizer folder to embed.")
    Path tokenizer;

    @Option(
            names = "--pre",
            paramLabel = "NAME",
            description = "tokenizer.ggml.pre for --tokenizer (default: recognised from its split regex).")
    String pre;

    @Option(names = "--seed", defaultValue = "0", paramLabel = "N", description = "Random seed (default 0).")
    long seed;

    @Option(names = "--tied", description = "Tie the output projection to the token embedding.")
    boolean tied;

    @Option(names = "--llama3-rope", description = "Llama-3 RoPE scaling (llama only): rope_freqs.weight, base 500000.")
    boolean llama3Rope;

    private final PrintStream out;
    private final PrintStream err;

    SynthCommand() {
        this(System.out, System.err);
    }

    SynthCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        try {
            Architecture a = Architecture.byName(arch);
            Shape s = Shape.byName(shape);
            GgmlType t = parseType(type);
            if (tokenizer != null && !Files.isDirectory(tokenizer)) {
                throw new IllegalArgumentException("--tokenizer " + tokenizer + " is not a folder");
            }
            ModelSynthesizer synth = new ModelSynthesizer(a, s)
                    .type(t)
                    .seed(seed)
                    .tied(tied)
                    .llama3Rope(llama3Rope)
                    .tokenizer(tokenizer)
                    .pre(pre);
            long start = System.nanoTime();
            synth.write(file);
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf(
                    "wrote %s: %s %s, %s weights, seed %d, %,d bytes in %.1f s%n",
                    file, a.ggufName(), s.name(), t, seed, Files.size(file), seconds);
            return 0;
        } catch (IllegalArgumentException | GgufFormatException | JsonException e) {
            err.println("spindle synth: " + e.getMessage());
        } catch (NoSuchFileException e) {
            err.println("spindle synth: no such file or folder: " + e.getFile());
        } catch (IOException e) {
            err.println("spindle synth: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
        }
        return 1;
    }

    private static GgmlType parseType(String name) {
        for (GgmlType t : ModelSynthesizer.supportedTypes()) {
            if (t.name().equals(name.toUpperCase(Locale.ROOT))) {
                return t;
            }
        }
        throw new IllegalArgumentException("cannot write weights of type '%s' (supported: %s)"
                .formatted(
                        name,
                        ModelSynthesizer.supportedTypes().stream()
                                .map(GgmlType::name)
                                .collect(Collectors.joining(", "))));
    }
}
