package dev.spindle.kvcache.attention;

import static dev.spindle.kvcache.attention.AttentionFixture.LAYER;
import static dev.spindle.kvcache.attention.AttentionFixture.maxAbsDifference;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.memory.KvType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The {@link AttentionNumerics#LLAMA_CPP} kernel's own properties: it is attention (close to the float64 reference,
 * within the roundings it adds: query and probabilities to halves), and its result depends only on
 * the sequence, not on the block placement or on how a prompt is chunked. That its bits are llama.cpp's is checked
 * against ggml in the engine's {@code LlamaCppArithmeticTest}.
 */
class LlamaCppPagedAttentionTest {

    private static PagedAttention kernel(AttentionFixture f, int queryHeads) {
        return PagedAttention.create(
                f.memory, queryHeads, PagedAttention.defaultScale(f.memory), AttentionNumerics.LLAMA_CPP);
    }

    @ParameterizedTest
    @EnumSource(
            value = KvType.class,
            names = {"F16"})
    void itIsAttention(KvType type) {
        double tolerance = 2e-2;
        for (int headDim : new int[] {8, 64, 80}) {
            try (AttentionFixture f = new AttentionFixture(type, 2, headDim, 100, 21)) {
                for (long seed = 0; seed < 3; seed++) {
                    float[] query = f.query(8, seed);
                    float[] out = new float[8 * headDim];
                    kernel(f, 8).attend(LAYER, query, f.table, 100, out);
                    double error = maxAbsDifference(f.reference(query, 8, 100, true), out);
                    assertTrue(error <= tolerance, type + " headDim " + headDim + ": error " + error);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = KvType.class,
            names = {"F16"})
    void placementAndChunkingChangeNoBit(KvType type) {
        int tokens = 40;
        int stride = 8 * 64;
        try (AttentionFixture a = new AttentionFixture(type, 2, 64, tokens, 22, 100);
                AttentionFixture b = new AttentionFixture(type, 2, 64, tokens, 22, 200)) {
            float[] queries = AttentionFixture.gaussian(new java.util.Random(9), tokens * stride, 3);
            PagedAttention attention = kernel(a, 8);
            float[] decoded = new float[tokens * stride];
            for (int p = 0; p < tokens; p++) {
                attention.attend(LAYER, queries, p * stride, a.table, p + 1, decoded, p * stride);
            }
            float[] chunks = new float[tokens * stride];
            int[] cuts = {0, 5, 23, tokens};
            for (int c = 0; c + 1 < cuts.length; c++) {
                int at = cuts[c] * stride;
                attention.attendCausal(LAYER, queries, at, cuts[c + 1] - cuts[c], cuts[c], a.table, chunks, at);
            }
            assertArrayEquals(decoded, chunks);
            float[] elsewhere = new float[tokens * stride];
            kernel(b, 8).attendCausal(LAYER, queries, 0, tokens, 0, b.table, elsewhere, 0);
            assertArrayEquals(decoded, elsewhere);
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = KvType.class,
            names = {"F32", "Q8_0"})
    void otherCacheTypesAreRefused(KvType type) {
        try (AttentionFixture f = new AttentionFixture(type, 2, 64, 10, 23)) {
            assertThrows(IllegalArgumentException.class, () -> kernel(f, 8));
        }
    }
}
