package dev.spindle.bench.kernels;

import dev.spindle.quant.parallel.WorkerPool;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What starting a parallel job costs, back to back as a forward step starts them: the worker pool against a
 * ForkJoinPool running pre-built tasks. The job itself is a few nanoseconds of work per thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DispatchBenchmark {

    @Param({"2"})
    public int threads;

    private WorkerPool pool;
    private ForkJoinPool forkJoin;
    private final AtomicInteger counter = new AtomicInteger();
    private final WorkerPool.Job job = (worker, workers) -> counter.incrementAndGet();
    private Part[] parts;

    @Setup(Level.Trial)
    public void setUp() {
        pool = new WorkerPool(threads);
        forkJoin = new ForkJoinPool(threads);
        parts = new Part[threads];
        for (int i = 0; i < threads; i++) {
            parts[i] = new Part();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        forkJoin.shutdown();
    }

    @Benchmark
    public int workerPool() {
        pool.run(job);
        return counter.get();
    }

    @Benchmark
    public int forkJoinPool() {
        for (Part p : parts) {
            p.reinitialize();
        }
        forkJoin.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                invokeAll(parts);
            }
        });
        return counter.get();
    }

    private final class Part extends RecursiveAction {
        @Override
        protected void compute() {
            counter.incrementAndGet();
        }
    }
}
