package dev.spindle.quant;

/**
 * The input of a matrix product for a batch of tokens, {@code x[t * cols + c]} for {@code t < tokens}, and the forms
 * the weight formats take it in ({@link ActivationFormat}): {@link #set} takes the floats, {@link #prepare} computes
 * the 8-bit forms once for all the matrices that need them (the float form comes with {@link #set}).
 *
 * <ul>
 *   <li>{@link ActivationFormat#FLOAT}: the floats, with the sums of each token's activations over runs of {@value
 *       TypeKernels#SUM_GROUP} ({@link TypeKernels#groupSums}), which kernels use to take offsets and minimums out of
 *       their inner loops.
 *   <li>{@link ActivationFormat#Q8_0} and {@link ActivationFormat#Q8_1}: per block of 32, the 8-bit quants as
 *       integer-valued floats, the half-precision scale {@code d} and sum {@code s} as floats. The quants of a block
 *       are stored in <em>lane order</em>: position {@code 8*m + i} holds element {@code 4*i + m}, so that the
 *       {@code m}-th eight-lane vector of a block gives lane {@code i} its {@code m}-th element of elements {@code
 *       4i .. 4i+3}. That is how llama.cpp's AVX2 kernels split a block across eight lanes (each 32-bit lane of
 *       {@code _mm256_madd_epi16} sums four neighbouring products), and it is what lets us accumulate in the same
 *       lanes as they do (see {@link Q8_0Kernels}).
 * </ul>
 *
 * <p>Reusable: every array is sized at construction, so a forward pass allocates nothing. Set and prepare it on one
 * thread, then let any number of threads read it.
 */
public final class Activations {

    private final int maxTokens;
    private final int maxCols;
    private final float[] sums; // [tokens][groups]
    private final float[] q8; // [tokens][cols] quants in lane order
    private final float[] q8Scales; // [tokens][blocks] d
    private final float[] q8Sums; // [tokens][blocks] s
    private final float[] q8Offsets; // [tokens][blocks][8] -8 * the sum of each lane's four quants
    private final float[] q8NegatedEightSums; // [tokens][blocks] -8 * the sum of the block's quants
    private final float[] q8Chunks; // [tokens][cols] quants in chunk order (q8Chunks())
    private final float[] q8ByToken; // [tokens / 8][cols][8] quants of eight tokens side by side (q8ByToken())
    private final float[] q8ScalesByToken; // [tokens / 8][blocks][8]
    private final float[] q8ChunksByToken; // [tokens / 8][cols][8] q8Chunks of eight tokens side by side
    private final float[] q8NegatedEightSumsByToken; // [tokens / 8][blocks][8]
    private final int[] q8Pairs; // [tokens][cols / 2] two quants as the halves of an int (q8Pairs())
    private final int[] blockQuants; // [tokens][32] each token's block being quantized
    private final boolean[] prepared = new boolean[ActivationFormat.values().length];
    private final KQuantActivations kquant; // Q8_K
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
        this.blockQuants = new int[maxTokens * ActivationFormat.BLOCK];
        this.sums = new float[maxTokens * TypeKernels.groupCount(maxCols)];
        int blocks = maxCols / ActivationFormat.BLOCK;
        this.q8 = new float[maxTokens * blocks * ActivationFormat.BLOCK];
        this.q8Scales = new float[maxTokens * blocks];
        this.q8Sums = new float[maxTokens * blocks];
        this.kquant = new KQuantActivations(maxTokens, maxCols);
        this.q8Offsets = new float[maxTokens * blocks * Lanes.N];
        this.q8NegatedEightSums = new float[maxTokens * blocks];
        this.q8Chunks = new float[maxTokens * blocks * ActivationFormat.BLOCK];
        int eights = (maxTokens + Lanes.N - 1) / Lanes.N;
        this.q8ByToken = new float[eights * Lanes.N * blocks * ActivationFormat.BLOCK];
        this.q8ScalesByToken = new float[eights * Lanes.N * blocks];
        this.q8ChunksByToken = new float[eights * Lanes.N * blocks * ActivationFormat.BLOCK];
        this.q8NegatedEightSumsByToken = new float[eights * Lanes.N * blocks];
        this.q8Pairs = new int[maxTokens * blocks * ActivationFormat.BLOCK / 2];
    }

    /**
     * Takes {@code x} ({@code [tokens][cols]}, not copied: leave it unchanged until the products are done) and
     * forgets the forms prepared for the previous input.
     */
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
        java.util.Arrays.fill(prepared, false);
        // The float form costs a pass over x and every product so far has used it: computed at once.
        prepare(ActivationFormat.FLOAT);
        return this;
    }

    /**
     * Computes {@code format} from the floats, unless it is already there.
     *
     * @throws IllegalArgumentException if the columns are not whole blocks of an 8-bit format
     */
    public Activations prepare(ActivationFormat format) {
        if (prepared[format.ordinal()]) {
            return this;
        }
        switch (format) {
            case FLOAT -> {
                for (int t = 0; t < tokens; t++) {
                    TypeKernels.groupSums(x, t * cols, cols, sums, t * groups);
                }
            }
            case Q8_0, Q8_1 -> {
                quantizeQ8();
                // One rounding serves both: Q8_1 only adds the sums.
                markQ8Prepared();
            }
            case F16 -> {
                // The floats, taken at set: F16 kernels round them to halves where llama.cpp does (F16Kernels).
            }
            case Q8_K -> {
                if (!kquant.set(x, tokens, cols).ready()) {
                    throw new IllegalArgumentException(
                            cols + " columns are not whole blocks of " + KQuantActivations.BLOCK);
                }
            }
        }
        prepared[format.ordinal()] = true;
        return this;
    }

    /** Whether {@code format} is prepared for the current input. */
    public boolean isPrepared(ActivationFormat format) {
        return prepared[format.ordinal()];
    }

    private void quantizeQ8() {
        requireQ8Blocks();
        quantizeQ8(0, tokens);
    }

    /** @throws IllegalArgumentException unless the columns are whole blocks of the 8-bit formats */
    void requireQ8Blocks() {
        int block = ActivationFormat.BLOCK;
        if (cols % block != 0) {
            throw new IllegalArgumentException(cols + " columns are not whole blocks of " + block);
        }
    }

    /**
     * The 8-bit forms ({@link ActivationFormat#Q8_0}, {@link ActivationFormat#Q8_1}) of tokens {@code [from, to)}:
     * tokens write disjoint places, so that threads may share the work ({@link MatMul}); then {@link #markQ8Prepared}.
     */
    void quantizeQ8(int from, int to) {
        int block = ActivationFormat.BLOCK;
        int blocks = cols / block;
        for (int t = from; t < to; t++) {
            int qo = t * block; // this token's own scratch
            for (int b = 0; b < blocks; b++) {
                int at = t * cols + b * block;
                ActivationFormat.quantizeQ8(x, at, block, blockQuants, qo, q8Scales, q8Sums, t * blocks + b);
                int sum = 0;
                for (int i = 0; i < 8; i++) {
                    int lane = 0;
                    for (int m = 0; m < 4; m++) {
                        q8[at + 8 * m + i] = blockQuants[qo + 4 * i + m];
                        lane += blockQuants[qo + 4 * i + m];
                    }
                    q8Offsets[(t * blocks + b) * Lanes.N + i] = -8 * lane;
                    sum += lane;
                }
                q8NegatedEightSums[t * blocks + b] = -8 * sum;
                for (int c = 0; c < 4; c++) {
                    for (int n = 0; n < 8; n++) {
                        q8Chunks[at + 8 * c + n] = blockQuants[qo + 4 * c + n / 2 + 16 * (n % 2)];
                    }
                    for (int k = 0; k < 4; k++) {
                        // Nibble k of a 16-bit lane: weight 4c + k/2 (+ 16 if k is odd), and two on in the odd lane.
                        int even = blockQuants[qo + 4 * c + k / 2 + 16 * (k % 2)];
                        int odd = blockQuants[qo + 4 * c + k / 2 + 16 * (k % 2) + 2];
                        q8Pairs[at / 2 + 4 * c + k] = (even & 0xffff) | (odd << 16);
                    }
                }
            }
            if (tokens > 1) {
                int eight = t / Lanes.N;
                int k = t % Lanes.N;
                for (int c = 0; c < cols; c++) {
                    q8ByToken[((eight * cols) + c) * Lanes.N + k] = q8[t * cols + c];
                    q8ChunksByToken[((eight * cols) + c) * Lanes.N + k] = q8Chunks[t * cols + c];
                }
                for (int b = 0; b < blocks; b++) {
                    q8ScalesByToken[((eight * blocks) + b) * Lanes.N + k] = q8Scales[t * blocks + b];
                    q8NegatedEightSumsByToken[((eight * blocks) + b) * Lanes.N + k] =
                            q8NegatedEightSums[t * blocks + b];
                }
            }
        }
    }

    /** Records that {@link #quantizeQ8(int, int)} has covered every token. */
    void markQ8Prepared() {
        prepared[ActivationFormat.Q8_0.ordinal()] = true;
        prepared[ActivationFormat.Q8_1.ordinal()] = true;
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

    /** Sums per token and group, {@code [tokens][groups]} ({@link ActivationFormat#FLOAT}). */
    float[] sums() {
        return sums;
    }

    /** Groups of {@value TypeKernels#SUM_GROUP} per token. */
    int groups() {
        return groups;
    }

    /** The tokens rounded per block of 256 ({@link ActivationFormat#Q8_K}). */
    KQuantActivations kquant() {
        return kquant;
    }

    /** 8-bit quants as floats, {@code [tokens][cols]}, each block in lane order. */
    float[] q8() {
        return q8;
    }

    /** Scales {@code d} per token and block of 32, {@code [tokens][cols / 32]}. */
    float[] q8Scales() {
        return q8Scales;
    }

    /**
     * Per token, block and lane, {@code -8} times the sum of the lane's four quants, {@code [tokens][cols / 32][8]}:
     * a kernel whose weights are {@code q - 8} starts each block's lane sums from it instead of subtracting 8 from
     * every quant (exact: these are small integers); {@code q - 16} starts from twice it.
     */
    float[] q8Offsets() {
        return q8Offsets;
    }

    /**
     * Per token and block, {@code -8} times the sum of the block's quants, {@code [tokens][cols / 32]}: where a
     * kernel's block sum of {@code (q - 8) * x} starts, so that it needs no subtraction per weight.
     */
    float[] q8NegatedEightSums() {
        return q8NegatedEightSums;
    }

    /**
     * The quants of {@link #q8()} in <em>chunk order</em>, {@code [tokens][cols]}: position {@code 8c + n} of a block
     * holds element {@code 4c + n/2} for even {@code n} and {@code 4c + n/2 + 16} for odd {@code n}, the weight that
     * nibble {@code n} of chunk {@code c} of an interleaved Q4_0 block holds ({@link Q4_0InterleavedKernels}).
     */
    float[] q8Chunks() {
        return q8Chunks;
    }

    /**
     * For products of several tokens: the quants of {@link #q8()} (same positions, each block in lane order) with
     * eight tokens side by side, {@code [tokens / 8][cols][8]}: position {@code c} of tokens {@code 8e .. 8e + 7} at
     * {@code (e * cols + c) * 8}, one vector. A last partial eight has stale values in its unused lanes. Filled only
     * for more than one token.
     */
    float[] q8ByToken() {
        return q8ByToken;
    }

    /**
     * The quants of {@link #q8Chunks()} with eight tokens side by side, as {@link #q8ByToken()}: position {@code c}
     * (chunk order) of tokens {@code 8e .. 8e + 7} at {@code (e * cols + c) * 8}. Filled only for more than one token.
     */
    float[] q8ChunksByToken() {
        return q8ChunksByToken;
    }

    /**
     * The quants in pairs for 16-bit products with interleaved Q4_0 ({@link Q4_0InterleavedKernels}), {@code [tokens][cols
     * / 2]}: int {@code 16b + 4c + k} of a token holds, in its low half, the quant that nibble {@code k} of the even
     * 16-bit lanes of chunk {@code c} of block {@code b} meets (element {@code 4c + k/2}, plus 16 for odd {@code k})
     * and in its high half the one two elements on, which the odd lanes meet.
     */
    int[] q8Pairs() {
        return q8Pairs;
    }

    /** {@link #q8NegatedEightSums()} laid out as {@link #q8ScalesByToken()}. */
    float[] q8NegatedEightSumsByToken() {
        return q8NegatedEightSumsByToken;
    }

    /** The scales of {@link #q8Scales()} laid out as {@link #q8ByToken()}: {@code [tokens / 8][blocks][8]}. */
    float[] q8ScalesByToken() {
        return q8ScalesByToken;
    }

    /** Sums {@code s} per token and block of 32 ({@link ActivationFormat#Q8_1}). */
    float[] q8Sums() {
        return q8Sums;
    }
}
