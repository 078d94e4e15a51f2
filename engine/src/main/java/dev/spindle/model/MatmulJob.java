package dev.spindle.model;

import dev.spindle.quant.Activations;
import dev.spindle.quant.QuantizedMatrix;
import dev.spindle.quant.RowScratch;

/**
 * Matrix products {@code out[t] = W · in[t]} for every token {@code t} of a batch, for up to three matrices that share
 * the input (Q, K and V; gate and up), as one job of the forward pass's {@link Workers}. Chunks are runs of rows; the
 * quantization module's kernels read each row once for all the batch's tokens ({@link QuantizedMatrix#multiplyRows}),
 * and compute each output element on one thread in an order that depends neither on the batch nor on which thread
 * ran which rows.
 */
final class MatmulJob implements Workers.Job {
    /** Rows per chunk: small enough to balance two busy cores, large enough to amortise taking one. */
    private static final int CHUNK_ROWS = 16;

    /** Multiply-adds below which one thread does the whole product: about 20 µs of work. */
    private static final long SHARING_THRESHOLD = 1 << 18;

    private final Activations activations;
    private final RowScratch[] scratch; // [worker]
    private final QuantizedMatrix[] weights = new QuantizedMatrix[3];
    private final float[][] outs = new float[3][]; // [tokens][rows of each]
    private final int[] firstChunk = new int[4]; // matrix m owns chunks [firstChunk[m], firstChunk[m + 1])
    private int matrices;

    MatmulJob(int workers, int maxTokens, int maxCols) {
        activations = new Activations(maxTokens, maxCols);
        scratch = new RowScratch[workers];
        for (int i = 0; i < workers; i++) {
            scratch[i] = new RowScratch(maxCols);
        }
    }

    /** Describes the products; {@code in} is {@code [n][cols]}; unused matrices are null. */
    void set(
            float[] in,
            int n,
            QuantizedMatrix w0,
            float[] out0,
            QuantizedMatrix w1,
            float[] out1,
            QuantizedMatrix w2,
            float[] out2) {
        activations.set(in, n, w0.cols());
        matrices = 0;
        add(w0, out0);
        add(w1, out1);
        add(w2, out2);
    }

    private void add(QuantizedMatrix w, float[] out) {
        if (w == null) {
            return;
        }
        int m = matrices++;
        weights[m] = w;
        outs[m] = out;
        firstChunk[m + 1] = firstChunk[m] + (w.rows() + CHUNK_ROWS - 1) / CHUNK_ROWS;
    }

    void clear() {
        for (int i = 0; i < 3; i++) {
            weights[i] = null;
            outs[i] = null;
        }
    }

    @Override
    public boolean worthSharing() {
        long macs = 0;
        for (int m = 0; m < matrices; m++) {
            macs += (long) weights[m].rows() * weights[m].cols();
        }
        return macs * activations.tokens() >= SHARING_THRESHOLD;
    }

    @Override
    public int chunks() {
        return firstChunk[matrices];
    }

    @Override
    public void run(int chunk, int worker) {
        int m = 0;
        while (chunk >= firstChunk[m + 1]) {
            m++;
        }
        QuantizedMatrix w = weights[m];
        int from = (chunk - firstChunk[m]) * CHUNK_ROWS;
        int to = Math.min(w.rows(), from + CHUNK_ROWS);
        w.multiplyRows(activations, outs[m], from, to, scratch[worker]);
    }
}
