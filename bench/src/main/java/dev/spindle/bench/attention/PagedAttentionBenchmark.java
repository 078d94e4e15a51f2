package dev.spindle.bench.attention;

import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;
import dev.spindle.kvcache.memory.KvType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * One decode step of attention over a paged KV cache: 32 sequences, one query token each, GQA with 32 query heads
 * over 4 KV heads of dimension 64, one layer. The {@code bytes} counter is the KV read (every K and V byte of every
 * sequence's context, once per step), so its rate is the kernel's KV bandwidth.
 *
 * <p>{@code placement=paged} scatters every sequence's blocks over the pool in random order (interleaved with the
 * other sequences'); {@code placement=contiguous} is the same kernel with each sequence's blocks consecutive, i.e. its
 * K and V in one contiguous run per layer: the baseline that shows what paging costs. Sequences are split statically
 * over {@code threads} workers, each with its own kernel instance, as the forward pass would.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class PagedAttentionBenchmark {

    private static final int SEQUENCES = 32;
    private static final int QUERY_HEADS = 32;
    private static final int KV_HEADS = 4;
    private static final int HEAD_DIM = 64;
    private static final int BLOCK_SIZE = 16;

    @Param({"512", "2048"})
    public int context;

    @Param({"F16", "Q8_0"})
    public KvType type;

    @Param({"paged", "contiguous"})
    public String placement;

    @Param({"2"})
    public int threads;

    private HostKvMemory memory;
    private ExecutorService workers;
    private List<Callable<Void>> step;
    private long bytesPerStep;

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Bandwidth {
        /** KV bytes read. */
        public long bytes;
    }

    @Setup(Level.Trial)
    public void setUp() {
        int blocksPerSequence = Math.ceilDiv(context, BLOCK_SIZE);
        KvCacheShape shape = new KvCacheShape(1, KV_HEADS, HEAD_DIM, BLOCK_SIZE, type);
        memory = new HostKvMemory(new KvLayout(shape, SEQUENCES * blocksPerSequence));
        List<Integer> ids = new ArrayList<>();
        for (int b = 0; b < SEQUENCES * blocksPerSequence; b++) {
            ids.add(b);
        }
        Random random = new Random(42);
        switch (placement) {
            case "paged" -> Collections.shuffle(ids, random);
            case "contiguous" -> {}
            default -> throw new IllegalArgumentException("placement is paged or contiguous, not " + placement);
        }
        int[][] tables = new int[SEQUENCES][blocksPerSequence];
        for (int s = 0; s < SEQUENCES; s++) {
            for (int i = 0; i < blocksPerSequence; i++) {
                tables[s][i] = ids.get(s * blocksPerSequence + i);
            }
        }
        float[] k = new float[shape.kvDim()];
        float[] v = new float[shape.kvDim()];
        for (int s = 0; s < SEQUENCES; s++) {
            for (int p = 0; p < context; p++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = (float) random.nextGaussian();
                    v[i] = (float) random.nextGaussian();
                }
                memory.write(0, tables[s][p / BLOCK_SIZE] * BLOCK_SIZE + p % BLOCK_SIZE, k, 0, v, 0);
            }
        }
        bytesPerStep = (long) SEQUENCES * context * KV_HEADS * shape.rowBytes() * 2;
        workers = Executors.newFixedThreadPool(threads);
        step = new ArrayList<>();
        for (int w = 0; w < threads; w++) {
            int worker = w;
            PagedAttention attention = PagedAttention.create(memory, QUERY_HEADS);
            float[][] queries = new float[SEQUENCES][QUERY_HEADS * HEAD_DIM];
            float[][] outs = new float[SEQUENCES][QUERY_HEADS * HEAD_DIM];
            for (float[] q : queries) {
                for (int i = 0; i < q.length; i++) {
                    q[i] = (float) random.nextGaussian();
                }
            }
            step.add(() -> {
                for (int s = worker; s < SEQUENCES; s += threads) {
                    attention.attend(0, queries[s], tables[s], context, outs[s]);
                }
                return null;
            });
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        workers.shutdownNow();
        memory.close();
    }

    @Benchmark
    public void decodeStep(Bandwidth bandwidth) throws InterruptedException, ExecutionException {
        for (Future<Void> done : workers.invokeAll(step)) {
            done.get();
        }
        bandwidth.bytes += bytesPerStep;
    }
}
