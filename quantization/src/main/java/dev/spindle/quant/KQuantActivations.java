package dev.spindle.quant;

/**
 * The activations of a batch of tokens in the form the K-quant products (Q4_K, Q5_K, Q6_K) take them: each token
 * rounded to 8 bits per super-block of 256, as llama.cpp rounds them before these products (ggml's {@code
 * vec_dot_type} Q8_K, {@code quantize_row_q8_K}).
 *
 * <p>Per token and super-block {@code b}: {@code x[i] ≈ d[b] * q[i]} with {@code q} an integer in -127..127 (kept
 * as an integer-valued float, so vector kernels load it without a conversion), {@code d = max / -127} where {@code
 * max} is the element of largest magnitude, and the sums of {@code q} over every run of 32 and of 16. With integer quants on
 * both sides, a super-block's dot product {@code sum sc_j * sum q_w * q_x} is an exact integer below 2^24 in every
 * vector lane, so it is the same whatever order the kernels add it in; the super-block's scales {@code d_w * d_x}
 * and minimums are applied once per 256 weights.
 *
 * <p>Reusable: sized at construction, {@link #set} allocates nothing. Fill it on one thread, then let any number of
 * threads read it. Rows whose length is not a whole number of super-blocks have no K-quant form ({@link #ready()}).
 */
public final class KQuantActivations {

    /** Elements per super-block. */
    public static final int BLOCK = 256;

    /** Elements per activation sum (the Q4_K/Q5_K sub-block, whose minimum multiplies it). */
    static final int SUM_RUN = 32;

    final float[] q; // [tokens][cols] integers in -127..127
    final float[] d; // [tokens][cols / 256]
    final int[] sums; // [tokens][cols / 32] sum of q over each run of 32
    final int[] sums16; // [tokens][cols / 16] sum of q over each run of 16 (Q6_K's sub-blocks)
    private final int maxTokens;
    private final int maxCols;
    int tokens;
    int cols;
    int blocks; // super-blocks per token
    int runs; // runs of 32 per token
    private boolean ready;

    /** Room for up to {@code maxTokens} tokens of up to {@code maxCols} activations each. */
    public KQuantActivations(int maxTokens, int maxCols) {
        this.maxTokens = maxTokens;
        this.maxCols = maxCols;
        int cols = maxCols - maxCols % BLOCK;
        this.q = new float[maxTokens * cols];
        this.d = new float[maxTokens * (cols / BLOCK)];
        this.sums = new int[maxTokens * (cols / SUM_RUN)];
        this.sums16 = new int[maxTokens * (cols / 16)];
    }

    /**
     * Rounds {@code x} ({@code [tokens][cols]}); when {@code cols} is not a multiple of {@value #BLOCK} the batch
     * has no K-quant form and {@link #ready()} is false.
     */
    public KQuantActivations set(float[] x, int tokens, int cols) {
        if (tokens < 1 || tokens > maxTokens || cols < 1 || cols > maxCols) {
            throw new IllegalArgumentException(
                    "%d tokens of %d columns do not fit %d tokens of %d".formatted(tokens, cols, maxTokens, maxCols));
        }
        this.tokens = tokens;
        this.cols = cols;
        this.ready = cols % BLOCK == 0;
        if (!ready) {
            return this;
        }
        this.blocks = cols / BLOCK;
        this.runs = cols / SUM_RUN;
        for (int t = 0; t < tokens; t++) {
            quantize(x, t * cols, cols, q, t * cols, d, t * blocks);
            for (int r = 0; r < runs; r++) {
                int s = 0;
                for (int i = 0; i < SUM_RUN; i++) {
                    s += (int) q[t * cols + SUM_RUN * r + i];
                }
                sums[t * runs + r] = s;
            }
            for (int r = 0; r < 2 * runs; r++) {
                int s = 0;
                for (int i = 0; i < 16; i++) {
                    s += (int) q[t * cols + 16 * r + i];
                }
                sums16[t * 2 * runs + r] = s;
            }
        }
        return this;
    }

    /** Whether the batch last {@link #set} has a K-quant form (its rows are whole super-blocks). */
    public boolean ready() {
        return ready;
    }

    public int tokens() {
        return tokens;
    }

    public int cols() {
        return cols;
    }

    /**
     * llama.cpp's rounding of activations for the K-quant products ({@code quantize_row_q8_K}): for each super-block
     * of 256 elements of {@code x[xOffset .. xOffset + count)}, {@code iscale = -127 / max} with {@code max} the
     * first element of largest magnitude, {@code q = min(127, rint(iscale * x))} (halves to even) into {@code
     * q[qOffset ..]} and {@code d = 1 / iscale} into {@code d[dOffset ..]}; an all-zero block gets {@code d = 0} and
     * zero quants. The activation is then {@code d * q}. Public so that reference implementations can model it.
     *
     * @throws IllegalArgumentException if {@code count} is not a multiple of {@value #BLOCK}
     */
    public static void quantize(float[] x, int xOffset, int count, float[] q, int qOffset, float[] d, int dOffset) {
        if (count % BLOCK != 0) {
            throw new IllegalArgumentException(count + " activations are not whole super-blocks of " + BLOCK);
        }
        for (int b = 0; b < count / BLOCK; b++) {
            int from = xOffset + b * BLOCK;
            int to = qOffset + b * BLOCK;
            float max = 0;
            float amax = 0;
            for (int i = 0; i < BLOCK; i++) {
                float ax = Math.abs(x[from + i]);
                if (ax > amax) {
                    amax = ax;
                    max = x[from + i];
                }
            }
            if (amax == 0) {
                d[dOffset + b] = 0;
                java.util.Arrays.fill(q, to, to + BLOCK, 0f);
                continue;
            }
            float iscale = -127.f / max;
            for (int i = 0; i < BLOCK; i++) {
                q[to + i] = Math.min(127, QuantMath.nearestInt(iscale * x[from + i]));
            }
            d[dOffset + b] = 1 / iscale;
        }
    }
}
