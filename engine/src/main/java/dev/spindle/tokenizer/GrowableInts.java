package dev.spindle.tokenizer;

import java.util.Arrays;

/** An append-only int array that keeps its storage when cleared, for per-thread scratch space. */
final class GrowableInts {

    int[] data;
    int size;

    GrowableInts(int capacity) {
        data = new int[Math.max(4, capacity)];
    }

    void clear() {
        size = 0;
    }

    void add(int value) {
        if (size == data.length) {
            data = Arrays.copyOf(data, size * 2);
        }
        data[size++] = value;
    }

    void addAll(int[] values, int from, int to) {
        int n = to - from;
        if (size + n > data.length) {
            data = Arrays.copyOf(data, Math.max(data.length * 2, size + n));
        }
        System.arraycopy(values, from, data, size, n);
        size += n;
    }

    int[] toArray() {
        return Arrays.copyOf(data, size);
    }
}
