package dev.spindle.model;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads of one forward pass: the calling (engine) thread plus {@code threads - 1} workers, which all run each
 * job together and wait for one another at its end.
 *
 * <p>A forward step runs a few hundred short jobs (one per matrix product, one per attention), so a job's start must
 * cost little: workers spin on a generation counter for a while before they park, and the caller wakes only those
 * that parked. Jobs are reusable objects whose fields describe the work; running one allocates nothing.
 */
final class Workers implements AutoCloseable {
    /** One piece of parallel work, run once by each of the {@code workers} threads with its own index. */
    interface Job {
        void run(int worker, int workers);
    }

    /** Spins before a worker parks: about 50 µs, longer than the gap between the jobs of a step. */
    private static final int SPINS_BEFORE_PARK = 20_000;

    private final int size;
    private final Thread[] threads; // [size - 1]
    private final boolean[] parked; // [size - 1] written by each worker, read by the caller
    private final AtomicLong generation = new AtomicLong();
    private final AtomicInteger running = new AtomicInteger();
    private volatile Job job;
    private volatile Throwable failure;
    private volatile boolean closed;

    /** @param size threads that run each job, the caller's included; at least 1 */
    Workers(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("size must be >= 1, got " + size);
        }
        this.size = size;
        this.threads = new Thread[size - 1];
        this.parked = new boolean[size - 1];
        for (int i = 0; i < threads.length; i++) {
            int index = i + 1;
            threads[i] = Thread.ofPlatform()
                    .name("spindle-worker-" + index)
                    .daemon(true)
                    .unstarted(() -> loop(index));
            threads[i].start();
        }
    }

    /** Threads that run each job, the caller's included. */
    int size() {
        return size;
    }

    /** The ids of the worker threads (not the caller's), for allocation accounting in tests. */
    long[] workerThreadIds() {
        long[] ids = new long[threads.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = threads[i].threadId();
        }
        return ids;
    }

    /** Runs {@code work} on every thread and returns when all have finished it. Not reentrant. */
    void run(Job work) {
        if (threads.length == 0) {
            work.run(0, 1);
            return;
        }
        job = work;
        running.set(threads.length);
        generation.incrementAndGet();
        for (int i = 0; i < threads.length; i++) {
            if (readParked(i)) {
                LockSupport.unpark(threads[i]);
            }
        }
        Throwable own = null;
        try {
            work.run(0, size);
        } catch (Throwable t) {
            own = t;
        }
        while (running.get() != 0) {
            Thread.onSpinWait();
        }
        Throwable failed = own != null ? own : failure;
        if (failed != null) {
            failure = null;
            if (failed instanceof RuntimeException r) {
                throw r;
            }
            if (failed instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(failed);
        }
    }

    private void loop(int index) {
        long seen = 0;
        while (true) {
            long current;
            int spins = 0;
            while ((current = generation.get()) == seen) {
                if (closed) {
                    return;
                }
                if (++spins < SPINS_BEFORE_PARK) {
                    Thread.onSpinWait();
                } else {
                    writeParked(index - 1, true);
                    if (generation.get() == seen && !closed) {
                        LockSupport.park(this);
                    }
                    writeParked(index - 1, false);
                    spins = 0;
                }
            }
            seen = current;
            try {
                job.run(index, size);
            } catch (Throwable t) {
                failure = t;
            }
            running.decrementAndGet();
        }
    }

    // parked[] is shared between a worker and the caller; access it with volatile semantics
    private static final java.lang.invoke.VarHandle PARKED =
            java.lang.invoke.MethodHandles.arrayElementVarHandle(boolean[].class);

    private boolean readParked(int i) {
        return (boolean) PARKED.getVolatile(parked, i);
    }

    private void writeParked(int i, boolean value) {
        PARKED.setVolatile(parked, i, value);
    }

    @Override
    public void close() {
        closed = true;
        for (Thread t : threads) {
            LockSupport.unpark(t);
        }
    }
}
