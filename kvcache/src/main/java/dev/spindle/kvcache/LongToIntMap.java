package dev.spindle.kvcache;

import java.util.Arrays;

/**
 * A map from {@code long} keys to non-negative {@code int} values with no boxing: open addressing with linear probing
 * and backward-shift deletion. It grows by doubling when half full, so steady use allocates nothing.
 */
final class LongToIntMap {

    /** What {@link #get} returns for a missing key. */
    static final int MISSING = -1;

    private long[] keys;
    private int[] values;
    private int mask;
    private int size;

    LongToIntMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[capacity];
        values = new int[capacity];
        Arrays.fill(values, MISSING);
        mask = capacity - 1;
    }

    int size() {
        return size;
    }

    /** The value of {@code key}, or {@link #MISSING}. */
    int get(long key) {
        for (int i = index(key); ; i = (i + 1) & mask) {
            if (values[i] == MISSING) {
                return MISSING;
            }
            if (keys[i] == key) {
                return values[i];
            }
        }
    }

    /** Sets the value of {@code key}; values must be non-negative. */
    void put(long key, int value) {
        if (value < 0) {
            throw new IllegalArgumentException("values must be non-negative: " + value);
        }
        if (2 * (size + 1) > keys.length) {
            grow();
        }
        for (int i = index(key); ; i = (i + 1) & mask) {
            if (values[i] == MISSING) {
                keys[i] = key;
                values[i] = value;
                size++;
                return;
            }
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
        }
    }

    /** Removes {@code key}; returns its value, or {@link #MISSING} if it was absent. */
    int remove(long key) {
        int i = index(key);
        while (true) {
            if (values[i] == MISSING) {
                return MISSING;
            }
            if (keys[i] == key) {
                break;
            }
            i = (i + 1) & mask;
        }
        int removed = values[i];
        // Shift later entries of the probe run back so that no lookup stops early at the hole.
        int hole = i;
        for (int j = (hole + 1) & mask; values[j] != MISSING; j = (j + 1) & mask) {
            int home = index(keys[j]);
            boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                keys[hole] = keys[j];
                values[hole] = values[j];
                hole = j;
            }
        }
        values[hole] = MISSING;
        size--;
        return removed;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldValues.length * 2];
        Arrays.fill(values, MISSING);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldValues[i] != MISSING) {
                put(oldKeys[i], oldValues[i]);
            }
        }
    }

    private int index(long key) {
        long h = key * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
