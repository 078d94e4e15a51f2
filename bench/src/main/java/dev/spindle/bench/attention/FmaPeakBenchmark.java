package dev.spindle.bench.attention;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's float fused multiply-add peak through the Vector API: twelve independent chains of FMAs on the
 * preferred vector shape, nothing else, in each of two threads ({@code -t 1} for one core). The {@code fmas} counter
 * is lane-FMAs per second: decode attention with 8 query heads per KV head needs 8 of them per K element and 8 per V
 * element, so this peak over the FMAs per byte (4 for F16, about 7.5 for Q8_0) is the kernel's compute ceiling in
 * bytes per second, to set beside the triad's bandwidth.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(2)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class FmaPeakBenchmark {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    /** FMAs per call: each of the 12 chains advances this many times. */
    private static final int STEPS = 1 << 16;

    private final float[] seed = new float[2 * FLOATS.length()];

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        /** Lane-FMAs performed. */
        public long fmas;
    }

    @Benchmark
    public float fmaChains(Work work) {
        FloatVector x = FloatVector.fromArray(FLOATS, seed, 0).add(0.999f);
        FloatVector y = FloatVector.fromArray(FLOATS, seed, FLOATS.length()).add(1e-3f);
        FloatVector s0 = x;
        FloatVector s1 = y;
        FloatVector s2 = x.add(1);
        FloatVector s3 = y.add(1);
        FloatVector s4 = x.add(2);
        FloatVector s5 = y.add(2);
        FloatVector s6 = x.add(3);
        FloatVector s7 = y.add(3);
        FloatVector s8 = x.add(4);
        FloatVector s9 = y.add(4);
        FloatVector s10 = x.add(5);
        FloatVector s11 = y.add(5);
        for (int i = 0; i < STEPS; i++) {
            s0 = s0.fma(x, y);
            s1 = s1.fma(x, y);
            s2 = s2.fma(x, y);
            s3 = s3.fma(x, y);
            s4 = s4.fma(x, y);
            s5 = s5.fma(x, y);
            s6 = s6.fma(x, y);
            s7 = s7.fma(x, y);
            s8 = s8.fma(x, y);
            s9 = s9.fma(x, y);
            s10 = s10.fma(x, y);
            s11 = s11.fma(x, y);
        }
        work.fmas += 12L * STEPS * FLOATS.length();
        return s0.add(s1)
                .add(s2)
                .add(s3)
                .add(s4)
                .add(s5)
                .add(s6)
                .add(s7)
                .add(s8)
                .add(s9)
                .add(s10)
                .add(s11)
                .reduceLanes(VectorOperators.MAX);
    }
}
