package dev.spindle.kvcache.attention;

import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.numerics.GgmlMath;

/**
 * Attention with llama.cpp's arithmetic ({@link AttentionNumerics#LLAMA_CPP}): what its CPU backend (x86, AVX2 and
 * FMA, as the {@code de.kherud:llama} build runs it) computes without flash attention, bit for bit, for any head
 * dimension. There, attention is two matrix products around a softmax, and each follows ggml's code path for its
 * shapes:
 *
 * <ol>
 *   <li><b>Scores</b> {@code K·q}: the query is not contiguous in llama.cpp's graph, so tinyBLAS is skipped and the
 *       query is converted to the K cache's type (rounded to half precision) for {@code ggml_vec_dot_f16}: runs of 32 elements into four 8-lane accumulators, these added in a
 *       fixed tree and rounded into a double, the remaining elements added in double ({@link #dot}).
 *   <li><b>Softmax</b> ({@code ggml_soft_max_ext}): each score times the scale (a float product), minus the row's
 *       maximum, through ggml's vector exponential ({@link GgmlMath#vectorExp}); the exponentials are summed eight
 *       positions at a time (a float tree, as {@code ggml_vec_soft_max_f32}) into a double, and multiplied by the
 *       float of {@code 1 / sum}. Positions past the context are masked to zero; chunks of eight start at position
 *       0, as the cache cells of a single sequence do.
 *   <li><b>Output</b> {@code V·p}: the probabilities are rounded to the V cache's type (halves) and each
 *       output element is {@code ggml_vec_dot} of a row of the transposed V with them, over llama.cpp's padded
 *       context (a multiple of 32 cells; the masked ones have probability 0 and add nothing): so every position goes
 *       through the four 8-lane accumulators (position {@code p} to accumulator slot {@code p % 32}), summed in the
 *       same tree as the scores, with no remainder in double.
 * </ol>
 *
 * <p>Each step was checked against ggml's own {@code mul_mat}/{@code soft_max_ext} graph through FFM.
 *
 * <p>Each token and head depends only on its own query and the sequence's K and V, so results are batch-invariant,
 * as in llama.cpp. The scores of the whole context are kept ({@code [group][max context]} floats, allocated once for
 * the pool's largest context); calls allocate nothing.
 */
final class LlamaCppPagedAttention extends PagedAttention {

    private final float llamaScale;
    private final int maxContext;
    /** {@code [group][headDim]}: the query as the product sees it. */
    private final float[] query;
    /** {@code [group][maxContext]}: scores, then probabilities. */
    private final float[] probabilities;
    /** {@code [headDim]}: one position's K. */
    private final float[] key;
    /** {@code [group][headDim][32]}: the output's accumulators, four of 8 lanes each. */
    private final float[] lanes;
    /** {@code [32]}: the score's four 8-lane accumulators. */
    private final float[] dotLanes = new float[32];

    LlamaCppPagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        super(memory, queryHeads, scale);
        AttentionNumerics.LLAMA_CPP.requireSupported(memory.layout().shape().type());
        this.llamaScale = scale;
        this.maxContext = memory.layout().numBlocks() * blockSize;
        this.query = new float[group * headDim];
        this.probabilities = new float[group * maxContext];
        this.key = new float[headDim];
        this.lanes = new float[group * headDim * 32];
    }

    // The three entry points are overridden as a whole rather than sharing PagedAttention's: code paths that the
    // vector kernel runs stay free of this kernel's calls, so C2 inlines them as before (a shared call that saw both
    // kernels made it box the vector kernel's vectors).

    @Override
    public void attend(
            int layer,
            float[] queries,
            int queryOffset,
            int[] blockTable,
            int contextLength,
            float[] out,
            int outOffset) {
        check(layer, queries, queryOffset, 1, blockTable, contextLength, out, outOffset);
        for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
            attendTwoPass(layer, kvHead, queries, queryOffset, blockTable, contextLength, out, outOffset);
        }
    }

    @Override
    public void attendGroup(
            int layer,
            int kvHead,
            float[] queries,
            int queryOffset,
            int[] blockTable,
            int contextLength,
            float[] out,
            int outOffset) {
        if (kvHead < 0 || kvHead >= kvHeads) {
            throw new IllegalArgumentException("KV head %d is outside 0..%d".formatted(kvHead, kvHeads - 1));
        }
        check(layer, queries, queryOffset, 1, blockTable, contextLength, out, outOffset);
        attendTwoPass(layer, kvHead, queries, queryOffset, blockTable, contextLength, out, outOffset);
    }

    @Override
    public void attendCausal(
            int layer,
            float[] queries,
            int queriesOffset,
            int tokens,
            int firstPosition,
            int[] blockTable,
            float[] out,
            int outOffset) {
        if (tokens < 1 || firstPosition < 0) {
            throw new IllegalArgumentException("a causal chunk needs at least one token at a position of 0 or more, not"
                    + " %d tokens at %d".formatted(tokens, firstPosition));
        }
        int contextLength = Math.addExact(firstPosition, tokens);
        check(layer, queries, queriesOffset, tokens, blockTable, contextLength, out, outOffset);
        int stride = queryHeads * headDim;
        for (int i = 0; i < tokens; i++) {
            for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
                attendTwoPass(
                        layer,
                        kvHead,
                        queries,
                        queriesOffset + i * stride,
                        blockTable,
                        firstPosition + i + 1,
                        out,
                        outOffset + i * stride);
            }
        }
    }

    /** One KV head's group of query heads over the context, in llama.cpp's two passes. */
    private void attendTwoPass(
            int layer,
            int kvHead,
            float[] queries,
            int queryOffset,
            int[] blockTable,
            int contextLength,
            float[] out,
            int outOffset) {
        int groupQuery = queryOffset + kvHead * group * headDim;
        for (int i = 0; i < group * headDim; i++) {
            float q = queries[groupQuery + i];
            query[i] = half(q);
        }
        for (int p = 0; p < contextLength; p++) {
            int block = blockTable[p / blockSize];
            int t = p % blockSize;
            for (int d = 0; d < headDim; d++) {
                key[d] = memory.key(layer, block, kvHead, t, d);
            }
            for (int h = 0; h < group; h++) {
                probabilities[h * maxContext + p] = dot(query, h * headDim, key, headDim, dotLanes) * llamaScale;
            }
        }
        for (int h = 0; h < group; h++) {
            softmax(h * maxContext, contextLength);
        }
        java.util.Arrays.fill(lanes, 0f);
        for (int p = 0; p < contextLength; p++) {
            int block = blockTable[p / blockSize];
            int t = p % blockSize;
            int slot = p & 31;
            for (int d = 0; d < headDim; d++) {
                float v = memory.value(layer, block, kvHead, t, d);
                for (int h = 0; h < group; h++) {
                    int at = (h * headDim + d) * 32 + slot;
                    lanes[at] = Math.fma(v, probabilities[h * maxContext + p], lanes[at]);
                }
            }
        }
        int target = outOffset + kvHead * group * headDim;
        for (int h = 0; h < group; h++) {
            for (int d = 0; d < headDim; d++) {
                out[target + h * headDim + d] = reduce(lanes, (h * headDim + d) * 32);
            }
        }
    }

    /** Scores to probabilities in place over {@code probabilities[row .. row + length)}, as ggml's softmax. */
    private void softmax(int row, int length) {
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < length; p++) {
            float s = probabilities[row + p];
            max = s > max ? s : max;
        }
        double sum = 0;
        float[] chunk = dotLanes;
        for (int from = 0; from < length; from += 8) {
            for (int l = 0; l < 8; l++) {
                int p = from + l;
                chunk[l] = p < length ? GgmlMath.vectorExp(probabilities[row + p] - max) : 0f;
                if (p < length) {
                    probabilities[row + p] = chunk[l];
                }
            }
            sum += ((chunk[0] + chunk[4]) + (chunk[2] + chunk[6])) + ((chunk[1] + chunk[5]) + (chunk[3] + chunk[7]));
        }
        float inverse = (float) (1.0 / sum);
        for (int p = 0; p < length; p++) {
            float probability = probabilities[row + p] * inverse;
            probabilities[row + p] = half(probability);
        }
    }

    /**
     * {@code x[xOffset ..] · y[0 .. count)} in the order of ggml's {@code ggml_vec_dot_f16}/{@code _f32} on AVX2:
     * accumulator {@code j} lane {@code l} takes element {@code 32m + 8j + l} by fused multiply-adds; then lane-wise
     * {@code (a0 + a2) + (a1 + a3)}, the eight lanes as {@code ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))}
     * (two horizontal adds), that float into a double, the last {@code count % 32} products (each rounded to float)
     * added in double, and the double rounded to float. {@code acc} is scratch of 32 floats.
     */
    static float dot(float[] x, int xOffset, float[] y, int count, float[] acc) {
        java.util.Arrays.fill(acc, 0, 32, 0f);
        int whole = count & ~31;
        for (int i = 0; i < whole; i += 32) {
            for (int e = 0; e < 32; e++) {
                acc[e] = Math.fma(x[xOffset + i + e], y[i + e], acc[e]);
            }
        }
        double sum = reduce(acc, 0);
        for (int i = whole; i < count; i++) {
            sum += x[xOffset + i] * y[i];
        }
        return (float) sum;
    }

    /**
     * ggml's reduction of four 8-lane accumulators {@code acc[at + 8j + l]}: lane-wise {@code (a0 + a2) + (a1 + a3)},
     * then {@code ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))}. Overwrites the first eight.
     */
    private static float reduce(float[] acc, int at) {
        for (int l = 0; l < 8; l++) {
            acc[at + l] = (acc[at + l] + acc[at + 16 + l]) + (acc[at + 8 + l] + acc[at + 24 + l]);
        }
        return ((acc[at] + acc[at + 4]) + (acc[at + 1] + acc[at + 5]))
                + ((acc[at + 2] + acc[at + 6]) + (acc[at + 3] + acc[at + 7]));
    }

    /** {@code x} rounded to half precision, as ggml converts a product's input to the F16 cache's type. */
    private static float half(float x) {
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }

    // The online walk's steps, which this kernel replaces as a whole (attendTwoPass).

    @Override
    void scorePair(int layer, int first, int second, int kvHead) {
        throw new IllegalStateException("not part of llama.cpp's two-pass attention");
    }

    @Override
    float rowMax(int row) {
        throw new IllegalStateException("not part of llama.cpp's two-pass attention");
    }

    @Override
    void exponentiate(float[] maxima) {
        throw new IllegalStateException("not part of llama.cpp's two-pass attention");
    }

    @Override
    void foldSums(int row, float rescale) {
        throw new IllegalStateException("not part of llama.cpp's two-pass attention");
    }

    @Override
    void accumulatePair(int layer, int first, int second, int kvHead, int valid) {
        throw new IllegalStateException("not part of llama.cpp's two-pass attention");
    }
}
