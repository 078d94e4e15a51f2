package dev.spindle.tokenizer;

import java.util.Arrays;

/**
 * Working arrays for one thread's encoding, kept between calls so that encoding allocates only its result.
 *
 * <p>Symbols are the units that merges join: a linked list over the text ({@link #prev}, {@link #next}), each with the
 * bytes it covers ({@link #symStart}, {@link #symLength}, zero once merged away) and what it is ({@link #symId}). The
 * candidate merge of a symbol with its right neighbour is {@link #candidateKey}/{@link #candidateResult}; the heap
 * holds candidate keys packed with the left symbol's index and is checked against the current candidate when popped,
 * so superseded entries need no removal.
 */
final class EncodeScratch {

    /** SentencePiece's escaped copy of a fragment. */
    byte[] work = new byte[256];

    int[] codepoints = new int[256];
    int[] codepointStarts = new int[257];
    final GrowableInts words = new GrowableInts(64);
    final GrowableInts splitScratch = new GrowableInts(64);
    final GrowableInts fragments = new GrowableInts(16);
    final GrowableInts fragmentScratch = new GrowableInts(16);
    final GrowableInts output = new GrowableInts(256);

    int[] symStart = new int[64];
    int[] symLength = new int[64];
    int[] symId = new int[64];
    int[] prev = new int[64];
    int[] next = new int[64];
    int[] candidateKey = new int[64];
    int[] candidateResult = new int[64];
    long[] heap = new long[64];
    int heapSize;

    byte[] ensureWork(int n) {
        if (work.length < n) {
            work = new byte[Math.max(n, work.length * 2)];
        }
        return work;
    }

    void ensureCodepoints(int n) {
        if (codepoints.length < n + 1) {
            int size = Math.max(n + 1, codepoints.length * 2);
            codepoints = new int[size];
            codepointStarts = new int[size + 1];
        }
    }

    void ensureSymbols(int n) {
        if (symStart.length < n) {
            int size = Math.max(n, symStart.length * 2);
            symStart = new int[size];
            symLength = new int[size];
            symId = new int[size];
            prev = new int[size];
            next = new int[size];
            candidateKey = new int[size];
            candidateResult = new int[size];
        }
    }

    void heapClear() {
        heapSize = 0;
    }

    void heapPush(long key) {
        if (heapSize == heap.length) {
            heap = Arrays.copyOf(heap, heapSize * 2);
        }
        int i = heapSize++;
        long[] h = heap;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= key) {
                break;
            }
            h[i] = h[parent];
            i = parent;
        }
        h[i] = key;
    }

    /** Appends without ordering; call {@link #heapify} before the next pop. */
    void heapAppend(long key) {
        if (heapSize == heap.length) {
            heap = Arrays.copyOf(heap, heapSize * 2);
        }
        heap[heapSize++] = key;
    }

    /** Restores heap order over everything appended, in linear time. */
    void heapify() {
        long[] h = heap;
        int n = heapSize;
        for (int start = (n >>> 1) - 1; start >= 0; start--) {
            long key = h[start];
            int i = start;
            while (true) {
                int child = 2 * i + 1;
                if (child >= n) {
                    break;
                }
                if (child + 1 < n && h[child + 1] < h[child]) {
                    child++;
                }
                if (h[child] >= key) {
                    break;
                }
                h[i] = h[child];
                i = child;
            }
            h[i] = key;
        }
    }

    long heapPop() {
        long[] h = heap;
        long top = h[0];
        long last = h[--heapSize];
        int n = heapSize;
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && h[child + 1] < h[child]) {
                child++;
            }
            if (h[child] >= last) {
                break;
            }
            h[i] = h[child];
            i = child;
        }
        if (n > 0) {
            h[i] = last;
        }
        return top;
    }
}
