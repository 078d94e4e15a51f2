package dev.spindle.kvcache.memory;

/**
 * What the KV cache stores for one token: {@code layers} layers, each with K and V vectors of {@code headDim} elements
 * for each of {@code kvHeads} KV heads, in element type {@code type}; tokens are grouped into blocks of
 * {@code blockSize}.
 *
 * <p>Q8_0 needs the head dimension to be a multiple of its 32-element blocks. The vector attention kernel runs when
 * its float lanes (16 with 512-bit vectors, 8 with 256-bit ones) divide both the block size and the head dimension,
 * as they do for every usual model; other shapes (such as the head dimension of 8 of tiny test models) get the scalar
 * kernel.
 *
 * @param layers transformer layers, at least 1
 * @param kvHeads KV heads per layer, at least 1
 * @param headDim elements per head vector, at least 1 (a multiple of 32 for Q8_0)
 * @param blockSize tokens per block, 1 to 1024 (16 is the usual choice)
 * @param type element type of K and V
 */
public record KvCacheShape(int layers, int kvHeads, int headDim, int blockSize, KvType type) {

    /** The block size used when none is configured. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    public KvCacheShape {
        if (layers < 1 || kvHeads < 1) {
            throw new IllegalArgumentException(
                    "a KV cache needs at least one layer and one KV head, not %d layers and %d heads"
                            .formatted(layers, kvHeads));
        }
        if (type == null) {
            throw new IllegalArgumentException("the KV element type is missing");
        }
        if (headDim < 1 || headDim % type.ggmlType().blockSize() != 0) {
            throw new IllegalArgumentException("head dimension %d is not a positive multiple of %d, as %s needs"
                    .formatted(headDim, type.ggmlType().blockSize(), type));
        }
        if (blockSize < 1 || blockSize > 1024) {
            throw new IllegalArgumentException("block size %d is not between 1 and 1024 tokens".formatted(blockSize));
        }
    }

    /** Bytes of one token's K (or V) vector for one KV head. */
    public long rowBytes() {
        return type.bytesFor(headDim);
    }

    /** Bytes one block occupies across all layers, K and V together. */
    public long bytesPerBlock() {
        return 2L * layers * kvHeads * blockSize * rowBytes();
    }

    /** Floats in one token's K (or V) for one layer: all KV heads, {@code [kvHeads][headDim]}. */
    public int kvDim() {
        return kvHeads * headDim;
    }
}
