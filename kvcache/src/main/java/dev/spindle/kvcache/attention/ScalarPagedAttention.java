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
    /** {@code [2 * blockSize][headDim]}: the current pair of blocks' V as floats. */
    private final float[] values;

    ScalarPagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        super(memory, queryHeads, scale);
        this.keys = new float[headDim * blockSize];
        this.values = new float[2 * blockSize * headDim];
    }

    @Override
    void scorePair(int layer, int first, int second, int kvHead) {
        score(layer, first, kvHead, 0);
        score(layer, second, kvHead, blockSize);
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
                weights[h * span + base + t] = s;
            }
        }
    }

    @Override
    float rowMax(int row) {
        float max = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < span; t++) {
            max = Math.max(max, weights[row + t]);
        }
        return max;
    }

    @Override
    void exponentiate(float[] maxima) {
        for (int h = 0; h < group; h++) {
            for (int t = 0; t < span; t++) {
                int at = h * span + t;
                weights[at] = Exp.exp(weights[at] - maxima[h]);
            }
        }
    }

    @Override
    void foldSums(int row, float rescale) {
        for (int t = 0; t < span; t++) {
            sums[row + t] = Math.fma(sums[row + t], rescale, weights[row + t]);
        }
    }

    @Override
    void accumulatePair(int layer, int first, int second, int kvHead, int valid) {
        for (int t = 0; t < valid; t++) {
            int block = t < blockSize ? first : second;
            for (int d = 0; d < headDim; d++) {
                values[t * headDim + d] = memory.value(layer, block, kvHead, t % blockSize, d);
            }
        }
        for (int h = 0; h < group; h++) {
            for (int d = 0; d < headDim; d++) {
                float a = accumulator[h * headDim + d] * rescale[h];
                for (int t = 0; t < valid; t++) {
                    a = Math.fma(weights[h * span + t], values[t * headDim + d], a);
                }
                accumulator[h * headDim + d] = a;
            }
        }
    }
}
