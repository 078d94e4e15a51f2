package dev.spindle.kvcache.memory;

/**
 * Where every K and V element of the pool lies: the address arithmetic shared by the write path, the attention kernel
 * and any other backend that places the same pool elsewhere.
 *
 * <p>The pool is one byte range. It is split by layer, then K before V, then by physical block, then by KV head; the
 * innermost unit, a <em>head block</em>, holds one KV head's K (or V) for the {@code blockSize} tokens of one block:
 *
 * <pre>
 *   pool   = [layer][K, V][block][kvHead] head block
 *   K head block, F32/F16 = [headDim][blockSize] elements      transposed: one row per dimension, tokens along it
 *   K head block, Q8_0    = [headDim][blockSize] int8 quants, then [headDim/32][blockSize] F16 scales
 *   V head block, F32/F16 = [blockSize][headDim] elements      one row per token
 *   V head block, Q8_0    = [blockSize][headDim/32] GGML Q8_0 blocks (F16 scale, 32 int8 quants)
 * </pre>
 *
 * <p>Why: decode attention for one KV head reads its K head blocks to score every token against all the query heads
 * that share it (grouped-query attention). With K transposed, one vector load holds one dimension of consecutive
 * tokens, which multiplies against a broadcast query element with no horizontal sums; V stays row-major because the
 * output is a weighted sum of V rows. Q8_0 quantizes each token's K and V in blocks of 32 along the head dimension
 * (so writing a token never touches its neighbours); K's quants and scales are stored apart to keep the token lanes
 * contiguous. A head block of F16 with head dimension 64 and block size 16 is 2 KiB, read front to back.
 */
public final class KvLayout {

    private final KvCacheShape shape;
    private final int numBlocks;
    private final long rowBytes;
    private final long headBlockBytes;
    private final long blockBytes;
    private final long tensorBytes;

    public KvLayout(KvCacheShape shape, int numBlocks) {
        if (numBlocks < 1) {
            throw new IllegalArgumentException("a KV pool needs at least one block, not " + numBlocks);
        }
        this.shape = shape;
        this.numBlocks = numBlocks;
        this.rowBytes = shape.rowBytes();
        this.headBlockBytes = rowBytes * shape.blockSize();
        this.blockBytes = headBlockBytes * shape.kvHeads();
        this.tensorBytes = Math.multiplyExact(blockBytes, (long) numBlocks);
        Math.multiplyExact(tensorBytes, 2L * shape.layers());
    }

    /**
     * The layout with as many blocks as fit in {@code budgetBytes}.
     *
     * @throws IllegalArgumentException if not even one block fits
     */
    public static KvLayout forBudget(KvCacheShape shape, long budgetBytes) {
        long blocks = budgetBytes / shape.bytesPerBlock();
        if (blocks < 1) {
            throw new IllegalArgumentException("a KV cache budget of %d bytes holds no block of %d bytes (%s)"
                    .formatted(budgetBytes, shape.bytesPerBlock(), shape));
        }
        return new KvLayout(shape, (int) Math.min(blocks, Integer.MAX_VALUE - 8));
    }

    public KvCacheShape shape() {
        return shape;
    }

    /** Physical blocks in the pool. */
    public int numBlocks() {
        return numBlocks;
    }

    /** Bytes of one token's K (or V) vector for one KV head. */
    public long rowBytes() {
        return rowBytes;
    }

    /** Bytes of one head block: one KV head's K (or V) for the tokens of one block. */
    public long headBlockBytes() {
        return headBlockBytes;
    }

    /** Bytes of one block of one layer's K (or V), all KV heads: the unit that copy-on-write copies per tensor. */
    public long layerBlockBytes() {
        return blockBytes;
    }

    /** Bytes the pool takes: {@code numBlocks * shape.bytesPerBlock()}. */
    public long footprintBytes() {
        return tensorBytes * 2 * shape.layers();
    }

    /** Offset of the K head block of {@code (layer, block, kvHead)}. */
    public long keyOffset(int layer, int block, int kvHead) {
        check(layer, block, kvHead);
        return (2L * layer) * tensorBytes + block * blockBytes + kvHead * headBlockBytes;
    }

    /** Offset of the V head block of {@code (layer, block, kvHead)}. */
    public long valueOffset(int layer, int block, int kvHead) {
        check(layer, block, kvHead);
        return (2L * layer + 1) * tensorBytes + block * blockBytes + kvHead * headBlockBytes;
    }

    /** Offset of block {@code block}'s K for all heads of {@code layer} ({@code value} false) or its V (true). */
    public long layerBlockOffset(int layer, boolean value, int block) {
        check(layer, block, 0);
        return (2L * layer + (value ? 1 : 0)) * tensorBytes + block * blockBytes;
    }

    private void check(int layer, int block, int kvHead) {
        if (layer < 0
                || layer >= shape.layers()
                || block < 0
                || block >= numBlocks
                || kvHead < 0
                || kvHead >= shape.kvHeads()) {
            throw new IllegalArgumentException(
                    "(layer %d, block %d, KV head %d) is outside %d layers, %d blocks, %d heads"
                            .formatted(layer, block, kvHead, shape.layers(), numBlocks, shape.kvHeads()));
        }
    }

    /** Offset, inside a Q8_0 K head block, of the F16 scales: they follow the {@code headDim * blockSize} quants. */
    public long keyScalesOffset() {
        return (long) shape.headDim() * shape.blockSize();
    }
}
