package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.quant.parallel.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A matrix product allocates nothing once compiled, on the calling thread or on the pool's worker, for every format
 * and for batches of 1, 2, 3, 4, 5 and 8 tokens (one token takes the fused kernels; more take the decoded row with
 * four tokens per pass and single-token leftovers, so these counts run every path).
 *
 * <p>Why it can fail: a vector passed to or returned from a method that C2 did not inline is boxed on the heap, and
 * which methods C2 inlines depends on the order in which it compiles them (and may differ between the caller's
 * compiled code and the worker's). Code not yet compiled by C2, or deoptimized, also allocates while the JIT catches
 * up, so every case is measured in windows of calls, all cases in turn (the kernels' call sites see every format, as
 * in a model), until each case has had a window in which neither thread allocated a byte; the test fails if some case
 * has none within {@link #JIT_PATIENCE_NANOS}, naming each with the least it allocated per product.
 *
 * <p>Each call of a window is a {@link MatMul} product followed by the same product split into two fixed halves on
 * the pool: {@code MatMul} hands rows to whichever thread comes first, and on a busy machine the caller may take them
 * all before the worker is scheduled, so only the fixed split makes sure the worker ran every kernel in every window.
 */
class ProductAllocationTest {

    private static final int[] TOKEN_COUNTS = {1, 2, 3, 4, 5, 8};

    /** Calls per window of one case. */
    private static final int CALLS = 10;

    /** How long to keep measuring after the warm-up before a case that still allocates counts as failing. */
    private static final long JIT_PATIENCE_NANOS = 10_000_000_000L;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** One format at one batch size, with the least its threads allocated per call in any window so far. */
    private record Case(QuantizedMatrix w, int tokens, double[] leastPerCall) {
        Case(QuantizedMatrix w, int tokens) {
            this(w, tokens, new double[] {Double.POSITIVE_INFINITY});
        }

        @Override
        public String toString() {
            return "%s%s x %d tokens: %.0f bytes per call"
                    .formatted(w.type(), w.interleaved() ? " interleaved" : "", tokens, leastPerCall[0]);
        }
    }

    /** A product whose rows are split in fixed halves between the caller (worker 0) and the worker. */
    private static final class Halves implements WorkerPool.Job {
        private final Activations activations;
        private final RowScratch[] scratch = {new RowScratch(MAX_COLS), new RowScratch(MAX_COLS)};
        private QuantizedMatrix w;
        private float[] out;

        Halves(int maxTokens) {
            activations = new Activations(maxTokens, MAX_COLS);
        }

        void set(QuantizedMatrix w, float[] x, int tokens, float[] out) {
            activations.set(x, tokens, w.cols()).prepare(w.type().kernels().activationFormat());
            this.w = w;
            this.out = out;
        }

        @Override
        public void run(int worker, int workers) {
            int half = w.rows() / 2;
            w.multiplyRows(activations, out, worker == 0 ? 0 : half, worker == 0 ? half : w.rows(), scratch[worker]);
        }
    }

    private static final int MAX_COLS = 268;

    /** Rows of whole blocks; dense rows also take the kernels' 8-lane step and scalar tail. */
    private static int colsFor(GgmlType type) {
        return type.isQuantized() ? 256 : 268;
    }

    @Test
    void aProductAllocatesNothingOnAnyThreadForEveryFormatAndBatch() {
        int maxTokens = 8;
        int rows = 64;
        SplittableRandom random = new SplittableRandom(11);
        List<Case> cases = new ArrayList<>();
        for (GgmlType type : GgmlType.values()) {
            int cols = colsFor(type);
            MemorySegment data =
                    Samples.randomBytes(type, rows * cols, 0, random).asSlice(0, rows * type.bytesFor(cols));
            QuantizedMatrix w = new QuantizedMatrix(type, rows, cols, data);
            QuantizedMatrix interleaved = w.interleaved(Arena.ofAuto());
            for (int tokens : TOKEN_COUNTS) {
                cases.add(new Case(w, tokens));
                if (interleaved != w) {
                    cases.add(new Case(interleaved, tokens));
                }
            }
        }
        float[] x = Samples.gaussian(random, maxTokens * MAX_COLS, 1.0);
        float[] out = new float[maxTokens * rows];

        try (WorkerPool pool = new WorkerPool(2)) {
            MatMul matmul = new MatMul(pool, maxTokens, MAX_COLS);
            Halves halves = new Halves(maxTokens);
            long caller = Thread.currentThread().threadId();
            long worker = pool.workerThreadIds()[0];

            for (Case c : cases) {
                call(c, matmul, halves, pool, x, out);
            }
            List<Case> pending = new ArrayList<>(cases);
            long deadline = System.nanoTime() + JIT_PATIENCE_NANOS;
            while (!pending.isEmpty() && System.nanoTime() < deadline) {
                for (Case c : pending) {
                    long before = THREADS.getThreadAllocatedBytes(caller) + THREADS.getThreadAllocatedBytes(worker);
                    call(c, matmul, halves, pool, x, out);
                    long allocated =
                            THREADS.getThreadAllocatedBytes(caller) + THREADS.getThreadAllocatedBytes(worker) - before;
                    c.leastPerCall[0] = Math.min(c.leastPerCall[0], (double) allocated / CALLS);
                }
                pending.removeIf(c -> c.leastPerCall[0] == 0);
            }
            assertTrue(pending.isEmpty(), "products that still allocate after the warm-up: " + pending);
        }
    }

    private static void call(Case c, MatMul matmul, Halves halves, WorkerPool pool, float[] x, float[] out) {
        for (int call = 0; call < CALLS; call++) {
            matmul.multiply(c.w, x, c.tokens, out);
            halves.set(c.w, x, c.tokens, out);
            pool.run(halves);
        }
    }
}
