package dev.spindle.synth;

import java.util.List;

/**
 * The size of a synthetic model.
 *
 * @param name the name used on the command line
 * @param dim embedding width ({@code embedding_length})
 * @param layers transformer blocks ({@code block_count})
 * @param heads query heads
 * @param kvHeads key/value heads (grouped-query attention when fewer than {@code heads})
 * @param ffn feed-forward width ({@code feed_forward_length})
 * @param vocab vocabulary size when no tokenizer is given (a tokenizer brings its own)
 * @param context context length ({@code context_length})
 */
public record Shape(String name, int dim, int layers, int heads, int kvHeads, int ffn, int vocab, int context) {

    /**
     * A few megabytes, for tests: 2M parameters. Its widths (256, 768) are whole 256-element blocks, so every type,
     * K-quants included, applies to every matrix as it would in a real model.
     */
    public static final Shape TINY = new Shape("tiny", 256, 2, 4, 2, 768, 512, 2048);

    /** About 125M parameters (GPT-2 small's width). */
    public static final Shape SMALL_160M = new Shape("small-160m", 768, 12, 12, 4, 2048, 32000, 2048);

    /** TinyLlama 1.1B's shape: the benchmark model. */
    public static final Shape TINYLLAMA_1_1B = new Shape("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 32000, 2048);

    public static final List<Shape> ALL = List.of(TINY, SMALL_160M, TINYLLAMA_1_1B);

    public Shape {
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || ffn <= 0 || vocab <= 0 || context <= 0) {
            throw new IllegalArgumentException("every size must be positive: " + name);
        }
        if (dim % heads != 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads must divide dim and kvHeads must divide heads: " + name);
        }
    }

    /** The shape called {@code name}. */
    public static Shape byName(String name) {
        for (Shape s : ALL) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown shape '" + name + "' (known: "
                + String.join(", ", ALL.stream().map(Shape::name).toList()) + ")");
    }
}
