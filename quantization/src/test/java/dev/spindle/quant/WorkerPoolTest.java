package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.spindle.quant.parallel.WorkerPool;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The pool runs every job on all its threads, wakes parked workers, and reports failures to the caller. */
class WorkerPoolTest {

    @Test
    void everyThreadRunsEveryJobOnceWithItsOwnIndex() {
        try (WorkerPool pool = new WorkerPool(4)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(4);
            for (int job = 0; job < 1000; job++) {
                pool.run((worker, workers) -> {
                    assertEquals(4, workers);
                    runs.incrementAndGet(worker);
                });
            }
            for (int i = 0; i < 4; i++) {
                assertEquals(1000, runs.get(i), "thread " + i);
            }
        }
    }

    @Test
    void parkedWorkersWakeForTheNextJob() throws InterruptedException {
        try (WorkerPool pool = new WorkerPool(3, 0)) {
            int[] seen = new int[3];
            for (int round = 1; round <= 5; round++) {
                Thread.sleep(20); // long past the spin: the workers have parked
                pool.run((worker, workers) -> seen[worker]++);
                assertArrayEquals(new int[] {round, round, round}, seen.clone());
            }
        }
    }

    @Test
    void aWorkersFailureReachesTheCaller() {
        try (WorkerPool pool = new WorkerPool(2)) {
            IllegalStateException boom = new IllegalStateException("boom");
            IllegalStateException thrown = assertThrows(
                    IllegalStateException.class,
                    () -> pool.run((worker, workers) -> {
                        if (worker == 1) {
                            throw boom;
                        }
                    }));
            assertSame(boom, thrown);
            int[] after = new int[2];
            pool.run((worker, workers) -> after[worker] = 1);
            assertArrayEquals(new int[] {1, 1}, after, "the pool still works");
        }
    }

    @Test
    void aPoolOfOneIsTheCaller() {
        try (WorkerPool pool = new WorkerPool(1)) {
            Thread caller = Thread.currentThread();
            pool.run((worker, workers) -> assertSame(caller, Thread.currentThread()));
        }
        assertThrows(IllegalArgumentException.class, () -> new WorkerPool(0));
    }
}
