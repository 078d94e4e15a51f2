package dev.spindle.kvcache.attention;

import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;
import dev.spindle.quant.Kernels;
import java.util.Arrays;

/**
 * Attention of query tokens over the paged K and V of one sequence: {@code softmax(q·K / sqrt(d)) · V} for every
 * query head, where query head {@code h} reads KV head {@code h / (queryHeads / kvHeads)} (grouped-query attention).
 *
 * <p>The sequence's K and V are found through its block table: position {@code p} lies in physical block
 * {@code blockTable[p / blockSize]} at offset {@code p % blockSize}. The caller writes each token's K and V (through
 * {@link HostKvMemory#write}) before attending over it.
 *
 * <p>Numerics. Each KV head's group of query heads walks the table a pair of blocks at a time, in order, keeping per
 * query head a running maximum, an accumulator rescaled at each pair (online softmax) and the softmax denominators per
 * token offset within a pair, summed in offset order at the end; all in float. Every per-element step is an exactly rounded IEEE
 * operation applied in an order fixed by the block walk, so the result for a query depends only on the query, the
 * sequence's own K and V and its context length: not on the physical block ids, on what other sequences run, on how a
 * prompt was split into chunks (prefill runs each query token through the same walk as decode), on the vector width,
 * or on whether {@link #vector} or {@link #scalar} runs — the two give bit-identical outputs.
 *
 * <p>Threads: an instance holds its scratch buffers and is used by one thread at a time. Give each worker thread its
 * own; any number of them may read the same memory at once (different sequences, or different KV heads of one
 * sequence via {@link #attendGroup}). Calls allocate nothing.
 */
public abstract sealed class PagedAttention permits VectorPagedAttention, ScalarPagedAttention, LlamaCppPagedAttention {

    protected final HostKvMemory memory;
    protected final KvLayout layout;
    protected final int headDim;
    protected final int blockSize;
    protected final int kvHeads;
    protected final int queryHeads;
    /** Query heads per KV head. */
    protected final int group;

    private final float scale;

    /** {@code [group][headDim]}: this group's query, times the scale. */
    protected final float[] scaledQuery;
    /** Tokens per step of the walk: a pair of consecutive blocks. */
    protected final int span;

    /**
     * {@code [group][span]}: the scores of the current pair of blocks (first block's tokens, then the second's), then
     * their softmax weights (0 past the context).
     */
    protected final float[] weights;
    /**
     * {@code [group]}, padded to a multiple of 16 so that vector kernels may process it in whole vectors: the factor
     * the accumulator is rescaled by for the current block.
     */
    protected final float[] rescale;
    /** {@code [group]}, padded as {@link #rescale}: each query head's running maximum before the current block. */
    protected final float[] previousMax;
    /** {@code [group][headDim]}: the unnormalised output. */
    protected final float[] accumulator;
    /**
     * {@code [group][span]}: the softmax denominators, kept per token offset within a pair of blocks (lane by lane, like
     * the accumulator) and summed in offset order at the end; this keeps the sum off the per-block critical path
     * while fixing its order.
     */
    protected final float[] sums;

    /** {@code [group]}, padded as {@link #rescale}: each query head's running maximum score. */
    protected final float[] runningMax;

    PagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        KvCacheShape shape = memory.layout().shape();
        if (queryHeads < 1 || queryHeads % shape.kvHeads() != 0) {
            throw new IllegalArgumentException(
                    "%d query heads cannot share %d KV heads evenly".formatted(queryHeads, shape.kvHeads()));
        }
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("attention scale must be positive and finite, not " + scale);
        }
        this.memory = memory;
        this.layout = memory.layout();
        this.headDim = shape.headDim();
        this.blockSize = shape.blockSize();
        this.kvHeads = shape.kvHeads();
        this.queryHeads = queryHeads;
        this.group = queryHeads / shape.kvHeads();
        this.scale = scale;
        this.scaledQuery = new float[group * headDim];
        this.span = 2 * blockSize;
        this.weights = new float[group * span];
        int padded = Math.ceilDiv(group, 16) * 16;
        this.rescale = new float[padded];
        this.previousMax = new float[padded];
        this.accumulator = new float[group * headDim];
        this.sums = new float[group * span];
        this.runningMax = new float[padded];
    }

    /**
     * The kernels for this machine: the vector ones where the project's switch ({@link Kernels#VECTOR}: the system
     * property {@code spindle.kernels}, and hardware vectors of at least 256 bits) allows them and their lanes divide
     * the block size and head dimension (see {@link #vectorSupports}), else the scalar twin. The scale is
     * {@code 1 / sqrt(headDim)}.
     */
    public static PagedAttention create(HostKvMemory memory, int queryHeads) {
        return create(memory, queryHeads, defaultScale(memory));
    }

    /** As {@link #create(HostKvMemory, int)}, with scores multiplied by {@code scale}. */
    public static PagedAttention create(HostKvMemory memory, int queryHeads, float scale) {
        return Kernels.VECTOR && vectorSupports(memory.layout().shape())
                ? vector(memory, queryHeads, scale)
                : scalar(memory, queryHeads, scale);
    }

    /**
     * The Vector API kernels.
     *
     * @throws IllegalArgumentException if they do not support the memory's shape ({@link #vectorSupports})
     */
    public static PagedAttention vector(HostKvMemory memory, int queryHeads, float scale) {
        if (!vectorSupports(memory.layout().shape())) {
            throw new IllegalArgumentException("the vector kernels need block size and head dimension to be multiples"
                    + " of %d, not %s"
                            .formatted(
                                    VectorPagedAttention.lanes(),
                                    memory.layout().shape()));
        }
        return new VectorPagedAttention(memory, queryHeads, scale);
    }

    /**
     * Whether the vector kernels handle {@code shape}: their float lanes (16 with 512-bit vectors, else 8) must divide
     * the block size (lanes run along tokens when scoring) and the head dimension (and along it when accumulating V).
     */
    public static boolean vectorSupports(KvCacheShape shape) {
        int lanes = VectorPagedAttention.lanes();
        return shape.blockSize() % lanes == 0 && shape.headDim() % lanes == 0;
    }

    /**
     * The kernels for {@code numerics}: {@link #create(HostKvMemory, int, float)} for {@link AttentionNumerics#ONLINE},
     * {@link LlamaCppPagedAttention} for {@link AttentionNumerics#LLAMA_CPP}.
     */
    public static PagedAttention create(HostKvMemory memory, int queryHeads, float scale, AttentionNumerics numerics) {
        return switch (numerics) {
            case ONLINE -> create(memory, queryHeads, scale);
            case LLAMA_CPP -> new LlamaCppPagedAttention(memory, queryHeads, scale);
        };
    }

    /** The scalar twin: the same computation one element at a time, for tests and as a fallback. */
    public static PagedAttention scalar(HostKvMemory memory, int queryHeads, float scale) {
        return new ScalarPagedAttention(memory, queryHeads, scale);
    }

    /**
     * {@code 1 / sqrt(headDim)}, the usual attention scale, rounded as llama.cpp computes it: the float reciprocal of
     * the float square root.
     */
    public static float defaultScale(HostKvMemory memory) {
        return 1f / (float) Math.sqrt(memory.layout().shape().headDim());
    }

    /** Query heads per token. */
    public int queryHeads() {
        return queryHeads;
    }

    /**
     * Attention of one query token at position {@code contextLength - 1} over positions {@code 0..contextLength-1}.
     *
     * @param query {@code [queryHeads][headDim]}
     * @param blockTable the sequence's physical block ids, at least {@code ceil(contextLength / blockSize)} of them
     * @param out receives {@code [queryHeads][headDim]}
     */
    public final void attend(int layer, float[] query, int[] blockTable, int contextLength, float[] out) {
        attend(layer, query, 0, blockTable, contextLength, out, 0);
    }

    /** As {@link #attend(int, float[], int[], int, float[])}, with the query and output at the given offsets. */
    public void attend(
            int layer,
            float[] query,
            int queryOffset,
            int[] blockTable,
            int contextLength,
            float[] out,
            int outOffset) {
        check(layer, query, queryOffset, 1, blockTable, contextLength, out, outOffset);
        for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
            attendGroupUnchecked(layer, kvHead, query, queryOffset, blockTable, contextLength, out, outOffset);
        }
    }

    /**
     * As {@link #attend(int, float[], int, int[], int, float[], int)} for only the query heads that read
     * {@code kvHead}; the others' outputs are left untouched. Lets several threads share one token's heads.
     */
    public void attendGroup(
            int layer,
            int kvHead,
            float[] query,
            int queryOffset,
            int[] blockTable,
            int contextLength,
            float[] out,
            int outOffset) {
        if (kvHead < 0 || kvHead >= kvHeads) {
            throw new IllegalArgumentException("KV head %d is outside 0..%d".formatted(kvHead, kvHeads - 1));
        }
        check(layer, query, queryOffset, 1, blockTable, contextLength, out, outOffset);
        attendGroupUnchecked(layer, kvHead, query, queryOffset, blockTable, contextLength, out, outOffset);
    }

    /**
     * Causal attention of {@code tokens} consecutive query tokens at positions {@code firstPosition ..
     * firstPosition + tokens - 1}, each over the positions up to and including its own (a chunk of prefill). The K and
     * V of all those positions must be written first. Each token's output is bit-identical to what
     * {@link #attend} gives it alone with context length {@code position + 1}.
     *
     * @param queries {@code [tokens][queryHeads][headDim]}
     * @param out receives {@code [tokens][queryHeads][headDim]}
     */
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
                attendGroupUnchecked(
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

    private void attendGroupUnchecked(
            int layer,
            int kvHead,
            float[] query,
            int queryOffset,
            int[] blockTable,
            int contextLength,
            float[] out,
            int outOffset) {
        int groupQuery = queryOffset + kvHead * group * headDim;
        for (int i = 0; i < group * headDim; i++) {
            scaledQuery[i] = query[groupQuery + i] * scale;
        }
        Arrays.fill(runningMax, Float.NEGATIVE_INFINITY);
        Arrays.fill(sums, 0f);
        Arrays.fill(accumulator, 0f);
        int blocks = Math.ceilDiv(contextLength, blockSize);
        prefetch(layer, blockTable[0], blockTable[Math.min(1, blocks - 1)], kvHead);
        for (int i = 0; i < blocks; i += 2) {
            int first = blockTable[i];
            // A last, unpaired block is paired with itself: the second half of the pair lies past the context.
            int second = i + 1 < blocks ? blockTable[i + 1] : first;
            int valid = Math.min(span, contextLength - i * blockSize);
            if (i + 2 < blocks) {
                prefetch(layer, blockTable[i + 2], blockTable[Math.min(i + 3, blocks - 1)], kvHead);
            }
            scorePair(layer, first, second, kvHead);
            softmax(valid);
            accumulatePair(layer, first, second, kvHead, valid);
        }
        int target = outOffset + kvHead * group * headDim;
        for (int h = 0; h < group; h++) {
            float sum = 0f;
            for (int t = 0; t < span; t++) {
                sum += sums[h * span + t];
            }
            for (int d = 0; d < headDim; d++) {
                out[target + h * headDim + d] = accumulator[h * headDim + d] / sum;
            }
        }
    }

    /**
     * Folds the current block's scores into the running softmax: the factor that rescales what was accumulated so far,
     * the weights {@code exp(score - max)} of the block's valid tokens (0 for the rest), and the per-offset sums.
     */
    private void softmax(int valid) {
        for (int h = 0; h < group; h++) {
            int row = h * span;
            if (valid < span) {
                Arrays.fill(weights, row + valid, row + span, Float.NEGATIVE_INFINITY);
            }
            float previous = runningMax[h];
            previousMax[h] = previous;
            runningMax[h] = Math.max(previous, rowMax(row));
        }
        rescales();
        exponentiate(runningMax);
        for (int h = 0; h < group; h++) {
            int row = h * span;
            if (valid < span) {
                Arrays.fill(weights, row + valid, row + span, 0f);
            }
            foldSums(row, rescale[h]);
        }
    }

    /**
     * Computes the scores of two blocks' tokens for every query head of the group into {@link #weights}, reading the K
     * head blocks of {@code (layer, first, kvHead)} and {@code (layer, second, kvHead)}; {@code second} may equal
     * {@code first}. Each score is one chain of fused multiply-adds over the head dimension.
     */
    abstract void scorePair(int layer, int first, int second, int kvHead);

    /**
     * Starts bringing the K and V head blocks of {@code (layer, first, kvHead)} and {@code (layer, second, kvHead)}
     * into cache; changes no result.
     */
    void prefetch(int layer, int first, int second, int kvHead) {}

    /**
     * Sets {@code rescale[h]} to {@code exp(previousMax[h] - runningMax[h])} for every query head of the group, or to 0
     * where {@code previousMax[h]} is minus infinity (nothing accumulated yet). One call for the whole group, so that a
     * vector kernel computes all the exponentials at once instead of one latency-bound scalar chain per head.
     */
    void rescales() {
        for (int h = 0; h < group; h++) {
            float previous = previousMax[h];
            rescale[h] = previous == Float.NEGATIVE_INFINITY ? 0f : Exp.exp(previous - runningMax[h]);
        }
    }

    /** The largest of {@code weights[row .. row + span)}. */
    abstract float rowMax(int row);

    /** Replaces every weight of row {@code h} by {@code Exp.exp(weight - maxima[h])}, for all rows of the group. */
    abstract void exponentiate(float[] maxima);

    /** {@code sums[row + t] = fma(sums[row + t], rescale, weights[row + t])} for every offset {@code t} of the span. */
    abstract void foldSums(int row, float rescale);

    /**
     * Rescales {@link #accumulator} by {@link #rescale} and adds the weighted V rows of the first {@code valid} tokens
     * of the pair: those of the V head block of {@code (layer, first, kvHead)}, then those of {@code (layer, second,
     * kvHead)}, in token order.
     */
    abstract void accumulatePair(int layer, int first, int second, int kvHead, int valid);

    final void check(
            int layer,
            float[] query,
            int queryOffset,
            int tokens,
            int[] blockTable,
            int contextLength,
            float[] out,
            int outOffset) {
        if (layer < 0 || layer >= layout.shape().layers()) {
            throw new IllegalArgumentException(
                    "layer %d is outside 0..%d".formatted(layer, layout.shape().layers() - 1));
        }
        if (contextLength < 1) {
            throw new IllegalArgumentException("context length must be at least 1, not " + contextLength);
        }
        long span = (long) tokens * queryHeads * headDim;
        if (queryOffset < 0 || queryOffset + span > query.length) {
            throw new IllegalArgumentException("the query holds %d floats from offset %d, not the %d needed"
                    .formatted(query.length, queryOffset, span));
        }
        if (outOffset < 0 || outOffset + span > out.length) {
            throw new IllegalArgumentException("the output holds %d floats from offset %d, not the %d needed"
                    .formatted(out.length, outOffset, span));
        }
        int blocks = Math.ceilDiv(contextLength, blockSize);
        if (blockTable.length < blocks) {
            throw new IllegalArgumentException("a context of %d tokens spans %d blocks; the block table has %d"
                    .formatted(contextLength, blocks, blockTable.length));
        }
        for (int i = 0; i < blocks; i++) {
            if (blockTable[i] < 0 || blockTable[i] >= layout.numBlocks()) {
                throw new IllegalArgumentException("block table entry %d is %d, outside the pool's %d blocks"
                        .formatted(i, blockTable[i], layout.numBlocks()));
            }
        }
    }
}
