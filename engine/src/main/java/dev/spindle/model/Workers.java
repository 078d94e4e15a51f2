package dev.spindle.model;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads of one forward pass: the calling (engine) thread plus {@code size - 1} workers, sharing each job's
 * chunks.
 *
 * <p>A forward step runs a few hundred short jobs (one per matrix product, one per attention), so starting one must
 * cost little, and a busy machine must not stall it: the caller never waits for a worker to show up. It publishes the
 * job and takes chunks itself; workers that are awake take chunks too; the job is done when every chunk is, whoever
 * ran it. A worker the operating system has not scheduled simply finds no chunk left when it wakes. Workers spin on
 * the job counter for a while before they park, and the caller wakes only those that parked.
 *
 * <p>Chunks are claimed from one atomic ticket holding the job's generation, its chunk count and the next chunk, so a
 * worker that wakes late can never claim a chunk of a job other than the one it read. Jobs are reusable objects whose
 * fields describe the work; running one allocates nothing.
 */
final class Workers implements AutoCloseable {
    /** A piece of parallel work cut into chunks; each chunk runs once, on any thread. */
    interface Job {
        /** How many chunks the job has; read once per run. */
        int chunks();

        /**
         * Whether the job is worth waking other threads for: below some tens of microseconds of work, the caller is
         * faster alone.
         */
        boolean worthSharing();

        /**
         * Runs chunk {@code chunk}.
         *
         * @param worker the index of the running thread in {@code [0, size)}, for per-thread scratch
         */
        void run(int chunk, int worker);
    }

    private static final int INDEX_BITS = 20; // chunks per job: at most about a million
    private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;
    private static final int MAX_CHUNKS = (int) INDEX_MASK;

    /** Spins before a worker parks: tens of microseconds, longer than the gap between the jobs of a step. */
    private static final int SPINS_BEFORE_PARK = 20_000;

    private final int size;
    private final Thread[] threads; // [size - 1]
    private final boolean[] parked; // [size - 1] written by each worker, read by the caller

    /** generation (24 bits) | chunk count (20 bits) | next chunk (20 bits) */
    private final AtomicLong ticket = new AtomicLong();

    private final AtomicInteger done = new AtomicInteger();
    private volatile Job job;
    private volatile Throwable failure;
    private volatile boolean closed;
    private long generation;

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

    /** Runs every chunk of {@code work} and returns when all have finished. Not reentrant. */
    void run(Job work) {
        int chunks = work.chunks();
        if (chunks > MAX_CHUNKS) {
            throw new IllegalArgumentException("a job has at most " + MAX_CHUNKS + " chunks, got " + chunks);
        }
        if (threads.length == 0 || chunks <= 1 || !work.worthSharing()) {
            for (int c = 0; c < chunks; c++) {
                work.run(c, 0);
            }
            return;
        }
        job = work;
        done.set(0);
        generation = (generation + 1) & 0xFFFFFF;
        ticket.set((generation << (2 * INDEX_BITS)) | ((long) chunks << INDEX_BITS));
        for (int i = 0; i < threads.length; i++) {
            if (readParked(i)) {
                LockSupport.unpark(threads[i]);
            }
        }
        Throwable own = null;
        try {
            work(work, generation, 0);
        } catch (Throwable t) {
            own = t;
        }
        while (done.get() != chunks) {
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

    /** Claims and runs chunks of {@code work}, the job of generation {@code expected}, until none is left. */
    private void work(Job work, long expected, int worker) {
        while (true) {
            long t = ticket.get();
            int next = (int) (t & INDEX_MASK);
            int chunks = (int) ((t >>> INDEX_BITS) & INDEX_MASK);
            if ((t >>> (2 * INDEX_BITS)) != expected || next >= chunks) {
                return;
            }
            if (!ticket.compareAndSet(t, t + 1)) {
                continue;
            }
            try {
                work.run(next, worker);
            } finally {
                done.incrementAndGet();
            }
        }
    }

    private void loop(int index) {
        long seen = 0;
        while (true) {
            long current;
            int spins = 0;
            while ((current = ticket.get() >>> (2 * INDEX_BITS)) == seen) {
                if (closed) {
                    return;
                }
                if (++spins < SPINS_BEFORE_PARK) {
                    Thread.onSpinWait();
                } else {
                    writeParked(index - 1, true);
                    if ((ticket.get() >>> (2 * INDEX_BITS)) == seen && !closed) {
                        LockSupport.park(this);
                    }
                    writeParked(index - 1, false);
                    spins = 0;
                }
            }
            seen = current;
            // The job is read after its ticket, so it is this generation's or a later one's; claims succeed only
            // while this generation has chunks left, and then the caller cannot have moved on to another job.
            Job work = job;
            try {
                work(work, current, index);
            } catch (Throwable t) {
                failure = t;
            }
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
