package dev.spindle.quant.parallel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of threads that run each job together: the calling thread plus {@code size - 1} workers. One pool
 * serves a whole model: every matrix product and attention of a forward step is a job on it.
 *
 * <p>A decode step runs a few hundred jobs of tens of microseconds each, so starting one must cost far less than
 * that. An executor that parks and unparks threads per task costs more than the product it runs (measured: half of
 * the memory bandwidth lost on 5632x2048 Q4_0 products). Here a job starts with one volatile write: idle workers
 * spin on a generation counter for {@link #spinNanos()} before they park, so back-to-back jobs find them awake, and
 * the caller unparks only those that did park. Jobs are reusable objects whose fields describe the work, so running
 * one allocates nothing.
 */
public final class WorkerPool implements AutoCloseable {

    /** Work done by every thread of the pool, each with its own index in {@code [0, workers)}. */
    @FunctionalInterface
    public interface Job {
        void run(int worker, int workers);
    }

    /** System property: microseconds an idle worker spins before it parks (default 200). */
    public static final String SPIN_PROPERTY = "spindle.spin.micros";

    /** Spins (some tens of microseconds) after which a waiting thread yields its core at each turn. */
    private static final int YIELD_AFTER_SPINS = 1 << 10;

    private static final VarHandle PARKED = MethodHandles.arrayElementVarHandle(boolean[].class);

    private final int size;
    private final long spinNanos;
    private final Thread[] workers; // [size - 1]
    private final boolean[] parked; // [size - 1], read and written with volatile semantics
    private final AtomicInteger unfinished = new AtomicInteger();
    private volatile long generation;
    private volatile Job job;
    private volatile Throwable failure;
    private volatile boolean closed;

    /** A pool of {@code size} threads, the caller's included, spinning as {@value #SPIN_PROPERTY} says. */
    public WorkerPool(int size) {
        this(size, Long.getLong(SPIN_PROPERTY, 200) * 1000);
    }

    /** A pool of {@code size} threads, the caller's included; idle workers spin {@code spinNanos} before parking. */
    public WorkerPool(int size, long spinNanos) {
        if (size < 1) {
            throw new IllegalArgumentException("a pool needs at least the calling thread, got size " + size);
        }
        this.size = size;
        this.spinNanos = Math.max(0, spinNanos);
        this.workers = new Thread[size - 1];
        this.parked = new boolean[size - 1];
        for (int i = 0; i < workers.length; i++) {
            int index = i + 1;
            workers[i] = Thread.ofPlatform()
                    .name("spindle-worker-" + index)
                    .daemon(true)
                    .unstarted(() -> work(index));
            workers[i].start();
        }
    }

    /** A pool with one thread per available processor. */
    public static WorkerPool ofAvailableProcessors() {
        return new WorkerPool(Runtime.getRuntime().availableProcessors());
    }

    /** Threads that run each job, the caller's included. */
    public int size() {
        return size;
    }

    /** How long an idle worker spins before it parks. */
    public long spinNanos() {
        return spinNanos;
    }

    /** The worker threads (not the caller), for tests that account for their allocations. */
    public long[] workerThreadIds() {
        long[] ids = new long[workers.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = workers[i].threadId();
        }
        return ids;
    }

    /**
     * Runs {@code work} on every thread of the pool, the caller as worker 0, and returns when all have finished. A
     * failure on any thread is rethrown here. One job at a time: not for concurrent callers.
     */
    public void run(Job work) {
        if (closed) {
            throw new IllegalStateException("the pool is closed");
        }
        if (workers.length == 0) {
            work.run(0, 1);
            return;
        }
        job = work;
        unfinished.set(workers.length);
        generation = generation + 1; // the volatile write that publishes the job
        for (int i = 0; i < workers.length; i++) {
            if ((boolean) PARKED.getVolatile(parked, i)) {
                LockSupport.unpark(workers[i]);
            }
        }
        Throwable own = null;
        try {
            work.run(0, size);
        } catch (Throwable t) {
            own = t;
        }
        awaitWorkers();
        job = null;
        Throwable failed = own != null ? own : failure;
        failure = null;
        if (failed instanceof RuntimeException e) {
            throw e;
        } else if (failed instanceof Error e) {
            throw e;
        } else if (failed != null) {
            throw new IllegalStateException(failed);
        }
    }

    /**
     * Waits for the workers to finish the job: spinning, since they finish within microseconds of the caller when
     * each has a core; but yielding after a while, since on an oversubscribed machine a worker that lost its core
     * needs it back, and a spinning caller would keep it away for a whole time slice.
     */
    private void awaitWorkers() {
        int spins = 0;
        while (unfinished.get() != 0) {
            if (++spins < YIELD_AFTER_SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    private void work(int index) {
        long seen = 0;
        while (true) {
            long current = awaitGeneration(index, seen);
            if (current < 0) {
                return;
            }
            seen = current;
            try {
                job.run(index, size);
            } catch (Throwable t) {
                failure = t;
            }
            unfinished.decrementAndGet();
        }
    }

    /** Spins, then parks, until a job newer than {@code seen} is published; -1 once the pool is closed. */
    private long awaitGeneration(int index, long seen) {
        long spinUntil = System.nanoTime() + spinNanos;
        int spins = 0;
        while (true) {
            long current = generation;
            if (current != seen) {
                return current;
            }
            if (closed) {
                return -1;
            }
            // Read the clock only every 64 spins: nanoTime costs more than a spin.
            if ((++spins & 63) != 0 || System.nanoTime() < spinUntil) {
                if (spins < YIELD_AFTER_SPINS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
                continue;
            }
            // Announce the park, then look again: the caller either sees the flag and unparks, or we see its job.
            PARKED.setVolatile(parked, index - 1, true);
            if (generation == seen && !closed) {
                LockSupport.park(this);
            }
            PARKED.setVolatile(parked, index - 1, false);
            spinUntil = System.nanoTime() + spinNanos;
            spins = 0;
        }
    }

    /** Stops the workers; jobs may no longer run. */
    @Override
    public void close() {
        closed = true;
        for (Thread t : workers) {
            LockSupport.unpark(t);
        }
    }
}
