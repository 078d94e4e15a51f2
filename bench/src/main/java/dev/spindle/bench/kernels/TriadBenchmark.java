package dev.spindle.bench.kernels;

import dev.spindle.quant.parallel.WorkerPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * STREAM's triad {@code a[i] = b[i] + s * c[i]} over arrays far beyond the L3, on the same worker pool as the
 * products: the machine's sustainable memory bandwidth, the ceiling the matrix-vector benchmarks are measured
 * against. Counts 24 bytes per element as STREAM does (two doubles read, one written).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xmx8g"})
public class TriadBenchmark {

    /** Elements per array: 3 x 256 MiB of doubles. */
    private static final int N = 32 << 20;

    @Param({"2"})
    public int threads;

    private WorkerPool pool;
    private double[] a;
    private double[] b;
    private double[] c;
    private final TriadJob job = new TriadJob();

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bandwidth {
        public long bytes;
    }

    @Setup(Level.Trial)
    public void setUp() {
        pool = new WorkerPool(threads);
        a = new double[N];
        b = new double[N];
        c = new double[N];
        java.util.Arrays.fill(b, 1.0);
        java.util.Arrays.fill(c, 2.0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public double triad(Bandwidth bandwidth) {
        pool.run(job);
        bandwidth.bytes += 24L * N;
        return a[N / 2];
    }

    private final class TriadJob implements WorkerPool.Job {
        @Override
        public void run(int worker, int workers) {
            int from = (int) ((long) N * worker / workers);
            int to = (int) ((long) N * (worker + 1) / workers);
            double s = 3.0;
            double[] a = TriadBenchmark.this.a;
            double[] b = TriadBenchmark.this.b;
            double[] c = TriadBenchmark.this.c;
            for (int i = from; i < to; i++) {
                a[i] = b[i] + s * c[i];
            }
        }
    }
}
