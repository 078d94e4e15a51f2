package dev.spindle.kvcache.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The block pool in host memory: one off-heap {@link MemorySegment} allocated from a shared {@link Arena} at start-up
 * and never resized, laid out as {@link KvLayout} describes.
 *
 * <p>Conversions on write: F16 saturates at ±65504 so that every stored half is finite; Q8_0 stores, for each 32
 * elements, the scale {@code max|x| / 127} rounded to F16 and the quants {@code round(x / scale)}. Reads
 * ({@link #key}, {@link #value}) return exactly the floats the attention kernel computes with.
 */
public final class HostKvMemory implements KvMemory {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final float F16_MAX = 65504f;
    private static final int Q8_BLOCK = 32;
    private static final int Q8_BLOCK_BYTES = 34;
    /** Off-heap bytes held by all open instances: the only off-heap allocations this module makes. */
    private static final AtomicLong LIVE_BYTES = new AtomicLong();

    private final KvLayout layout;
    private final Arena arena;
    private final MemorySegment pool;
    private final int blockSize;
    private final int headDim;
    private final int kvHeads;

    /** Allocates (zero-filled) memory for {@code layout}'s pool. */
    public HostKvMemory(KvLayout layout) {
        this.layout = layout;
        this.arena = Arena.ofShared();
        this.pool = arena.allocate(layout.footprintBytes(), 64);
        LIVE_BYTES.addAndGet(pool.byteSize());
        this.blockSize = layout.shape().blockSize();
        this.headDim = layout.shape().headDim();
        this.kvHeads = layout.shape().kvHeads();
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    /** The pool's bytes, for kernels that read it directly. */
    public MemorySegment segment() {
        return pool;
    }

    @Override
    public long footprintBytes() {
        return pool.byteSize();
    }

    @Override
    public void write(int layer, int slot, float[] key, int keyOffset, float[] value, int valueOffset) {
        checkSlot(layer, slot);
        int floats = kvHeads * headDim;
        if (keyOffset < 0
                || keyOffset > key.length - floats
                || valueOffset < 0
                || valueOffset > value.length - floats) {
            throw new IllegalArgumentException("K and V need %d floats each; got %d from %d and %d from %d"
                    .formatted(floats, key.length, keyOffset, value.length, valueOffset));
        }
        int block = slot / blockSize;
        int token = slot % blockSize;
        for (int head = 0; head < kvHeads; head++) {
            int at = head * headDim;
            writeKey(layout.keyOffset(layer, block, head), token, key, keyOffset + at);
            writeValue(layout.valueOffset(layer, block, head) + token * layout.rowBytes(), value, valueOffset + at);
        }
    }

    private void writeKey(long headBlock, int token, float[] source, int from) {
        switch (layout.shape().type()) {
            case F32 -> {
                for (int d = 0; d < headDim; d++) {
                    pool.set(FLOAT, headBlock + ((long) d * blockSize + token) * 4, source[from + d]);
                }
            }
            case F16 -> {
                for (int d = 0; d < headDim; d++) {
                    pool.set(SHORT, headBlock + ((long) d * blockSize + token) * 2, toF16(source[from + d]));
                }
            }
            case Q8_0 -> {
                long scales = headBlock + layout.keyScalesOffset();
                for (int group = 0; group < headDim / Q8_BLOCK; group++) {
                    int start = from + group * Q8_BLOCK;
                    float scale = q8Scale(source, start);
                    pool.set(SHORT, scales + ((long) group * blockSize + token) * 2, Float.floatToFloat16(scale));
                    float inverse = scale == 0 ? 0 : 1 / scale;
                    for (int i = 0; i < Q8_BLOCK; i++) {
                        int d = group * Q8_BLOCK + i;
                        pool.set(
                                ValueLayout.JAVA_BYTE,
                                headBlock + (long) d * blockSize + token,
                                quantize(source[start + i], inverse));
                    }
                }
            }
        }
    }

    private void writeValue(long row, float[] source, int from) {
        switch (layout.shape().type()) {
            case F32 -> {
                for (int d = 0; d < headDim; d++) {
                    pool.set(FLOAT, row + d * 4L, source[from + d]);
                }
            }
            case F16 -> {
                for (int d = 0; d < headDim; d++) {
                    pool.set(SHORT, row + d * 2L, toF16(source[from + d]));
                }
            }
            case Q8_0 -> {
                for (int group = 0; group < headDim / Q8_BLOCK; group++) {
                    int start = from + group * Q8_BLOCK;
                    long at = row + (long) group * Q8_BLOCK_BYTES;
                    float scale = q8Scale(source, start);
                    pool.set(SHORT, at, Float.floatToFloat16(scale));
                    float inverse = scale == 0 ? 0 : 1 / scale;
                    for (int i = 0; i < Q8_BLOCK; i++) {
                        pool.set(ValueLayout.JAVA_BYTE, at + 2 + i, quantize(source[start + i], inverse));
                    }
                }
            }
        }
    }

    /**
     * The K element {@code dim} of {@code token} (0..blockSize-1) in {@code block} for {@code kvHead}, as the attention
     * kernel sees it.
     */
    public float key(int layer, int block, int kvHead, int token, int dim) {
        checkElement(token, dim);
        long headBlock = layout.keyOffset(layer, block, kvHead);
        return switch (layout.shape().type()) {
            case F32 -> pool.get(FLOAT, headBlock + ((long) dim * blockSize + token) * 4);
            case F16 -> Float.float16ToFloat(pool.get(SHORT, headBlock + ((long) dim * blockSize + token) * 2));
            case Q8_0 -> {
                float scale = Float.float16ToFloat(pool.get(
                        SHORT,
                        headBlock + layout.keyScalesOffset() + ((long) (dim / Q8_BLOCK) * blockSize + token) * 2));
                yield pool.get(ValueLayout.JAVA_BYTE, headBlock + (long) dim * blockSize + token) * scale;
            }
        };
    }

    /** The V element {@code dim} of {@code token} in {@code block} for {@code kvHead}, as the attention kernel sees it. */
    public float value(int layer, int block, int kvHead, int token, int dim) {
        checkElement(token, dim);
        long row = layout.valueOffset(layer, block, kvHead) + token * layout.rowBytes();
        return switch (layout.shape().type()) {
            case F32 -> pool.get(FLOAT, row + dim * 4L);
            case F16 -> Float.float16ToFloat(pool.get(SHORT, row + dim * 2L));
            case Q8_0 -> {
                long at = row + (long) (dim / Q8_BLOCK) * Q8_BLOCK_BYTES;
                float scale = Float.float16ToFloat(pool.get(SHORT, at));
                yield pool.get(ValueLayout.JAVA_BYTE, at + 2 + dim % Q8_BLOCK) * scale;
            }
        };
    }

    @Override
    public void copyBlock(int source, int target) {
        checkBlock(source);
        checkBlock(target);
        if (source == target) {
            return;
        }
        long bytes = layout.layerBlockBytes();
        for (int layer = 0; layer < layout.shape().layers(); layer++) {
            for (int tensor = 0; tensor < 2; tensor++) {
                boolean value = tensor == 1;
                MemorySegment.copy(
                        pool,
                        layout.layerBlockOffset(layer, value, source),
                        pool,
                        layout.layerBlockOffset(layer, value, target),
                        bytes);
            }
        }
    }

    /** Off-heap bytes held by all open instances in this JVM, for leak checks and diagnostics. */
    public static long liveBytes() {
        return LIVE_BYTES.get();
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
            LIVE_BYTES.addAndGet(-pool.byteSize());
        }
    }

    private void checkSlot(int layer, int slot) {
        if (layer < 0 || layer >= layout.shape().layers()) {
            throw new IllegalArgumentException(
                    "layer %d is outside 0..%d".formatted(layer, layout.shape().layers() - 1));
        }
        if (slot < 0 || slot / blockSize >= layout.numBlocks()) {
            throw new IllegalArgumentException("slot %d is outside the pool's %d blocks of %d tokens"
                    .formatted(slot, layout.numBlocks(), blockSize));
        }
    }

    private void checkElement(int token, int dim) {
        if (token < 0 || token >= blockSize || dim < 0 || dim >= headDim) {
            throw new IllegalArgumentException("(token %d, dimension %d) is outside a block of %d tokens of %d"
                    .formatted(token, dim, blockSize, headDim));
        }
    }

    private void checkBlock(int block) {
        if (block < 0 || block >= layout.numBlocks()) {
            throw new IllegalArgumentException(
                    "block %d is outside the pool's %d blocks".formatted(block, layout.numBlocks()));
        }
    }

    private static short toF16(float x) {
        return Float.floatToFloat16(Math.max(-F16_MAX, Math.min(F16_MAX, x)));
    }

    /** The F16-representable Q8_0 scale of 32 elements: their largest magnitude over 127. */
    private static float q8Scale(float[] source, int start) {
        float max = 0;
        for (int i = 0; i < Q8_BLOCK; i++) {
            max = Math.max(max, Math.abs(source[start + i]));
        }
        return Float.float16ToFloat(Float.floatToFloat16(Math.min(max, F16_MAX * 127) / 127));
    }

    private static byte quantize(float x, float inverseScale) {
        return (byte) Math.max(-127, Math.min(127, Math.round(x * inverseScale)));
    }
}
