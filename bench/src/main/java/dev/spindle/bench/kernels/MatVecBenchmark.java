package dev.spindle.bench.kernels;

import dev.spindle.quant.GgmlType;
import dev.spindle.quant.MatMul;
import dev.spindle.quant.QuantizedMatrix;
import dev.spindle.quant.parallel.WorkerPool;
import java.lang.foreign.Arena;
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
 * Matrix-vector products as single-sequence decode runs them: one token, every weight read from memory (the copies
 * rotated through far exceed the L3). The {@code weightBytes} counter is the effective bandwidth: bytes of weights
 * read per second, to compare with {@link TriadBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class MatVecBenchmark {

    @Param({"Q4_0", "Q8_0", "Q4_K", "Q6_K", "F16"})
    public String type;

    @Param({"2048x2048", "5632x2048", "32000x2048"})
    public String shape;

    @Param({"2"})
    public int threads;

    /**
     * {@code loaded}: the layout a model's matrices get when it is loaded (interleaved where the format has one,
     * {@link QuantizedMatrix#interleaved}); {@code stored}: the rows as the file stores them.
     */
    @Param({"loaded"})
    public String layout;

    private Arena arena;
    private WorkerPool pool;
    private MatMul matmul;
    private QuantizedMatrix[] copies;
    private float[] x;
    private float[] out;
    private long matrixBytes;
    private int next;

    /** Bytes of weights read, reported by JMH as a rate. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bandwidth {
        public long weightBytes;
    }

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        int rows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        arena = Arena.ofShared();
        copies = Weights.copies(GgmlType.valueOf(type), rows, cols, arena, layout.equals("loaded"));
        matrixBytes = copies[0].data().byteSize();
        pool = new WorkerPool(threads);
        matmul = new MatMul(pool, 1, cols);
        x = Weights.activations(cols);
        out = new float[rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float multiply(Bandwidth bandwidth) {
        QuantizedMatrix w = copies[next];
        next = next + 1 == copies.length ? 0 : next + 1;
        matmul.multiply(w, x, 1, out);
        bandwidth.weightBytes += matrixBytes;
        return out[0];
    }
}
