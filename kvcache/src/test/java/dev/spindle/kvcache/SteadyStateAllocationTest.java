package dev.spindle.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;
import dev.spindle.kvcache.memory.KvType;
import java.lang.management.ManagementFactory;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The hot paths allocate nothing once compiled: attention calls (every element type, several query-head groupings so
 * that every tile of the kernel runs) and the decode step's bookkeeping. Allocation is read from the thread's
 * allocation counter over windows of calls after a warm-up. A per-call allocation shows in every window; code still
 * waiting for the JIT (whose queue can be long in a JVM that has run many tests) allocates for a while, so the test
 * keeps measuring windows until one is clean, and fails only if none of at least {@value #WINDOWS} windows over ten
 * seconds is.
 */
class SteadyStateAllocationTest {

    private static final int WINDOWS = 100;

    /** How long to keep measuring for the JIT to finish: in a fresh JVM, 100 windows pass before C2 has compiled. */
    private static final long JIT_PATIENCE_NANOS = 10_000_000_000L;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void attentionAllocatesNothing() {
        for (KvType type : KvType.values()) {
            KvCacheShape shape = new KvCacheShape(1, 2, 64, 16, type);
            try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 8))) {
                Random random = new Random(1);
                float[] k = new float[shape.kvDim()];
                for (int slot = 0; slot < 8 * 16; slot++) {
                    for (int i = 0; i < k.length; i++) {
                        k[i] = (float) random.nextGaussian();
                    }
                    memory.write(0, slot, k, 0, k, 0);
                }
                int[] table = {3, 0, 6};
                for (int queryHeads : new int[] {2, 6, 30}) {
                    PagedAttention attention = PagedAttention.create(memory, queryHeads);
                    float[] query = new float[queryHeads * 64];
                    float[] out = new float[queryHeads * 64];
                    for (int call = 0; call < 6_000; call++) {
                        attention.attend(0, query, table, 40, out);
                    }
                    long least = Long.MAX_VALUE;
                    long deadline = System.nanoTime() + JIT_PATIENCE_NANOS;
                    for (int w = 0; (w < WINDOWS || System.nanoTime() < deadline) && least > 0; w++) {
                        long before = THREADS.getCurrentThreadAllocatedBytes();
                        for (int call = 0; call < 200; call++) {
                            attention.attend(0, query, table, 40, out);
                        }
                        least = Math.min(least, THREADS.getCurrentThreadAllocatedBytes() - before);
                    }
                    assertEquals(
                            0,
                            least,
                            type + " with " + queryHeads + " query heads allocated at least " + least
                                    + " bytes per 200 calls");
                }
            }
        }
    }

    @Test
    void theDecodeStepsBookkeepingAllocatesNothing() {
        KvCacheShape shape = new KvCacheShape(1, 1, 16, 16, KvType.F16);
        // Room for every window: 8 sequences of up to 4 + 104 * 400 tokens (1 KiB blocks, 24 MiB).
        try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 24_000))) {
            KvCacheManager kv = new KvCacheManager(memory, 0, true);
            int sequences = 8;
            for (int s = 0; s < sequences; s++) {
                assertTrue(kv.admit(s, new int[] {1, 2, 3, s}, 0, 4));
                kv.markComputed(s, 4);
            }
            long least = Long.MAX_VALUE;
            int token = 0;
            long deadline = System.nanoTime() + JIT_PATIENCE_NANOS;
            for (int w = -4; (w < WINDOWS || System.nanoTime() < deadline) && least > 0; w++) {
                long before = THREADS.getCurrentThreadAllocatedBytes();
                for (int step = 0; step < 400; step++) {
                    for (int s = 0; s < sequences; s++) {
                        int slot = kv.appendSlot(s, token++ & 1023);
                        assertTrue(slot >= 0);
                        assertEquals(slot, kv.blockTable(s).slot(kv.computedTokens(s)));
                        kv.markComputed(s, 1);
                    }
                    assertTrue(kv.decodeStepFits());
                }
                if (w >= 0) {
                    least = Math.min(least, THREADS.getCurrentThreadAllocatedBytes() - before);
                }
            }
            assertEquals(0, least, "decode bookkeeping allocated at least " + least + " bytes per 400 steps");
        }
    }
}
