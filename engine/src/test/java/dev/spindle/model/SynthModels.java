package dev.spindle.model;

import dev.spindle.quant.GgmlType;
import dev.spindle.synth.ModelSynthesizer;
import dev.spindle.synth.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The synthetic models the architecture tests run on: random weights at the {@code tiny} shape (256 wide, 2 layers,
 * 4 query heads sharing 2 KV heads, so every one has grouped-query attention), written once per build into the
 * module's temp folder.
 */
final class SynthModels {
    /** The architectures without real weights here, each with what sets it apart. */
    enum Variant {
        /** llama with grouped-query attention and Llama 3 RoPE frequency factors (rope_freqs.weight). */
        LLAMA3(dev.spindle.synth.Architecture.LLAMA, true, false),
        /** qwen2: Q/K/V biases, NeoX RoPE. */
        QWEN2(dev.spindle.synth.Architecture.QWEN2, false, false),
        /** qwen3: per-head RMSNorm of Q and K, NeoX RoPE, heads of 128, tied embeddings (as Qwen3-0.6B). */
        QWEN3(dev.spindle.synth.Architecture.QWEN3, false, true);

        final dev.spindle.synth.Architecture arch;
        final boolean llama3Rope;
        final boolean tied;

        Variant(dev.spindle.synth.Architecture arch, boolean llama3Rope, boolean tied) {
            this.arch = arch;
            this.llama3Rope = llama3Rope;
            this.tied = tied;
        }
    }

    /** The weight types every architecture is tested in. */
    static final List<GgmlType> TYPES =
            List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K);

    private SynthModels() {}

    /** The model file of {@code variant} in {@code type}, written on first use. */
    static synchronized Path file(Variant variant, GgmlType type) {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "synth-models");
        Path file = dir.resolve(variant.name().toLowerCase() + "-" + type.name().toLowerCase() + ".gguf");
        if (!Files.exists(file)) {
            try {
                Files.createDirectories(dir);
                Path partial = dir.resolve(file.getFileName() + ".partial");
                new ModelSynthesizer(variant.arch, Shape.TINY)
                        .type(type)
                        .seed(1234)
                        .llama3Rope(variant.llama3Rope)
                        .tied(variant.tied)
                        .write(partial);
                Files.move(partial, file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return file;
    }

    /** Every (variant, type) pair. */
    static List<Object[]> all() {
        List<Object[]> all = new ArrayList<>();
        for (Variant v : Variant.values()) {
            for (GgmlType t : TYPES) {
                all.add(new Object[] {v, t});
            }
        }
        return all;
    }

    /** A prompt of {@code length} ids drawn with a fixed seed, away from the special tokens at the start. */
    static int[] prompt(int length, int vocab, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = random.nextInt(3, vocab);
        }
        return p;
    }
}
