package dev.spindle.quant;

import dev.spindle.quant.parallel.WorkerPool;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Matrix products on every thread of a {@link WorkerPool}: {@code out[t * rows + r] = W[r] · x[t]} for each token
 * {@code t} of a batch, for up to three matrices that share their input (Q, K and V; gate and up) in one job.
 *
 * <p>Threads take chunks of rows in turn. Each row is read from memory once for all the batch's tokens, and each
 * output element is computed by one thread in a fixed order, so results depend neither on the number of threads nor
 * on how rows were shared, nor on the other tokens of the batch ({@link TokenDots}).
 *
 * <p>The activation sums and the per-thread row scratch are sized at construction: a product allocates nothing. One
 * caller at a time.
 */
public final class MatMul {

    /** Chunks per thread and matrix: enough to even out a busy core, few enough that taking one costs nothing. */
    private static final int CHUNKS_PER_THREAD = 16;

    private final WorkerPool pool;
    private final Activations activations;
    private final Job job;
    private final QuantizeJob quantize = new QuantizeJob();

    /** Products of up to {@code maxTokens} tokens with matrices of up to {@code maxCols} columns. */
    public MatMul(WorkerPool pool, int maxTokens, int maxCols) {
        this.pool = pool;
        this.activations = new Activations(maxTokens, maxCols);
        this.job = new Job(pool.size(), maxCols);
    }

    /** The pool the products run on. */
    public WorkerPool pool() {
        return pool;
    }

    /** {@code out = W · x} for {@code tokens} tokens: {@code x} is {@code [tokens][cols]}, out {@code [tokens][rows]}. */
    public void multiply(QuantizedMatrix w, float[] x, int tokens, float[] out) {
        multiply(x, tokens, w, out, null, null, null, null);
    }

    /** Two products that share their input. */
    public void multiply(float[] x, int tokens, QuantizedMatrix w0, float[] out0, QuantizedMatrix w1, float[] out1) {
        multiply(x, tokens, w0, out0, w1, out1, null, null);
    }

    /** Up to three products that share their input, as one job; unused matrices and outputs are null. */
    public void multiply(
            float[] x,
            int tokens,
            QuantizedMatrix w0,
            float[] out0,
            QuantizedMatrix w1,
            float[] out1,
            QuantizedMatrix w2,
            float[] out2) {
        activations.set(x, tokens, w0.cols());
        prepare(w0);
        prepare(w1);
        prepare(w2);
        job.set(activations, w0, out0, w1, out1, w2, out2);
        try {
            pool.run(job);
        } finally {
            job.clear();
        }
    }

    /**
     * Computes the form of the activations that {@code w} takes, once per input: the 8-bit forms of several tokens on
     * every thread (while one thread quantizes, the others would wait: 8 tokens of 2048 take ~80 us, a tenth of
     * their product with a 2048 x 2048 Q4_0 matrix on two threads); the others on the calling thread.
     */
    private void prepare(QuantizedMatrix w) {
        if (w == null || w.cols() != activations.cols()) {
            return;
        }
        ActivationFormat format = w.type().kernels().activationFormat();
        boolean eightBit = format == ActivationFormat.Q8_0 || format == ActivationFormat.Q8_1;
        if (!eightBit || activations.isPrepared(format) || activations.tokens() < 2 || pool.size() < 2) {
            activations.prepare(format);
            return;
        }
        activations.requireQ8Blocks();
        quantize.x = activations;
        try {
            pool.run(quantize);
        } finally {
            quantize.x = null;
        }
        activations.markQ8Prepared();
    }

    /** The 8-bit forms of the activations, each thread a share of the tokens. */
    private static final class QuantizeJob implements WorkerPool.Job {
        private Activations x;

        @Override
        public void run(int worker, int workers) {
            int tokens = x.tokens();
            x.quantizeQ8(tokens * worker / workers, tokens * (worker + 1) / workers);
        }
    }

    /** One product job: chunks of rows of up to three matrices, numbered one after the other. */
    private static final class Job implements WorkerPool.Job {
        private final AtomicInteger nextChunk = new AtomicInteger();
        private final RowScratch[] scratch; // [thread]
        private final int threads;
        private final QuantizedMatrix[] matrices = new QuantizedMatrix[3];
        private final float[][] outs = new float[3][];
        private final int[] chunkRows = new int[3];
        private final int[] firstChunk = new int[4]; // matrix m owns chunks [firstChunk[m], firstChunk[m + 1])
        private int count;
        private Activations x;

        Job(int threads, int maxCols) {
            this.threads = threads;
            this.scratch = new RowScratch[threads];
            for (int i = 0; i < threads; i++) {
                scratch[i] = new RowScratch(maxCols);
            }
        }

        void set(
                Activations x,
                QuantizedMatrix w0,
                float[] out0,
                QuantizedMatrix w1,
                float[] out1,
                QuantizedMatrix w2,
                float[] out2) {
            this.x = x;
            count = 0;
            add(w0, out0);
            add(w1, out1);
            add(w2, out2);
            nextChunk.set(0);
        }

        private void add(QuantizedMatrix w, float[] out) {
            if (w == null) {
                return;
            }
            if (w.cols() != x.cols()) {
                throw new IllegalArgumentException(
                        "matrices sharing an input must have its " + x.cols() + " columns, not " + w.cols());
            }
            if (out.length < x.tokens() * w.rows()) {
                throw new IllegalArgumentException(
                        "out holds " + out.length + " floats, not " + x.tokens() + " x " + w.rows());
            }
            int m = count++;
            matrices[m] = w;
            outs[m] = out;
            int group = w.rowGroup();
            int groups = (w.rows() + group - 1) / group;
            chunkRows[m] =
                    group * Math.max(1, (groups + threads * CHUNKS_PER_THREAD - 1) / (threads * CHUNKS_PER_THREAD));
            firstChunk[m + 1] = firstChunk[m] + (w.rows() + chunkRows[m] - 1) / chunkRows[m];
        }

        void clear() {
            x = null;
            for (int m = 0; m < 3; m++) {
                matrices[m] = null;
                outs[m] = null;
            }
        }

        @Override
        public void run(int worker, int workers) {
            int total = firstChunk[count];
            RowScratch own = scratch[worker];
            int m = 0;
            for (int chunk = nextChunk.getAndIncrement(); chunk < total; chunk = nextChunk.getAndIncrement()) {
                while (chunk >= firstChunk[m + 1]) {
                    m++;
                }
                QuantizedMatrix w = matrices[m];
                int from = (chunk - firstChunk[m]) * chunkRows[m];
                int to = Math.min(w.rows(), from + chunkRows[m]);
                w.multiplyRows(x, outs[m], from, to, own);
            }
        }
    }
}
