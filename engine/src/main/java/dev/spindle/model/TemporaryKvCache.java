package dev.spindle.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * TEMPORARY paged K/V storage in F32 with its attention kernel, until the kvcache module lands on main.
 *
 * <p>Blocks of {@code blockSize} token slots. Within a block, keys are stored transposed, {@code [kvHead][headDim]
 * [blockSize]}, so that the scores of a query against a block's positions are a sum of broadcast query elements times
 * contiguous key rows, with no horizontal reduction; values are stored by slot, {@code [blockSize][kvDim]}, as the
 * weighted sum reads them.
 */
final class TemporaryKvCache {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final int LANES = 8;

    final int blockSize;
    final int kvHeads;
    final int headDim;
    final int kvDim;
    final int blocks;
    final float[][] keys; // [layer][block][kvHead][headDim][blockSize]
    final float[][] values; // [layer][block][blockSize][kvDim]

    TemporaryKvCache(int layers, int blocks, int blockSize, int kvHeads, int headDim) {
        this.blockSize = blockSize;
        this.kvHeads = kvHeads;
        this.headDim = headDim;
        this.kvDim = kvHeads * headDim;
        this.blocks = blocks;
        keys = new float[layers][blocks * blockSize * kvDim];
        values = new float[layers][blocks * blockSize * kvDim];
    }

    /** The most positions one sequence can hold. */
    int capacity() {
        return blocks * blockSize;
    }

    /** Writes one token's keys and values ({@code [kvDim]} each) at {@code position} of a sequence. */
    void write(int layer, int[] blockTable, int position, float[] k, int kOffset, float[] v, int vOffset) {
        int block = blockTable[position / blockSize];
        int offset = position % blockSize;
        float[] kl = keys[layer];
        int base = block * blockSize * kvDim + offset;
        for (int i = 0; i < kvDim; i++) {
            kl[base + i * blockSize] = k[kOffset + i];
        }
        System.arraycopy(v, vOffset, values[layer], (block * blockSize + offset) * kvDim, kvDim);
    }

    /**
     * The query heads {@code [firstHead, firstHead + group)} of one token, which share key/value head {@code kvHead},
     * attend to positions {@code [0, context)} of a sequence: {@code out_h = softmax(q_h · K / sqrt(headDim)) · V}.
     *
     * @param q the token's queries, head {@code h} at {@code q[qOffset + h * headDim]}
     * @param out receives head {@code h} at {@code out[qOffset + h * headDim]}
     * @param scores scratch of at least {@code context} rounded up to a block
     */
    void attend(
            int layer,
            int[] blockTable,
            int context,
            int kvHead,
            int firstHead,
            int group,
            float[] q,
            int qOffset,
            float[] out,
            float[] scores) {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        for (int h = firstHead; h < firstHead + group; h++) {
            int qh = qOffset + h * headDim;
            float max = scoreAll(layer, blockTable, context, kvHead, q, qh, scale, scores);
            float sum = exponentiate(scores, context, max);
            weightedValues(layer, blockTable, context, kvHead, scores, 1f / sum, out, qh);
        }
    }

    /** {@code scores[p] = q · k_p * scale} for {@code p < context}; returns their maximum. */
    private float scoreAll(
            int layer, int[] blockTable, int context, int kvHead, float[] q, int qh, float scale, float[] scores) {
        float[] kl = keys[layer];
        int blocksUsed = (context + blockSize - 1) / blockSize;
        boolean vector = blockSize % LANES == 0;
        for (int b = 0; b < blocksUsed; b++) {
            int kBase = (blockTable[b] * kvHeads + kvHead) * headDim * blockSize;
            int sBase = b * blockSize;
            if (vector) {
                for (int c = 0; c < blockSize; c += LANES) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int i = 0; i < headDim; i++) {
                        acc = FloatVector.fromArray(F, kl, kBase + i * blockSize + c)
                                .fma(FloatVector.broadcast(F, q[qh + i]), acc);
                    }
                    acc.mul(scale).intoArray(scores, sBase + c);
                }
            } else {
                for (int c = 0; c < blockSize; c++) {
                    float acc = 0;
                    for (int i = 0; i < headDim; i++) {
                        acc = Math.fma(kl[kBase + i * blockSize + c], q[qh + i], acc);
                    }
                    scores[sBase + c] = acc * scale;
                }
            }
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < context; p++) {
            max = Math.max(max, scores[p]);
        }
        return max;
    }

    /** {@code scores[p] = exp(scores[p] - max)}; returns their sum. */
    private static float exponentiate(float[] scores, int context, float max) {
        int p = 0;
        FloatVector total = FloatVector.zero(F);
        for (; p + LANES <= context; p += LANES) {
            FloatVector e = VectorMath.expNonPositive(
                    FloatVector.fromArray(F, scores, p).sub(max));
            e.intoArray(scores, p);
            total = total.add(e);
        }
        float sum = VectorMath.sum(total);
        for (; p < context; p++) {
            scores[p] = VectorMath.expNonPositive(scores[p] - max);
            sum += scores[p];
        }
        return sum;
    }

    /** {@code out[qh ..] = norm * sum_p scores[p] * v_p}. */
    private void weightedValues(
            int layer, int[] blockTable, int context, int kvHead, float[] scores, float norm, float[] out, int qh) {
        float[] vl = values[layer];
        int vHead = kvHead * headDim;
        if (headDim % LANES != 0) {
            for (int i = 0; i < headDim; i++) {
                float acc = 0;
                for (int p = 0; p < context; p++) {
                    acc = Math.fma(scores[p], vl[slot(blockTable, p) * kvDim + vHead + i], acc);
                }
                out[qh + i] = acc * norm;
            }
            return;
        }
        for (int d = 0; d < headDim; d += 4 * LANES) {
            if (d + 4 * LANES <= headDim) {
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int p = 0; p < context; p++) {
                    int v = slot(blockTable, p) * kvDim + vHead + d;
                    FloatVector s = FloatVector.broadcast(F, scores[p]);
                    a0 = FloatVector.fromArray(F, vl, v).fma(s, a0);
                    a1 = FloatVector.fromArray(F, vl, v + LANES).fma(s, a1);
                    a2 = FloatVector.fromArray(F, vl, v + 2 * LANES).fma(s, a2);
                    a3 = FloatVector.fromArray(F, vl, v + 3 * LANES).fma(s, a3);
                }
                a0.mul(norm).intoArray(out, qh + d);
                a1.mul(norm).intoArray(out, qh + d + LANES);
                a2.mul(norm).intoArray(out, qh + d + 2 * LANES);
                a3.mul(norm).intoArray(out, qh + d + 3 * LANES);
            } else {
                for (int e = d; e < headDim; e += LANES) {
                    FloatVector a = FloatVector.zero(F);
                    for (int p = 0; p < context; p++) {
                        int v = slot(blockTable, p) * kvDim + vHead + e;
                        a = FloatVector.fromArray(F, vl, v).fma(FloatVector.broadcast(F, scores[p]), a);
                    }
                    a.mul(norm).intoArray(out, qh + e);
                }
            }
        }
    }

    private int slot(int[] blockTable, int position) {
        return blockTable[position / blockSize] * blockSize + position % blockSize;
    }
}
