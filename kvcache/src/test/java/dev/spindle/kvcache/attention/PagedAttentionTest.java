package dev.spindle.kvcache.attention;

import static dev.spindle.kvcache.attention.AttentionFixture.LAYER;
import static dev.spindle.kvcache.attention.AttentionFixture.maxAbsDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.memory.KvType;
import dev.spindle.quant.Kernels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The paged attention kernels against a float64 reference over a contiguous copy, and against each other.
 *
 * <p>Tolerances: against the reference computed from the stored (converted) K and V, 5e-6 absolute on outputs of
 * magnitude about 1 (float accumulation only; scores reach about 30, where a float ulp is 2e-6). Against the original float K and V: the same for F32; 4e-3 for F16 and
 * 4e-2 for Q8_0 (the cost of storing KV in those types, on unit-variance data and a peaked softmax).
 */
class PagedAttentionTest {

    private static final double KERNEL_TOLERANCE = 5e-6;

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        // Group sizes 1, 2, 3, 7, 8 and 15 exercise every tile of query heads (8, 4, 2, 1) and their mixes.
        int[][] heads = {{2, 2}, {2, 4}, {2, 6}, {1, 7}, {1, 8}, {1, 15}};
        for (KvType type : KvType.values()) {
            for (int[] h : heads) {
                for (int context : new int[] {1, 7, 16, 33, 200}) {
                    cases.add(Arguments.of(type, h[0], h[1], context));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} kvHeads={1} queryHeads={2} context={3}")
    @MethodSource("cases")
    void vectorAndScalarAgreeBitForBitAndMatchTheReference(KvType type, int kvHeads, int queryHeads, int context) {
        try (AttentionFixture f = new AttentionFixture(type, kvHeads, 64, context, 11)) {
            float[] query = f.query(queryHeads, 5);
            float scale = PagedAttention.defaultScale(f.memory);
            float[] vector = new float[queryHeads * 64];
            float[] scalar = new float[queryHeads * 64];
            PagedAttention.vector(f.memory, queryHeads, scale).attend(LAYER, query, f.table, context, vector);
            PagedAttention.scalar(f.memory, queryHeads, scale).attend(LAYER, query, f.table, context, scalar);
            assertArrayEquals(scalar, vector);
            double error = maxAbsDifference(f.reference(query, queryHeads, context, true), vector);
            assertTrue(error <= KERNEL_TOLERANCE, "error against the float64 reference: " + error);
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void storedTypesStayCloseToFullPrecision(KvType type) {
        double tolerance = switch (type) {
            case F32 -> KERNEL_TOLERANCE;
            case F16 -> 4e-3;
            case Q8_0 -> 4e-2;
        };
        try (AttentionFixture f = new AttentionFixture(type, 2, 64, 300, 12)) {
            for (long seed = 0; seed < 5; seed++) {
                float[] query = f.query(8, seed);
                float[] out = new float[8 * 64];
                PagedAttention.create(f.memory, 8).attend(LAYER, query, f.table, 300, out);
                double error = maxAbsDifference(f.reference(query, 8, 300, false), out);
                assertTrue(error <= tolerance, type + " error against full precision: " + error);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void theBlockTableDoesNotChangeTheResult(KvType type) {
        try (AttentionFixture a = new AttentionFixture(type, 2, 64, 75, 13, 100);
                AttentionFixture b = new AttentionFixture(type, 2, 64, 75, 13, 200)) {
            assertTrue(!java.util.Arrays.equals(a.table, b.table));
            float[] query = a.query(8, 1);
            float[] viaA = new float[8 * 64];
            float[] viaB = new float[8 * 64];
            PagedAttention.create(a.memory, 8).attend(LAYER, query, a.table, 75, viaA);
            PagedAttention.create(b.memory, 8).attend(LAYER, query, b.table, 75, viaB);
            assertArrayEquals(viaA, viaB);
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void prefillInAnyChunksEqualsDecodeTokenByToken(KvType type) {
        int tokens = 40;
        int stride = 8 * 64;
        try (AttentionFixture f = new AttentionFixture(type, 2, 64, tokens, 14)) {
            float[] queries = AttentionFixture.gaussian(new java.util.Random(9), tokens * stride, 3);
            PagedAttention attention = PagedAttention.create(f.memory, 8);
            float[] decoded = new float[tokens * stride];
            for (int p = 0; p < tokens; p++) {
                attention.attend(LAYER, queries, p * stride, f.table, p + 1, decoded, p * stride);
            }
            float[] oneChunk = new float[tokens * stride];
            attention.attendCausal(LAYER, queries, 0, tokens, 0, f.table, oneChunk, 0);
            assertArrayEquals(decoded, oneChunk);
            float[] threeChunks = new float[tokens * stride];
            int[] cuts = {0, 5, 23, tokens};
            for (int c = 0; c + 1 < cuts.length; c++) {
                int at = cuts[c] * stride;
                attention.attendCausal(LAYER, queries, at, cuts[c + 1] - cuts[c], cuts[c], f.table, threeChunks, at);
            }
            assertArrayEquals(decoded, threeChunks);
        }
    }

    @Test
    void eachKvHeadGroupCanBeComputedApart() {
        try (AttentionFixture f = new AttentionFixture(KvType.F16, 4, 64, 50, 15)) {
            float[] query = f.query(12, 2);
            float[] whole = new float[12 * 64];
            float[] parts = new float[12 * 64];
            PagedAttention attention = PagedAttention.create(f.memory, 12);
            attention.attend(LAYER, query, f.table, 50, whole);
            for (int kvHead = 3; kvHead >= 0; kvHead--) {
                attention.attendGroup(LAYER, kvHead, query, 0, f.table, 50, parts, 0);
            }
            assertArrayEquals(whole, parts);
        }
    }

    @Test
    void threadsWithTheirOwnKernelsGetTheSerialResults() throws Exception {
        try (AttentionFixture f = new AttentionFixture(KvType.Q8_0, 2, 64, 120, 16)) {
            int queries = 16;
            float[][] serial = new float[queries][8 * 64];
            PagedAttention one = PagedAttention.create(f.memory, 8);
            for (int i = 0; i < queries; i++) {
                one.attend(LAYER, f.query(8, i), f.table, 1 + i * 7, serial[i]);
            }
            try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
                List<Future<float[]>> results = new ArrayList<>();
                for (int i = 0; i < queries; i++) {
                    int index = i;
                    results.add(pool.submit(() -> {
                        float[] out = new float[8 * 64];
                        PagedAttention.create(f.memory, 8)
                                .attend(LAYER, f.query(8, index), f.table, 1 + index * 7, out);
                        return out;
                    }));
                }
                for (int i = 0; i < queries; i++) {
                    assertArrayEquals(serial[i], results.get(i).get());
                }
            }
        }
    }

    @Test
    void badArgumentsAreRefusedAndLeaveTheOutputUntouched() {
        try (AttentionFixture f = new AttentionFixture(KvType.F16, 2, 64, 40, 17)) {
            PagedAttention attention = PagedAttention.create(f.memory, 8);
            float[] query = f.query(8, 0);
            float[] out = new float[8 * 64];
            java.util.Arrays.fill(out, 7f);
            float[] before = out.clone();
            int[] badBlock = f.table.clone();
            badBlock[2] = f.memory.layout().numBlocks();
            List<Runnable> calls = List.of(
                    () -> attention.attend(2, query, f.table, 40, out),
                    () -> attention.attend(-1, query, f.table, 40, out),
                    () -> attention.attend(LAYER, query, f.table, 0, out),
                    () -> attention.attend(LAYER, query, f.table, 49, out),
                    () -> attention.attend(LAYER, query, badBlock, 40, out),
                    () -> attention.attend(LAYER, new float[100], f.table, 40, out),
                    () -> attention.attend(LAYER, query, f.table, 40, new float[8 * 64 - 1]),
                    () -> attention.attend(LAYER, query, 1, f.table, 40, out, 0),
                    () -> attention.attendGroup(LAYER, 2, query, 0, f.table, 40, out, 0),
                    () -> attention.attendCausal(LAYER, query, 0, 1, 48, f.table, out, 0),
                    () -> attention.attendCausal(LAYER, query, 0, 0, 3, f.table, out, 0));
            for (Runnable call : calls) {
                assertThrows(IllegalArgumentException.class, call::run);
                assertArrayEquals(before, out);
            }
            assertThrows(IllegalArgumentException.class, () -> PagedAttention.create(f.memory, 7));
            assertThrows(IllegalArgumentException.class, () -> PagedAttention.vector(f.memory, 8, 0f));
        }
    }

    @ParameterizedTest(name = "{0} headDim={1} blockSize={2}")
    @MethodSource("oddShapes")
    void shapesTheVectorLanesDoNotTileRunOnTheScalarKernel(KvType type, int headDim, int blockSize) {
        try (AttentionFixture f = new AttentionFixture(type, 4, headDim, blockSize, 37, 19, 19)) {
            assertTrue(!PagedAttention.vectorSupports(f.shape));
            assertThrows(IllegalArgumentException.class, () -> PagedAttention.vector(f.memory, 8, 1f));
            PagedAttention attention = PagedAttention.create(f.memory, 8);
            assertInstanceOf(ScalarPagedAttention.class, attention);
            for (int context : new int[] {1, blockSize, 37}) {
                float[] query = f.query(8, context);
                float[] out = new float[8 * headDim];
                attention.attend(LAYER, query, f.table, context, out);
                double error = maxAbsDifference(f.reference(query, 8, context, true), out);
                assertTrue(
                        error <= KERNEL_TOLERANCE,
                        "context " + context + ": error against the float64 reference: " + error);
            }
        }
    }

    static Stream<Arguments> oddShapes() {
        // Head dimensions and block sizes that are multiples of neither 8 nor 16 lanes.
        return Stream.of(
                Arguments.of(KvType.F32, 12, 16),
                Arguments.of(KvType.F16, 12, 16),
                Arguments.of(KvType.F16, 64, 5),
                Arguments.of(KvType.Q8_0, 32, 12),
                Arguments.of(KvType.F32, 24, 1));
    }

    @Test
    void theProjectSwitchPicksTheKernel() {
        try (AttentionFixture f = new AttentionFixture(KvType.F32, 1, 64, 1, 18)) {
            // Under -Dspindle.kernels=scalar the whole suite runs on the twin; otherwise the vector kernel runs here.
            Class<?> expected = Kernels.VECTOR ? VectorPagedAttention.class : ScalarPagedAttention.class;
            assertInstanceOf(expected, PagedAttention.create(f.memory, 1));
        }
    }
}
