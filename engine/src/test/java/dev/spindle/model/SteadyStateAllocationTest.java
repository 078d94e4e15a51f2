package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        try (Model model = Model.open(StoriesForwardTest.stories())) {
            int vocab = model.config().vocabSize();
            ForwardPass forward = new ForwardPass(model, 64, 8, 64, 16, 2);
            ForwardBatch batch = new ForwardBatch(64, 8);
            int sequences = 4;
            int[][] tables = new int[sequences][16];
            for (int s = 0; s < sequences; s++) {
                for (int b = 0; b < 16; b++) {
                    tables[s][b] = s * 16 + b;
                }
            }
            int[] token = {1};
            int steps = 200;
            long[] ids = forward.workerThreadIds();
            long[] before = new long[1];
            long[] workersBefore = null;
            for (int step = 0; step < steps; step++) {
                if (step == steps / 2) {
                    workersBefore = threads.getThreadAllocatedBytes(ids); // allocates its result: measure it first
                    before[0] = threads.getCurrentThreadAllocatedBytes();
                }
                batch.clear();
                for (int s = 0; s < sequences; s++) {
                    batch.add(tables[s], step, token, 0, 1, true);
                }
                float[] logits = forward.forward(batch);
                token[0] = GreedyDriver.argMax(logits, 0, vocab);
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before[0];
            assertEquals(0, allocated, "bytes allocated by " + steps / 2 + " decode steps of 4 sequences");
            long[] workersAfter = threads.getThreadAllocatedBytes(ids);
            for (int i = 0; i < ids.length; i++) {
                assertEquals(0, workersAfter[i] - workersBefore[i], "bytes allocated by worker " + i);
            }
            forward.close();
        }
    }
}
