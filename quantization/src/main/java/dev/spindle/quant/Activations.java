package dev.spindle.quant;

/**
 * The input of a matrix product for a batch of tokens: {@code x[t * cols + c]} for {@code t < tokens}, with the sums
 * of each token's activations over runs of {@value TypeKernels#SUM_GROUP} ({@link TypeKernels#groupSums}), which
 * the quantized kernels use to take offsets and minimums out of their inner loops.
 *
 * <p>Reusable: {@link #set} computes the sums into arrays sized at construction, so a forward pass allocates nothing.
 * Fill it on one thread, then let any number of threads read it.
 */
public final class Activations {

    private final int maxTokens;
    private final int maxCols;
    private final float[] sums; // [tokens][groups]
    private final KQuantActivations kquant; // the same tokens rounded for the K-quant products
    private float[] x; // [tokens][cols]
    private int tokens;
    private int cols;
    private int groups;

    /** Room for up to {@code maxTokens} tokens of up to {@code maxCols} activations each. */
    public Activations(int maxTokens, int maxCols) {
        if (maxTokens < 1 || maxCols < 1) {
            throw new IllegalArgumentException("maxTokens and maxCols must be positive");
        }
        this.maxTokens = maxTokens;
        this.maxCols = maxCols;
        this.sums = new float[maxTokens * TypeKernels.groupCount(maxCols)];
        this.kquant = new KQuantActivations(maxTokens, maxCols);
    }

    /** Takes {@code x} ({@code [tokens][cols]}, not copied: leave it unchanged until the products are done). */
    public Activations set(float[] x, int tokens, int cols) {
        if (tokens < 1 || tokens > maxTokens || cols < 1 || cols > maxCols) {
            throw new IllegalArgumentException(
                    "%d tokens of %d columns do not fit %d tokens of %d".formatted(tokens, cols, maxTokens, maxCols));
        }
        if (x.length < tokens * cols) {
            throw new IllegalArgumentException("x holds " + x.length + " floats, not " + tokens + " tokens of " + cols);
        }
        this.x = x;
        this.tokens = tokens;
        this.cols = cols;
        this.groups = TypeKernels.groupCount(cols);
        for (int t = 0; t < tokens; t++) {
            TypeKernels.groupSums(x, t * cols, cols, sums, t * groups);
        }
        kquant.set(x, tokens, cols);
        return this;
    }

    /** The activations, {@code [tokens][cols]}. */
    public float[] x() {
        return x;
    }

    public int tokens() {
        return tokens;
    }

    public int cols() {
        return cols;
    }

    /** Sums per token and group, {@code [tokens][groups]}. */
    float[] sums() {
        return sums;
    }

    /** The tokens rounded per super-block for the K-quant formats. */
    KQuantActivations kquant() {
        return kquant;
    }

    /** Groups of {@value TypeKernels#SUM_GROUP} per token. */
    int groups() {
        return groups;
    }
}
