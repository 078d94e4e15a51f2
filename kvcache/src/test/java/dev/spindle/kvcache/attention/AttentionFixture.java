package dev.spindle.kvcache.attention;

import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;
import dev.spindle.kvcache.memory.KvType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * A sequence of random K and V written into a small pool through a random block table (on layer 1 of 2; layer 0
 * holds other data, to catch layer mix-ups), and a float64 reference attention over a contiguous copy.
 */
final class AttentionFixture implements AutoCloseable {

    static final int LAYER = 1;

    final KvCacheShape shape;
    final HostKvMemory memory;
    final int contextLength;
    final int[] table;
    /** {@code [position][kvHeads * headDim]}, as written (before conversion). */
    final float[][] keys;

    final float[][] values;

    final int blockSize;

    AttentionFixture(KvType type, int kvHeads, int headDim, int contextLength, long seed) {
        this(type, kvHeads, headDim, 16, contextLength, seed, seed);
    }

    AttentionFixture(KvType type, int kvHeads, int headDim, int contextLength, long dataSeed, long placementSeed) {
        this(type, kvHeads, headDim, 16, contextLength, dataSeed, placementSeed);
    }

    /** Data from {@code dataSeed}, block placement from {@code placementSeed}. */
    AttentionFixture(
            KvType type,
            int kvHeads,
            int headDim,
            int blockSize,
            int contextLength,
            long dataSeed,
            long placementSeed) {
        this.shape = new KvCacheShape(2, kvHeads, headDim, blockSize, type);
        this.blockSize = blockSize;
        this.contextLength = contextLength;
        int blocks = Math.ceilDiv(contextLength, blockSize);
        int poolBlocks = blocks * 2 + 3;
        this.memory = new HostKvMemory(new KvLayout(shape, poolBlocks));
        List<Integer> ids = new ArrayList<>();
        for (int b = 0; b < poolBlocks; b++) {
            ids.add(b);
        }
        Collections.shuffle(ids, new Random(placementSeed));
        this.table = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            table[i] = ids.get(i);
        }
        Random random = new Random(dataSeed);
        this.keys = new float[contextLength][];
        this.values = new float[contextLength][];
        float[] noise = new float[shape.kvDim()];
        for (int p = 0; p < contextLength; p++) {
            keys[p] = gaussian(random, shape.kvDim(), 1);
            values[p] = gaussian(random, shape.kvDim(), 1);
            int slot = table[p / blockSize] * blockSize + p % blockSize;
            memory.write(LAYER, slot, keys[p], 0, values[p], 0);
            memory.write(0, slot, noise, 0, noise, 0);
        }
        // Garbage in the unused tail of the last block must never show up in a result.
        float[] garbage = new float[shape.kvDim()];
        java.util.Arrays.fill(garbage, 1000f);
        for (int p = contextLength; p < blocks * blockSize; p++) {
            memory.write(LAYER, table[p / blockSize] * blockSize + p % blockSize, garbage, 0, garbage, 0);
        }
    }

    /** A query for {@code queryHeads} heads, scaled so that the softmax is far from uniform. */
    float[] query(int queryHeads, long seed) {
        return gaussian(new Random(seed), queryHeads * shape.headDim(), 3);
    }

    /**
     * Attention in float64 over the first {@code context} positions, K and V read as stored ({@code stored}) or as
     * originally given.
     */
    double[] reference(float[] query, int queryHeads, int context, boolean stored) {
        int hd = shape.headDim();
        int group = queryHeads / shape.kvHeads();
        double scale = (float) (1 / Math.sqrt(hd));
        double[] out = new double[queryHeads * hd];
        for (int h = 0; h < queryHeads; h++) {
            int kv = h / group;
            double[] scores = new double[context];
            double max = Double.NEGATIVE_INFINITY;
            for (int p = 0; p < context; p++) {
                double s = 0;
                for (int d = 0; d < hd; d++) {
                    s += (double) (query[h * hd + d] * (float) scale) * key(p, kv, d, stored);
                }
                scores[p] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (int p = 0; p < context; p++) {
                scores[p] = Math.exp(scores[p] - max);
                sum += scores[p];
            }
            for (int d = 0; d < hd; d++) {
                double o = 0;
                for (int p = 0; p < context; p++) {
                    o += scores[p] * value(p, kv, d, stored);
                }
                out[h * hd + d] = o / sum;
            }
        }
        return out;
    }

    private double key(int p, int kv, int d, boolean stored) {
        return stored
                ? memory.key(LAYER, table[p / blockSize], kv, p % blockSize, d)
                : keys[p][kv * shape.headDim() + d];
    }

    private double value(int p, int kv, int d, boolean stored) {
        return stored
                ? memory.value(LAYER, table[p / blockSize], kv, p % blockSize, d)
                : values[p][kv * shape.headDim() + d];
    }

    static float[] gaussian(Random random, int n, double sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * sigma);
        }
        return x;
    }

    static double maxAbsDifference(double[] expected, float[] actual) {
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        return worst;
    }

    @Override
    public void close() {
        memory.close();
    }
}
