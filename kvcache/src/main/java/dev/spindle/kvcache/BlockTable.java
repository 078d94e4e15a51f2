package dev.spindle.kvcache;

import java.util.Arrays;

/**
 * One sequence's block table: logical block {@code i} (positions {@code i * blockSize ..}) lives in physical block
 * {@code blockId(i)}. Owned and changed only by {@link KvCacheManager}; others get it as a read-only view, valid until
 * the manager next changes that sequence.
 */
public final class BlockTable {

    private final int blockSize;
    private int[] ids;
    private int size;

    BlockTable(int blockSize, int expectedBlocks) {
        this.blockSize = blockSize;
        this.ids = new int[Math.max(4, expectedBlocks)];
    }

    /** Logical blocks in the table. */
    public int size() {
        return size;
    }

    /** Tokens the table's blocks can hold. */
    public int capacity() {
        return size * blockSize;
    }

    /** The physical block of logical block {@code index}. */
    public int blockId(int index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("logical block %d is outside 0..%d".formatted(index, size - 1));
        }
        return ids[index];
    }

    /**
     * The table's backing array, for kernels: entries {@code 0 .. size()-1} are the physical block ids, the rest is
     * unused. Read it; never write it.
     */
    public int[] ids() {
        return ids;
    }

    /** A copy of the physical block ids, in logical order. */
    public int[] toArray() {
        return Arrays.copyOf(ids, size);
    }

    /** The slot ({@code physicalBlock * blockSize + offset}) that holds {@code position}'s K and V. */
    public int slot(int position) {
        if (position < 0 || position >= size * blockSize) {
            throw new IndexOutOfBoundsException(
                    "position %d is outside the %d slots allocated".formatted(position, size * blockSize));
        }
        return ids[position / blockSize] * blockSize + position % blockSize;
    }

    void add(int block) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = block;
    }

    void set(int index, int block) {
        ids[index] = block;
    }
}
