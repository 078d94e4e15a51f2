package dev.spindle.quant;

/**
 * The activations of a batch of tokens in the form the K-quant products (Q4_K, Q5_K, Q6_K) take them: each token
 * rounded to 8 bits per super-block of 256, as llama.cpp rounds them before these products (ggml's {@code
 * vec_dot_type} Q8_K, {@code quantize_row_q8_K}).
 *
 * <p>Per token and super-block {@code b}: {@code x[i] ≈ d[b] * q[i]} with {@code q} an integer in -127..127 and
 * {@code d = max / -127} where {@code max} is the element of largest magnitude. Kept in three forms:
 *
 * <ul>
 *   <li>{@link #qs}: the quants as bytes, in element order (ggml's {@code block_q8_K.qs}; the scalar twins read it);
 *   <li>{@link #q}: the same quants as floats for the vector kernels, each run of 32 in <em>lane order</em> and
 *       scaled by a power of two: position {@code 32k + 8m + i} holds {@code q[32k + 4i + m] * 2^(-8m)}. Lane
 *       {@code i} of an eight-lane vector thus meets elements {@code 4i .. 4i + 3} of every run of 32, which is how
 *       ggml's AVX2 K-quant kernels split a run across their eight 32-bit lanes (each lane of {@code
 *       _mm256_madd_epi16} sums four neighbouring products), so our integer lane sums are theirs. The factor
 *       {@code 2^(-8m)} lets a kernel multiply byte {@code m} of a 32-bit word of weights without shifting it
 *       down: {@code (word & (0xff << 8m))} converted to float is {@code q_w * 2^(8m)}, and the product with
 *       {@code q_x * 2^(-8m)} is the integer {@code q_w * q_x} exactly;
 *   <li>{@link #sums}, the sums of {@code q} over every run of 32 (Q4_K's and Q5_K's minimums meet them), and
 *       {@link #offsets}, per run and lane {@code -32} times the sum of the lane's four quants (Q6_K stores {@code
 *       q_w + 32}: a lane that starts from its offset ends with the sum over {@code q_w}).
 * </ul>
 *
 * <p>With integer quants on both sides every lane sum of a super-block is an exact integer below 2^24, the same
 * whatever order the kernels add it in; the super-block's scales {@code d_w * d_x} and minimums are applied once per
 * 256 weights.
 *
 * <p>Reusable: sized at construction, {@link #set} allocates nothing. Fill it on one thread, then let any number of
 * threads read it. Rows whose length is not a whole number of super-blocks have no K-quant form ({@link #ready()}).
 */
public final class KQuantActivations {

    /** Elements per super-block. */
    public static final int BLOCK = 256;

    /** Elements per run: the Q4_K/Q5_K sub-block, and the span of one word of weights in eight lanes. */
    static final int RUN = 32;

    /** {@code 2^(-8m)} for byte {@code m} of a word ({@link #q}). */
    private static final float[] BYTE_SCALE = {1f, 0x1p-8f, 0x1p-16f, 0x1p-24f};

    final byte[] qs; // [tokens][cols] integers in -127..127, element order
    final float[] q; // [tokens][cols] the same, lane order, times 2^(-8m)
    final float[] d; // [tokens][cols / 256]
    final int[] sums; // [tokens][cols / 32] sum of q over each run of 32
    final float[] offsets; // [tokens][cols / 32][8] -32 * sum of each lane's four quants
    private final float[] scratch = new float[BLOCK];
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
        this.qs = new byte[maxTokens * cols];
        this.q = new float[maxTokens * cols];
        this.d = new float[maxTokens * (cols / BLOCK)];
        this.sums = new int[maxTokens * (cols / RUN)];
        this.offsets = new float[maxTokens * (cols / RUN) * Lanes.N];
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
        this.runs = cols / RUN;
        for (int t = 0; t < tokens; t++) {
            for (int b = 0; b < blocks; b++) {
                int at = t * cols + b * BLOCK;
                quantize(x, at, BLOCK, scratch, 0, d, t * blocks + b);
                for (int r = 0; r < BLOCK / RUN; r++) {
                    int run = at + RUN * r;
                    int s = 0;
                    for (int i = 0; i < Lanes.N; i++) {
                        int lane = 0;
                        for (int m = 0; m < 4; m++) {
                            int v = (int) scratch[RUN * r + 4 * i + m];
                            qs[run + 4 * i + m] = (byte) v;
                            q[run + 8 * m + i] = v * BYTE_SCALE[m];
                            lane += v;
                        }
                        offsets[(run / RUN) * Lanes.N + i] = -32 * lane;
                        s += lane;
                    }
                    sums[run / RUN] = s;
                }
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

    /** Quant {@code i} of token {@code t}, in element order. */
    int quant(int t, int i) {
        return qs[t * cols + i];
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
