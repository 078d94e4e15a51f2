package dev.spindle.model;

/**
 * Matrix products {@code out[t] = W · in[t]} for every token {@code t} of a batch, for up to three matrices that share
 * the input (Q, K and V; gate and up), as one parallel job. Workers take chunks of rows in turn; each row is read once
 * for all the batch's tokens, and each output element is computed entirely by one thread in a fixed order, so results
 * do not depend on the number of threads or on which thread ran which rows.
 */
final class MatmulJob implements Workers.Job {
    /** Rows per chunk: small enough to balance two busy cores, large enough to amortise taking one. */
    private static final int CHUNK_ROWS = 16;

    private final float[][] rowScratch; // [worker][maxCols]

    private float[] in; // [n][cols]
    private int n;
    private final WeightMatrix[] weights = new WeightMatrix[3];
    private final float[][] outs = new float[3][]; // [n][rows of each]
    private int matrices;
    private int chunks0;
    private int chunks1;
    private int chunksTotal;

    MatmulJob(int workers, int maxCols) {
        rowScratch = new float[workers][maxCols];
    }

    void set(
            float[] in,
            int n,
            WeightMatrix w0,
            float[] out0,
            WeightMatrix w1,
            float[] out1,
            WeightMatrix w2,
            float[] out2) {
        this.in = in;
        this.n = n;
        weights[0] = w0;
        outs[0] = out0;
        weights[1] = w1;
        outs[1] = out1;
        weights[2] = w2;
        outs[2] = out2;
        matrices = w2 != null ? 3 : w1 != null ? 2 : 1;
        chunks0 = chunks(w0);
        chunks1 = chunks0 + (matrices > 1 ? chunks(w1) : 0);
        chunksTotal = chunks1 + (matrices > 2 ? chunks(w2) : 0);
    }

    void clear() {
        in = null;
        for (int i = 0; i < 3; i++) {
            weights[i] = null;
            outs[i] = null;
        }
    }

    private static int chunks(WeightMatrix w) {
        return (w.rows() + CHUNK_ROWS - 1) / CHUNK_ROWS;
    }

    /** Multiply-adds below which one thread does the whole product: about 20 µs of work. */
    private static final long SHARING_THRESHOLD = 1 << 18;

    @Override
    public boolean worthSharing() {
        long macs = (long) n * weights[0].cols() * weights[0].rows() * matrices;
        return macs >= SHARING_THRESHOLD;
    }

    @Override
    public int chunks() {
        return chunksTotal;
    }

    @Override
    public void run(int chunk, int worker) {
        int m = chunk < chunks0 ? 0 : chunk < chunks1 ? 1 : 2;
        int local = chunk - (m == 0 ? 0 : m == 1 ? chunks0 : chunks1);
        WeightMatrix w = weights[m];
        int from = local * CHUNK_ROWS;
        int to = Math.min(w.rows(), from + CHUNK_ROWS);
        TemporaryKernels.multiply(w, in, n, outs[m], from, to, rowScratch[worker]);
    }
}
