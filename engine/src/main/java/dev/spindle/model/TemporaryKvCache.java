package dev.spindle.model;

/** TEMPORARY paged K/V storage in F32 with a scalar attention, until the kvcache module lands on main. */
final class TemporaryKvCache {
    final int blockSize;
    final int kvDim;
    final float[][] keys; // [layer][block * blockSize + offset][kvDim]
    final float[][] values;

    TemporaryKvCache(int layers, int blocks, int blockSize, int kvDim) {
        this.blockSize = blockSize;
        this.kvDim = kvDim;
        keys = new float[layers][blocks * blockSize * kvDim];
        values = new float[layers][blocks * blockSize * kvDim];
    }

    int slot(int[] blockTable, int position) {
        return blockTable[position / blockSize] * blockSize + position % blockSize;
    }

    void write(int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        System.arraycopy(k, kOffset, keys[layer], slot * kvDim, kvDim);
        System.arraycopy(v, vOffset, values[layer], slot * kvDim, kvDim);
    }

    /** One query head against positions {@code [0, context)} of kv head {@code kvHead}. */
    void attend(
            int layer,
            int[] blockTable,
            int context,
            int kvHead,
            int headDim,
            float[] q,
            int qOffset,
            float[] out,
            int outOffset,
            float[] scores) {
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float max = Float.NEGATIVE_INFINITY;
        for (int p = 0; p < context; p++) {
            int base = slot(blockTable, p) * kvDim + kvHead * headDim;
            float dot = 0;
            for (int i = 0; i < headDim; i++) {
                dot += q[qOffset + i] * keys[layer][base + i];
            }
            scores[p] = dot * scale;
            max = Math.max(max, scores[p]);
        }
        float sum = 0;
        for (int p = 0; p < context; p++) {
            scores[p] = (float) Math.exp(scores[p] - max);
            sum += scores[p];
        }
        for (int i = 0; i < headDim; i++) {
            out[outOffset + i] = 0;
        }
        for (int p = 0; p < context; p++) {
            int base = slot(blockTable, p) * kvDim + kvHead * headDim;
            float w = scores[p] / sum;
            for (int i = 0; i < headDim; i++) {
                out[outOffset + i] += w * values[layer][base + i];
            }
        }
    }
}
