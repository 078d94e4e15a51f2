package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spindle.kvcache.KvCache;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * Once warm, a decode step allocates nothing on the heap: not in the engine thread, not in its workers (two
 * threads here, so that a worker really shares the work).
 */
class SteadyStateAllocationTest {

    @Test
    void decodeStepsAllocateNothing() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Model model = Model.open(StoriesForwardTest.stories());
                KvCache cache = TestCaches.cache(model, 64);
                ForwardPass forward = new ForwardPass(model, cache, 64, 8, 2)) {
            int vocab = model.config().vocabSize();
            ForwardBatch batch = new ForwardBatch(64, 8);
            int sequences = 4;
            int[][] tables = new int[sequences][16];
            for (int s = 0; s < sequences; s++) {
                for (int b = 0; b < 16; b++) {
                    tables[s][b] = s * 16 + b;
                }
            }
            int[] token = {1};
            // warm up until the JIT has compiled the step's code (interpreted Vector API code allocates), then count
            int warmUp = 2000;
            int measured = 200;
            int steps = warmUp + measured;
            long[] ids = forward.workerThreadIds();
            long[] before = new long[1];
            long[] workersBefore = null;
            for (int step = 0; step < steps; step++) {
                if (step == warmUp) {
                    workersBefore = threads.getThreadAllocatedBytes(ids); // allocates its result: measure it first
                    before[0] = threads.getCurrentThreadAllocatedBytes();
                }
                batch.clear();
                for (int s = 0; s < sequences; s++) {
                    batch.add(tables[s], step % 256, token, 0, 1, true); // positions wrap within the 16 blocks
                }
                float[] logits = forward.forward(batch);
                token[0] = GreedyDriver.argMax(logits, 0, vocab);
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before[0];
            assertEquals(0, allocated, "bytes allocated by " + measured + " decode steps of 4 sequences");
            long[] workersAfter = threads.getThreadAllocatedBytes(ids);
            for (int i = 0; i < ids.length; i++) {
                assertEquals(0, workersAfter[i] - workersBefore[i], "bytes allocated by worker " + i);
            }
        }
    }
}
