package dev.spindle.model;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.quant.MatMul;
import dev.spindle.quant.QuantizedMatrix;
import dev.spindle.quant.parallel.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The transformer forward pass over a ragged batch ({@link ForwardBatch}): every token of the batch goes through each
 * weight matrix together, so each weight is read from memory once per step; each token's K and V go into its slot of
 * the paged cache, and attention reads every sequence's K and V from there, through its block table, with no copy.
 *
 * <p>Activations are row-major {@code [token][width]} arrays sized once for the largest batch; a step allocates
 * nothing. Every per-token result is computed the same way whatever else is in the batch, so a sequence's output does
 * not depend on its neighbours or on how its prompt was chunked. One forward pass serves one engine thread; the
 * threads of its {@link WorkerPool} share each matrix product ({@link MatMul}) and each attention.
 */
public final class ForwardPass implements AutoCloseable {
    private final ModelConfig config;
    private final ModelWeights weights;
    private final Rope rope;
    private final KvCache cache;
    private final int maxTokens;
    private final int maxLogitRows;

    private final float[] x; // [maxTokens][dim] the residual stream
    private final float[] xb; // [maxTokens][dim] a sub-layer's normalised input, then its output
    private final float[] q; // [maxTokens][qDim]
    private final float[] k; // [maxTokens][kvDim]
    private final float[] v; // [maxTokens][kvDim]
    private final float[] att; // [maxTokens][qDim] attention output, heads side by side
    private final float[] gate; // [maxTokens][ffnDim]
    private final float[] up; // [maxTokens][ffnDim]
    private final float[] ropeCos; // [maxTokens][ropeDims / 2]
    private final float[] ropeSin; // [maxTokens][ropeDims / 2]
    private final float[] finalNormed; // [maxLogitRows][dim]
    private final float[] logits; // [maxLogitRows][vocab]

    private final WorkerPool pool;
    private final boolean ownsPool;
    private final MatMul matmul;
    private final AttentionJob attentionJob;
    private final SwigluJob swigluJob = new SwigluJob();

    /**
     * A forward pass on its own pool of {@code threads} threads (the caller's included), closed with it.
     *
     * @param cache the KV cache the batches' block tables point into; its shape must fit the model
     * @param maxTokens the most tokens one step may carry, over all its sequences
     * @param maxLogitRows the most sequences one step may ask logits for
     */
    public ForwardPass(Model model, KvCache cache, int maxTokens, int maxLogitRows, int threads) {
        this(model, cache, new WorkerPool(threads), true, maxTokens, maxLogitRows);
    }

    /** A forward pass on the engine's {@code pool}, which stays open when this closes. */
    public ForwardPass(Model model, KvCache cache, WorkerPool pool, int maxTokens, int maxLogitRows) {
        this(model, cache, pool, false, maxTokens, maxLogitRows);
    }

    private ForwardPass(
            Model model, KvCache cache, WorkerPool pool, boolean ownsPool, int maxTokens, int maxLogitRows) {
        this.config = model.config();
        this.weights = model.weights();
        this.rope = new Rope(config, weights.ropeFreqFactors());
        this.cache = cache;
        var shape = cache.shape();
        if (shape.layers() != config.layers()
                || shape.kvHeads() != config.kvHeads()
                || shape.headDim() != config.headDim()) {
            throw new IllegalArgumentException("the KV cache holds " + shape.layers() + " layers of " + shape.kvHeads()
                    + " heads of " + shape.headDim() + "; the model has " + config.layers() + " of "
                    + config.kvHeads() + " of " + config.headDim());
        }
        this.maxTokens = maxTokens;
        this.maxLogitRows = maxLogitRows;
        int dim = config.dim();
        x = new float[maxTokens * dim];
        xb = new float[maxTokens * dim];
        q = new float[maxTokens * config.qDim()];
        k = new float[maxTokens * config.kvDim()];
        v = new float[maxTokens * config.kvDim()];
        att = new float[maxTokens * config.qDim()];
        gate = new float[maxTokens * config.ffnDim()];
        up = new float[maxTokens * config.ffnDim()];
        ropeCos = new float[maxTokens * rope.pairs()];
        ropeSin = new float[maxTokens * rope.pairs()];
        finalNormed = new float[maxLogitRows * dim];
        logits = new float[maxLogitRows * config.vocabSize()];
        this.pool = pool;
        this.ownsPool = ownsPool;
        int widest = Math.max(dim, Math.max(config.ffnDim(), config.qDim()));
        matmul = new MatMul(pool, Math.max(maxTokens, maxLogitRows), widest);
        PagedAttention[] kernels = new PagedAttention[pool.size()];
        for (int i = 0; i < kernels.length; i++) {
            kernels[i] = cache.attention(config.heads());
        }
        attentionJob = new AttentionJob(kernels);
    }

    public ModelConfig config() {
        return config;
    }

    /** The KV cache this forward pass writes and reads. */
    public KvCache cache() {
        return cache;
    }

    /**
     * Runs one step: writes the K/V of every token of {@code batch} into the cache and returns the logits of the
     * sequences that asked, row {@code batch.logitsRow(s)} at {@code [row * vocab, (row + 1) * vocab)}. The array is
     * reused by the next step.
     */
    public float[] forward(ForwardBatch batch) {
        int n = batch.tokenCount();
        if (n > maxTokens || batch.logitRows() > maxLogitRows) {
            throw new IllegalArgumentException("the batch has " + n + " tokens and " + batch.logitRows()
                    + " logit rows; this forward pass holds " + maxTokens + " and " + maxLogitRows);
        }
        embed(batch.tokens(), n);
        rope.angles(batch.positions(), n, ropeCos, ropeSin);
        for (int layer = 0; layer < config.layers(); layer++) {
            LayerWeights w = weights.layers().get(layer);
            attentionBlock(layer, w, batch);
            feedForwardBlock(w, n);
        }
        outputLogits(batch);
        return logits;
    }

    /** h += Wo · attention(rope(Wq · norm(h)), rope(Wk · norm(h)), Wv · norm(h)) */
    private void attentionBlock(int layer, LayerWeights w, ForwardBatch batch) {
        int n = batch.tokenCount();
        int headDim = config.headDim();
        rmsnorm(xb, x, w.attnNorm(), n, config.dim());
        matmul(xb, n, w.wq(), q, w.wk(), k, w.wv(), v);
        if (w.qBias() != null) {
            addBias(q, w.qBias(), n, config.qDim());
            addBias(k, w.kBias(), n, config.kvDim());
            addBias(v, w.vBias(), n, config.kvDim());
        }
        if (w.qNorm() != null) {
            rmsnorm(q, q, w.qNorm(), n * config.heads(), headDim);
            rmsnorm(k, k, w.kNorm(), n * config.kvHeads(), headDim);
        }
        for (int t = 0; t < n; t++) {
            rope.rotate(q, t * config.qDim(), config.heads(), headDim, ropeCos, ropeSin, t);
            rope.rotate(k, t * config.kvDim(), config.kvHeads(), headDim, ropeCos, ropeSin, t);
        }
        storeKeysAndValues(layer, batch);
        attention(layer, batch);
        matmul(att, n, w.wo(), xb, null, null, null, null);
        addInPlace(x, xb, n * config.dim());
    }

    /** h += W_down · (silu(W_gate · norm(h)) * (W_up · norm(h))) */
    private void feedForwardBlock(LayerWeights w, int n) {
        rmsnorm(xb, x, w.ffnNorm(), n, config.dim());
        matmul(xb, n, w.wGate(), gate, w.wUp(), up, null, null);
        swiglu(n);
        matmul(gate, n, w.wDown(), xb, null, null, null, null);
        addInPlace(x, xb, n * config.dim());
    }

    /** logits = W_out · norm(h), only after the last token of each sequence that asked. */
    private void outputLogits(ForwardBatch batch) {
        int dim = config.dim();
        for (int s = 0; s < batch.sequenceCount(); s++) {
            int row = batch.logitsRow(s);
            if (row >= 0) {
                int last = batch.firstToken(s) + batch.tokenCount(s) - 1;
                System.arraycopy(x, last * dim, finalNormed, row * dim, dim);
            }
        }
        int rows = batch.logitRows();
        if (rows > 0) {
            rmsnorm(finalNormed, finalNormed, weights.outputNorm(), rows, dim);
            matmul(finalNormed, rows, weights.output(), logits, null, null, null, null);
        }
    }

    private void embed(int[] tokens, int n) {
        QuantizedMatrix embedding = weights.tokenEmbedding();
        for (int t = 0; t < n; t++) {
            if (tokens[t] < 0 || tokens[t] >= config.vocabSize()) {
                throw new IllegalArgumentException(
                        "token id " + tokens[t] + " is outside the vocabulary of " + config.vocabSize());
            }
            embedding.dequantizeRow(tokens[t], x, t * config.dim());
        }
    }

    /** Each token's K and V go into the slot of its position: block {@code table[p / B]}, offset {@code p % B}. */
    private void storeKeysAndValues(int layer, ForwardBatch batch) {
        int kvDim = config.kvDim();
        int blockSize = cache.shape().blockSize();
        int[] positions = batch.positions();
        int[] sequenceOf = batch.sequenceOf();
        for (int t = 0; t < batch.tokenCount(); t++) {
            int p = positions[t];
            int slot = batch.blockTable(sequenceOf[t])[p / blockSize] * blockSize + p % blockSize;
            cache.write(layer, slot, k, t * kvDim, v, t * kvDim);
        }
    }

    /** Each token's query heads attend to its sequence's positions {@code [0, position]} in the cache. */
    private void attention(int layer, ForwardBatch batch) {
        attentionJob.layer = layer;
        attentionJob.batch = batch;
        attentionJob.next.set(0);
        pool.run(attentionJob);
        attentionJob.batch = null;
    }

    /**
     * Threads take (token, KV head) pairs in turn: the query heads of one group read the same keys and values. Each
     * pair's result depends only on its token, so not on which thread took it.
     */
    private final class AttentionJob implements WorkerPool.Job {
        private final PagedAttention[] kernels; // [worker] each holds its own scratch
        final AtomicInteger next = new AtomicInteger();
        int layer;
        ForwardBatch batch;

        AttentionJob(PagedAttention[] kernels) {
            this.kernels = kernels;
        }

        @Override
        public void run(int worker, int workers) {
            int kvHeads = config.kvHeads();
            int pairs = batch.tokenCount() * kvHeads;
            PagedAttention kernel = kernels[worker];
            for (int pair = next.getAndIncrement(); pair < pairs; pair = next.getAndIncrement()) {
                int t = pair / kvHeads;
                int kvHead = pair % kvHeads;
                int offset = t * config.qDim();
                kernel.attendGroup(
                        layer,
                        kvHead,
                        q,
                        offset,
                        batch.blockTable(batch.sequenceOf()[t]),
                        batch.positions()[t] + 1,
                        att,
                        offset);
            }
        }
    }

    /** {@code outI = WI · in} for up to three matrices sharing one input, as one parallel job. */
    private void matmul(
            float[] in,
            int n,
            QuantizedMatrix w0,
            float[] out0,
            QuantizedMatrix w1,
            float[] out1,
            QuantizedMatrix w2,
            float[] out2) {
        matmul.multiply(in, n, w0, out0, w1, out1, w2, out2);
    }

    /**
     * {@code out[r] = in[r] / rms(in[r]) * weight} for {@code rows} rows of width {@code width}; {@code out} may be
     * {@code in}. The sum of squares is taken in double, as llama.cpp does.
     */
    private void rmsnorm(float[] out, float[] in, MemorySegment weight, int rows, int width) {
        float eps = config.rmsNormEps();
        for (int r = 0; r < rows; r++) {
            int base = r * width;
            double sum = 0;
            for (int i = 0; i < width; i++) {
                float xi = in[base + i];
                sum += xi * xi;
            }
            float mean = (float) (sum / width);
            float scale = 1f / (float) Math.sqrt(mean + eps);
            for (int i = 0; i < width; i++) {
                out[base + i] = (in[base + i] * scale) * weight.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            }
        }
    }

    private static void addBias(float[] a, MemorySegment bias, int rows, int width) {
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < width; i++) {
                a[r * width + i] += bias.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            }
        }
    }

    /** {@code gate = silu(gate) * up}, {@code silu(g) = g * sigmoid(g)}, shared by the pool a token at a time. */
    private void swiglu(int n) {
        swigluJob.tokens = n;
        swigluJob.next.set(0);
        pool.run(swigluJob);
    }

    private final class SwigluJob implements WorkerPool.Job {
        final AtomicInteger next = new AtomicInteger();
        int tokens;

        @Override
        public void run(int worker, int workers) {
            int width = config.ffnDim();
            for (int t = next.getAndIncrement(); t < tokens; t = next.getAndIncrement()) {
                VectorMath.swiglu(gate, up, t * width, width);
            }
        }
    }

    private static void addInPlace(float[] a, float[] b, int length) {
        for (int i = 0; i < length; i++) {
            a[i] += b[i];
        }
    }

    /** The ids of the worker threads, the caller's excluded. */
    long[] workerThreadIds() {
        return pool.workerThreadIds();
    }

    /** Closes the pool if this forward pass made it; the cache stays open. */
    @Override
    public void close() {
        if (ownsPool) {
            pool.close();
        }
    }
}
