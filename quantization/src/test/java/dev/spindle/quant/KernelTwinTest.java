package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every vector kernel against its scalar twin, for every format: on every bit pattern of the quants (random bytes
 * with finite scales) and on quantized Gaussian weights, on row lengths that are not multiples of the vector width
 * where the format allows, at unaligned byte offsets, with activations at an offset.
 */
class KernelTwinTest {

    /** Byte offsets of the weights: aligned, odd, and just short of a cache line. */
    private static final long[] OFFSETS = {0, 1, 3, 62};

    /**
     * A dot product may differ from its twin by the rounding of reordered float sums: at most this fraction of
     * {@code sum |w_i x_i|} (n * 2^-24 for n = 2048 would be 1.2e-4; observed errors are ~1e-7).
     */
    private static final double DOT_TOLERANCE = 2e-5;

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void vectorDequantizationIsExactlyTheReference(GgmlType type) {
        SplittableRandom random = new SplittableRandom(type.ordinal());
        for (int count : Samples.counts(type)) {
            for (long offset : OFFSETS) {
                MemorySegment w = Samples.randomBytes(type, count, offset, random);
                float[] scalar = new float[count + 3];
                float[] vector = new float[count + 3];
                type.kernels().dequantizeScalar(w, offset, scalar, 3, count);
                type.kernels().dequantizeVector(w, offset, vector, 3, count);
                assertArrayEquals(scalar, vector, type + " count " + count + " offset " + offset);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void dotProductsMatchTheirScalarTwinOnRandomBytes(GgmlType type) {
        SplittableRandom random = new SplittableRandom(100 + type.ordinal());
        for (int count : Samples.counts(type)) {
            for (long offset : OFFSETS) {
                MemorySegment w = Samples.randomBytes(type, count, offset, random);
                assertDotsAgree(type, w, offset, count, random);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void dotProductsMatchTheirScalarTwinOnQuantizedWeights(GgmlType type) {
        SplittableRandom random = new SplittableRandom(200 + type.ordinal());
        for (int count : Samples.counts(type)) {
            for (long offset : OFFSETS) {
                MemorySegment w = Samples.quantized(type, Samples.gaussian(random, count, 0.05), offset);
                assertDotsAgree(type, w, offset, count, random);
            }
        }
    }

    private static void assertDotsAgree(
            GgmlType type, MemorySegment w, long offset, int count, SplittableRandom random) {
        // Three tokens, so that the token read is at an offset in the activations.
        int tokens = 3;
        float[] x = Samples.gaussian(random, tokens * count, 1.0);
        Activations a = Samples.activations(type, x, tokens, count);
        float[] lanes = new float[TypeKernels.LANE_SCRATCH];
        ActivationFormat format = type.kernels().activationFormat();
        // 8-bit activations, and F16 rows of odd lengths (one scalar kernel in ggml's order), give the same bits.
        boolean exact = format == ActivationFormat.F16 ? count % 8 != 0 : format != ActivationFormat.FLOAT;
        for (int t = 0; t < tokens; t++) {
            double[] reference = Samples.semanticDot(type, w, offset, x, t * count, count);
            double tolerance = DOT_TOLERANCE * reference[1] + 1e-30;
            float scalar = type.kernels().dotScalar(w, offset, a, t, lanes);
            float vector = type.kernels().dotVector(w, offset, a, t, lanes);
            String where = type + " count " + count + " offset " + offset + " token " + t;
            assertEquals(reference[0], scalar, tolerance, "scalar twin vs exact, " + where);
            if (exact) {
                // Every block's (or product's) value is exact, and both add them in the same order.
                assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(vector), where);
            } else {
                assertEquals(scalar, vector, tolerance, "vector vs scalar twin, " + where);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "F16", "BF16"})
    void aDecodedRowReplaysTheFusedKernelBitForBit(GgmlType type) {
        SplittableRandom random = new SplittableRandom(300 + type.ordinal());
        float[] row = new float[4096];
        for (int count : Samples.counts(type)) {
            if (type == GgmlType.F16 && count % 8 != 0) {
                // These rows are never decoded: one scalar kernel in ggml's order (F16Kernels.dotHalves) serves them
                // alone and in batches (DenseBatchInvarianceTest covers them).
                continue;
            }
            for (long offset : OFFSETS) {
                MemorySegment w = Samples.randomBytes(type, count, offset, random);
                float[] x = Samples.gaussian(random, 7 + count, 1.0);
                float[] sums = Samples.sums(x, 7, count);
                type.kernels().dequantizeVector(w, offset, row, 0, count);
                float fused = type.kernels().dotVector(w, offset, x, 7, sums, 0, count);
                float replayed = TokenDots.denseOne(row, x, 7, count, new float[8]);
                assertEquals(
                        Float.floatToRawIntBits(fused),
                        Float.floatToRawIntBits(replayed),
                        type + " count " + count + " offset " + offset + ": " + fused + " vs " + replayed);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void dequantizeFollowsTheKernelSwitch(GgmlType type) {
        SplittableRandom random = new SplittableRandom(400 + type.ordinal());
        int count = Samples.counts(type)[1];
        MemorySegment w = Samples.randomBytes(type, count, 0, random);
        float[] expected = new float[count];
        float[] actual = new float[count];
        type.kernels().dequantizeScalar(w, 0, expected, 0, count);
        type.kernels().dequantize(w, 0, actual, 0, count);
        assertArrayEquals(expected, actual);
        Activations a = Samples.activations(type, actual, 1, count);
        float[] lanes = new float[TypeKernels.LANE_SCRATCH];
        float chosen = Kernels.VECTOR
                ? type.kernels().dotVector(w, 0, a, 0, lanes)
                : type.kernels().dotScalar(w, 0, a, 0, lanes);
        assertTrue(Float.isFinite(chosen));
    }
}
