package dev.spindle.kvcache.memory;

/**
 * What the KV cache stores for one token: {@code layers} layers, each with K and V vectors of {@code headDim} elements
 * for each of {@code kvHeads} KV heads, in element type {@code type}; tokens are grouped into blocks of
 * {@code blockSize}.
 *
 * <p>Block size is a multiple of 16 so that the attention kernel's vectors (up to 16 float lanes) tile it exactly. The
 * head dimension is a multiple of 8 (small models such as stories260K have heads of 8); the vector kernels need it to
 * be a multiple of their lane count and the scalar twin runs otherwise ({@link
 * dev.spindle.kvcache.attention.PagedAttention#create}). Q8_0 also needs the head dimension to be a multiple of its
 * 32-element blocks.
 *
 * @param layers transformer layers, at least 1
 * @param kvHeads KV heads per layer, at least 1
 * @param headDim elements per head vector, a multiple of 8 (of 32 for Q8_0)
 * @param blockSize tokens per block, a multiple of 16 (16 is the usual choice)
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
        if (headDim < 8 || headDim % 8 != 0 || headDim % type.ggmlType().blockSize() != 0) {
            throw new IllegalArgumentException("head dimension %d is not a positive multiple of %d for %s"
                    .formatted(headDim, Math.max(8, type.ggmlType().blockSize()), type));
        }
        if (blockSize < 16 || blockSize % 16 != 0 || blockSize > 1024) {
            throw new IllegalArgumentException(
                    "block size %d is not a multiple of 16 between 16 and 1024 tokens".formatted(blockSize));
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
