package dev.spindle.tokenizer;

import java.util.Arrays;

/**
 * A map from byte sequences to ints, built once and then read by many threads.
 *
 * <p>Keys live back to back in one byte array and the table is open addressing over key indices, so a lookup of a
 * slice of the caller's buffer hashes and compares in place and allocates nothing. Putting a key again replaces its
 * value, as llama.cpp's {@code token_to_id[text] = id} does for duplicate token texts.
 */
final class ByteSequenceTable {

    private static final int EMPTY = -1;

    private byte[] pool = new byte[1024];
    private int poolSize;
    private int[] keyStart = new int[64];
    private int[] keyLength = new int[64];
    private int[] values = new int[64];
    private int size;
    private int[] slots;
    private int mask;

    ByteSequenceTable(int expectedKeys) {
        int capacity = Integer.highestOneBit(Math.max(16, expectedKeys * 2 - 1)) << 1;
        slots = new int[capacity];
        Arrays.fill(slots, EMPTY);
        mask = capacity - 1;
    }

    int size() {
        return size;
    }

    /** The value for {@code key[offset, offset + length)}, or {@code missing}. */
    int get(byte[] key, int offset, int length, int missing) {
        int slot = hash(key, offset, length) & mask;
        while (true) {
            int entry = slots[slot];
            if (entry == EMPTY) {
                return missing;
            }
            if (keyLength[entry] == length
                    && Arrays.equals(pool, keyStart[entry], keyStart[entry] + length, key, offset, offset + length)) {
                return values[entry];
            }
            slot = (slot + 1) & mask;
        }
    }

    int get(byte[] key, int missing) {
        return get(key, 0, key.length, missing);
    }

    void put(byte[] key, int value) {
        int slot = hash(key, 0, key.length) & mask;
        while (true) {
            int entry = slots[slot];
            if (entry == EMPTY) {
                break;
            }
            if (keyLength[entry] == key.length
                    && Arrays.equals(pool, keyStart[entry], keyStart[entry] + key.length, key, 0, key.length)) {
                values[entry] = value;
                return;
            }
            slot = (slot + 1) & mask;
        }
        if (size == values.length) {
            keyStart = Arrays.copyOf(keyStart, size * 2);
            keyLength = Arrays.copyOf(keyLength, size * 2);
            values = Arrays.copyOf(values, size * 2);
        }
        if (poolSize + key.length > pool.length) {
            pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolSize + key.length));
        }
        System.arraycopy(key, 0, pool, poolSize, key.length);
        keyStart[size] = poolSize;
        keyLength[size] = key.length;
        values[size] = value;
        poolSize += key.length;
        slots[slot] = size++;
        if (size * 2 > slots.length) {
            grow();
        }
    }

    private void grow() {
        int[] bigger = new int[slots.length * 2];
        Arrays.fill(bigger, EMPTY);
        int newMask = bigger.length - 1;
        for (int entry = 0; entry < size; entry++) {
            int slot = hash(pool, keyStart[entry], keyLength[entry]) & newMask;
            while (bigger[slot] != EMPTY) {
                slot = (slot + 1) & newMask;
            }
            bigger[slot] = entry;
        }
        slots = bigger;
        mask = newMask;
    }

    /** FNV-1a over the bytes, then a finalising mix so that the low bits used as the slot index spread well. */
    static int hash(byte[] key, int offset, int length) {
        int h = 0x811c9dc5;
        for (int i = offset, end = offset + length; i < end; i++) {
            h = (h ^ (key[i] & 0xff)) * 0x01000193;
        }
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }
}
