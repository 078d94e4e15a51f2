package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Quantizers: the layouts they write, and how far dequantize(quantize(x)) may stray from x in each format. */
class QuantizerTest {

    /** Formats with no quantizer. Empty: every format Spindle reads it can also write. */
    static final Set<GgmlType> WITHOUT_QUANTIZER = EnumSet.noneOf(GgmlType.class);

    /** Relative RMS error of a round trip on Gaussian data; measured values in parentheses. */
    private static double rmsBound(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 3e-4; // 2.1e-4 (subnormals)
            case BF16 -> 3e-3; // 1.7e-3
            case Q8_0 -> 0.01; // 0.0054
            case Q4_0 -> 0.12; // 0.086
            case Q4_1 -> 0.11; // 0.078
            case Q5_0 -> 0.06; // 0.043
            case Q5_1 -> 0.055; // 0.038
            case Q4_K -> 0.10; // 0.072
            case Q5_K -> 0.05; // 0.037
            case Q6_K -> 0.025; // 0.018
        };
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void everyFormatHasAQuantizerUnlessListed(GgmlType type) {
        TypeKernels kernels = type.kernels();
        assertEquals(!WITHOUT_QUANTIZER.contains(type), kernels.canQuantize());
        if (!kernels.canQuantize()) {
            MemorySegment dst = Arena.ofAuto().allocate(type.bytesFor(256));
            assertThrows(UnsupportedOperationException.class, () -> kernels.quantize(new float[256], 0, 256, dst, 0));
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void roundTripErrorStaysWithinTheFormatsBound(GgmlType type) {
        SplittableRandom random = new SplittableRandom(7);
        int n = 256 * 64;
        float[] x = Samples.gaussian(random, n + 3, 0.05);
        MemorySegment q = Arena.ofAuto().allocate(type.bytesFor(n) + 5);
        type.kernels().quantize(x, 3, n, q, 5);
        float[] back = new float[n];
        type.kernels().dequantizeScalar(q, 5, back, 0, n);
        double err2 = 0;
        double x2 = 0;
        for (int i = 0; i < n; i++) {
            double e = back[i] - x[3 + i];
            err2 += e * e;
            x2 += (double) x[3 + i] * x[3 + i];
            assertTrue(
                    Math.abs(e) <= elementBound(type, x, 3 + i),
                    type + " element " + i + ": " + x[3 + i] + " -> " + back[i]);
        }
        double rms = Math.sqrt(err2 / x2);
        assertTrue(rms <= rmsBound(type), type + " relative RMS error " + rms);
    }

    /** The largest error one element may have, from the format's definition; K-quants by their block range. */
    private static double elementBound(GgmlType type, float[] x, int i) {
        int block = type.blockSize();
        int from = 3 + (i - 3) / block * block;
        double amax = 0;
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (int j = from; j < from + block; j++) {
            amax = Math.max(amax, Math.abs(x[j]));
            min = Math.min(min, x[j]);
            max = Math.max(max, x[j]);
        }
        double half = 0x1p-11; // relative rounding of a half-precision scale
        return switch (type) {
            case F32 -> 0;
            case F16 -> Math.abs(x[i]) * half + 0x1p-25;
            case BF16 -> Math.abs(x[i]) * 0x1p-8;
            case Q8_0 -> amax * (0.5 / 127 + 2 * half);
            // The side opposite the largest magnitude reaches only 7/8 of it: error up to one step.
            case Q4_0 -> amax * (1.0 / 8 + 2 * half);
            case Q5_0 -> amax * (1.0 / 16 + 2 * half);
            case Q4_1 -> (max - min) * (0.5 / 15 + 2 * half) + Math.abs(min) * 2 * half;
            case Q5_1 -> (max - min) * (0.5 / 31 + 2 * half) + Math.abs(min) * 2 * half;
            // K-quants fit their scales by least squares, which may clip a little: bound by the super-block range.
            case Q4_K -> (max - min) / 15;
            case Q5_K -> (max - min) / 31;
            case Q6_K -> amax / 16;
        };
    }

    @Test
    void q8_0ScalesByTheLargestMagnitudeAndRoundsHalvesAwayFromZero() {
        float[] x = new float[32];
        x[0] = -127;
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.49f;
        x[31] = 100;
        MemorySegment q = Arena.ofAuto().allocate(34);
        GgmlType.Q8_0.kernels().quantize(x, 0, 32, q, 0);
        assertEquals(1.0f, Float.float16ToFloat(q.get(Samples.LE_SHORT, 0)));
        assertEquals(-127, q.get(ValueLayout.JAVA_BYTE, 2));
        assertEquals(3, q.get(ValueLayout.JAVA_BYTE, 3));
        assertEquals(-3, q.get(ValueLayout.JAVA_BYTE, 4));
        assertEquals(0, q.get(ValueLayout.JAVA_BYTE, 5));
        assertEquals(100, q.get(ValueLayout.JAVA_BYTE, 33));
    }

    @Test
    void q4_0MapsTheLargestMagnitudeToMinusEightAndPacksHalvesIntoNibbles() {
        float[] x = new float[32];
        for (int j = 0; j < 32; j++) {
            x[j] = j - 16; // largest magnitude -16: d = 2
        }
        MemorySegment q = Arena.ofAuto().allocate(18);
        GgmlType.Q4_0.kernels().quantize(x, 0, 32, q, 0);
        assertEquals(2.0f, Float.float16ToFloat(q.get(Samples.LE_SHORT, 0)));
        for (int j = 0; j < 16; j++) {
            int expectedLow = Math.min(15, (int) ((j - 16) / 2.0f + 8.5f));
            int expectedHigh = Math.min(15, (int) (j / 2.0f + 8.5f));
            assertEquals(expectedLow | expectedHigh << 4, q.get(ValueLayout.JAVA_BYTE, 2 + j) & 0xff, "byte " + j);
        }
        assertEquals(0, q.get(ValueLayout.JAVA_BYTE, 2) & 0xf, "-16 is level 0");
        assertEquals(15, (q.get(ValueLayout.JAVA_BYTE, 17) & 0xff) >>> 4, "15 clips to level 15");
    }

    @Test
    void q5_0StoresTheFifthBitsInALittleEndianWord() {
        float[] x = new float[32];
        x[0] = -16; // d = 1, level 0
        x[1] = 15; // level 31
        x[17] = 1; // level 17: fifth bit set at bit 17
        MemorySegment q = Arena.ofAuto().allocate(22);
        GgmlType.Q5_0.kernels().quantize(x, 0, 32, q, 0);
        int qh = q.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 2);
        assertEquals(0, qh & 1);
        assertEquals(1, (qh >>> 1) & 1);
        assertEquals(1, (qh >>> 17) & 1);
        float[] back = new float[32];
        GgmlType.Q5_0.kernels().dequantizeScalar(q, 0, back, 0, 32);
        assertArrayEquals(x, back);
    }

    @Test
    void kQuantScalesAndMinimumsSurviveTheirSixBitPacking() {
        int[] scales = new int[8];
        int[] mins = new int[8];
        MemorySegment packed = Arena.ofAuto().allocate(12);
        SplittableRandom random = new SplittableRandom(3);
        for (int trial = 0; trial < 200; trial++) {
            for (int j = 0; j < 8; j++) {
                scales[j] = random.nextInt(64);
                mins[j] = random.nextInt(64);
            }
            KQuantMath.packScalesAndMins(scales, mins, packed, 0);
            for (int j = 0; j < 8; j++) {
                int sm = KQuantMath.scaleAndMin(packed, 0, j);
                assertEquals(scales[j], sm & 0xff);
                assertEquals(mins[j], sm >>> 8);
            }
        }
    }

    @Test
    void q6_KOfZerosIsAllZeroBytes() {
        MemorySegment q = Arena.ofAuto().allocate(210);
        q.fill((byte) 7);
        GgmlType.Q6_K.kernels().quantize(new float[256], 0, 256, q, 0);
        for (int i = 0; i < 210; i++) {
            assertEquals(0, q.get(ValueLayout.JAVA_BYTE, i));
        }
    }

    @Test
    void q4_KOfAConstantNegativeRowIsItsMinimum() {
        float[] x = new float[256];
        java.util.Arrays.fill(x, -0.75f);
        MemorySegment q = Arena.ofAuto().allocate(144);
        GgmlType.Q4_K.kernels().quantize(x, 0, 256, q, 0);
        float[] back = new float[256];
        GgmlType.Q4_K.kernels().dequantizeScalar(q, 0, back, 0, 256);
        for (float v : back) {
            assertEquals(-0.75f, v, 0.75f * 0x1p-10, "only the half-precision minimum's rounding remains");
        }
    }

    @Test
    void bf16RoundsToNearestEvenAndKeepsNaN() {
        assertEquals((short) 0x3f80, Bf16Kernels.fromFloat(1.0f));
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0)
        assertEquals((short) 0x3f80, Bf16Kernels.fromFloat(1.0f + 0x1p-8f));
        assertEquals((short) 0x3f81, Bf16Kernels.fromFloat(1.0f + 0x1p-8f + 0x1p-20f));
        assertTrue(Float.isNaN(Bf16Kernels.toFloat(Bf16Kernels.fromFloat(Float.NaN))));
        assertFalse(Float.isNaN(Bf16Kernels.toFloat(Bf16Kernels.fromFloat(Float.MAX_VALUE))));
    }

    @Test
    void f16VectorConversionHandlesEveryHalf() {
        MemorySegment all = Arena.ofAuto().allocate(2 * 65536);
        for (int h = 0; h < 65536; h++) {
            all.set(Samples.LE_SHORT, 2L * h, (short) h);
        }
        float[] scalar = new float[65536];
        float[] vector = new float[65536];
        GgmlType.F16.kernels().dequantizeScalar(all, 0, scalar, 0, 65536);
        GgmlType.F16.kernels().dequantizeVector(all, 0, vector, 0, 65536);
        for (int h = 0; h < 65536; h++) {
            assertEquals(
                    Float.floatToIntBits(scalar[h]),
                    Float.floatToIntBits(vector[h]),
                    "half 0x" + Integer.toHexString(h));
        }
    }
}
