package dev.spindle.kvcache.memory;

/**
 * The bytes behind the block pool, wherever they live. The host implementation is {@link HostKvMemory}; a CUDA backend
 * implements the same interface over device memory, while the block tables stay on the host and are shipped with each
 * step.
 *
 * <p>Writes and reads of different slots may run on several threads at once; {@link #copyBlock} and {@link #close} are
 * called by the engine thread between steps.
 */
public interface KvMemory extends AutoCloseable {

    /** Where each element lies. */
    KvLayout layout();

    /**
     * Stores one token's K and V for every KV head of {@code layer} into {@code slot} ({@code block * blockSize +
     * offset}), converting from float to the element type.
     *
     * @param key {@code [kvHeads][headDim]} floats starting at {@code keyOffset}
     * @param value {@code [kvHeads][headDim]} floats starting at {@code valueOffset}
     */
    void write(int layer, int slot, float[] key, int keyOffset, float[] value, int valueOffset);

    /** Copies the whole of block {@code source} (every layer, K and V) over block {@code target}: copy-on-write. */
    void copyBlock(int source, int target);

    /** Bytes this memory holds, fixed from creation until {@link #close}. */
    long footprintBytes();

    /** Releases the memory; the pool must not be used afterwards. */
    @Override
    void close();
}
