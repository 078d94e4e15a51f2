package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.fail;

import dev.spindle.kvcache.KvCache;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Once warm, a decode step allocates nothing on the heap: not in the engine thread, not in its worker (two threads
 * here, so that the worker really shares the work).
 *
 * <p>Counted over windows of 200 steps of 4 sequences after 2,000 steps of warm-up: an allocation per step or per
 * token would show in every window, while the JIT's own rare bookkeeping may touch one; so some window of the first
 * five must allocate nothing at all.
 */
class SteadyStateAllocationTest {
    private static final int WARM_UP = 2000;
    private static final int WINDOW = 200;
    private static final int SEQUENCES = 4;

    @Test
    void decodeStepsAllocateNothing() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Model model = Model.open(StoriesForwardTest.stories());
                KvCache cache = TestCaches.cache(model, 64);
                ForwardPass forward = new ForwardPass(model, cache, 64, 8, 2)) {
            int vocab = model.config().vocabSize();
            ForwardBatch batch = new ForwardBatch(64, 8);
            int[][] tables = new int[SEQUENCES][16];
            for (int s = 0; s < SEQUENCES; s++) {
                for (int b = 0; b < 16; b++) {
                    tables[s][b] = s * 16 + b;
                }
            }
            int[] token = {1};
            long[] workerIds = forward.workerThreadIds();
            long[] workersBefore = new long[workerIds.length];
            long[] workersAfter = new long[workerIds.length];
            String windows = "";
            int step = 0;
            for (int window = -1; window < 5; window++) {
                int steps = window < 0 ? WARM_UP : WINDOW;
                // the worker figures are read into arrays allocated here, before the engine thread's are taken
                long[] w = threads.getThreadAllocatedBytes(workerIds);
                System.arraycopy(w, 0, workersBefore, 0, w.length);
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < steps; i++, step++) {
                    batch.clear();
                    for (int s = 0; s < SEQUENCES; s++) {
                        batch.add(tables[s], step % 256, token, 0, 1, true); // positions wrap within 16 blocks
                    }
                    float[] logits = forward.forward(batch);
                    token[0] = GreedyDriver.argMax(logits, 0, vocab);
                }
                long engine = threads.getCurrentThreadAllocatedBytes() - before;
                w = threads.getThreadAllocatedBytes(workerIds);
                System.arraycopy(w, 0, workersAfter, 0, w.length);
                long workers = 0;
                for (int i = 0; i < workerIds.length; i++) {
                    workers += workersAfter[i] - workersBefore[i];
                }
                if (window >= 0) {
                    if (engine == 0 && workers == 0) {
                        return;
                    }
                    windows += " [engine " + engine + " B, workers " + workers + " B]";
                }
            }
            fail("every window of " + WINDOW + " decode steps allocated:" + windows + " (worker ids "
                    + Arrays.toString(workerIds) + ")");
        }
    }
}
