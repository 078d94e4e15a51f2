package dev.spindle.kvcache.attention;

import dev.spindle.kvcache.memory.HostKvMemory;

/**
 * The scalar twin of {@link VectorPagedAttention}: the same operations on one element at a time, in the same order
 * per element, so the two agree bit for bit. Reads elements through {@link HostKvMemory#key} and
 * {@link HostKvMemory#value}, the reference conversions.
 */
final class ScalarPagedAttention extends PagedAttention {

    /** {@code [headDim][blockSize]}: the current block's K as floats, transposed as stored. */
    private final float[] keys;
    /** {@code [blockSize][headDim]}: the current block's V as floats. */
    private final float[] values;

    ScalarPagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        super(memory, queryHeads, scale);
        this.keys = new float[headDim * blockSize];
        this.values = new float[blockSize * headDim];
    }

    @Override
    void scorePair(int layer, int first, int second, int kvHead) {
        score(layer, first, kvHead, 0);
        score(layer, second, kvHead, group * blockSize);
    }

    private void score(int layer, int block, int kvHead, int base) {
        for (int d = 0; d < headDim; d++) {
            for (int t = 0; t < blockSize; t++) {
                keys[d * blockSize + t] = memory.key(layer, block, kvHead, t, d);
            }
        }
        for (int h = 0; h < group; h++) {
            for (int t = 0; t < blockSize; t++) {
                float s = 0f;
                for (int d = 0; d < headDim; d++) {
                    s = Math.fma(scaledQuery[h * headDim + d], keys[d * blockSize + t], s);
                }
                weights[base + h * blockSize + t] = s;
            }
        }
    }

    @Override
    float rowMax(int row) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < blockSize; t++) {
            max = Math.max(max, weights[row + t]);
        }
        return max;
    }

    @Override
    void exponentiate(int base, float[] maxima) {
        for (int h = 0; h < group; h++) {
            for (int t = 0; t < blockSize; t++) {
                int at = base + h * blockSize + t;
                weights[at] = Exp.exp(weights[at] - maxima[h]);
            }
        }
    }

    @Override
    void foldSums(int row, int sumRow, float rescale) {
        for (int t = 0; t < blockSize; t++) {
            sums[sumRow + t] = Math.fma(sums[sumRow + t], rescale, weights[row + t]);
        }
    }

    @Override
    void accumulate(int layer, int block, int kvHead, int valid, int base) {
        for (int t = 0; t < valid; t++) {
            for (int d = 0; d < headDim; d++) {
                values[t * headDim + d] = memory.value(layer, block, kvHead, t, d);
            }
        }
        for (int h = 0; h < group; h++) {
            for (int d = 0; d < headDim; d++) {
                float a = accumulator[h * headDim + d] * rescale[h];
                for (int t = 0; t < valid; t++) {
                    a = Math.fma(weights[base + h * blockSize + t], values[t * headDim + d], a);
                }
                accumulator[h * headDim + d] = a;
            }
        }
    }
}
