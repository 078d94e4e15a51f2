package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The K-quant products with activations rounded per super-block ({@link KQuantActivations}, {@link
 * KQuantKernels}): the rounding is llama.cpp's, the vector kernels give exactly the bits of their scalar twins, a
 * token's result is the same alone and at any position of a batch, and every result is the exact product of the
 * dequantized weights with the rounded activations, up to the rounding of a few float operations.
 */
class KQuantProductTest {

    private static final long[] OFFSETS = {0, 1, 62};

    @Test
    void activationsAreRoundedPerSuperBlockAsLlamaCppDoes() {
        float[] x = new float[512];
        x[3] = -2.0f; // the largest magnitude of the first block, negative: d = max / -127 > 0
        x[4] = 1.0f; // 63.5 -> 64 (halves to even)
        x[5] = 0.5f; // 31.75 -> 32
        x[6] = 3 * 2.0f / 254; // 1.5 exactly -> 2
        x[7] = 2.0f / 254; // 0.5 -> 0
        // The second block stays zero: d = 0, quants 0.
        float[] q = new float[512];
        float[] d = new float[2];
        KQuantActivations.quantize(x, 0, 512, q, 0, d, 0);
        assertEquals(1 / (-127.f / -2.0f), d[0]);
        assertEquals(-127, q[3]);
        assertEquals(64, q[4]);
        assertEquals(32, q[5]);
        assertEquals(2, q[6]);
        assertEquals(0, q[7]);
        assertEquals(0, d[1]);
        assertThrows(IllegalArgumentException.class, () -> KQuantActivations.quantize(x, 0, 100, q, 0, d, 0));
    }

    @Test
    void rowsThatAreNotWholeSuperBlocksHaveNoRoundedForm() {
        KQuantActivations a = new KQuantActivations(2, 300);
        assertTrue(a.set(new float[512], 2, 256).ready());
        assertTrue(!a.set(new float[600], 2, 300).ready());
    }

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"Q4_K", "Q5_K", "Q6_K"})
    void vectorKernelsGiveTheBitsOfTheScalarTwin(GgmlType type) {
        KQuantKernels kernels = (KQuantKernels) type.kernels();
        SplittableRandom random = new SplittableRandom(300 + type.ordinal());
        float[] lanes = new float[KQuantKernels.SCRATCH];
        for (int count : Samples.counts(type)) {
            for (long offset : OFFSETS) {
                for (boolean quantized : new boolean[] {false, true}) {
                    MemorySegment w = quantized
                            ? Samples.quantized(type, Samples.gaussian(random, count, 0.05), offset)
                            : Samples.randomBytes(type, count, offset, random);
                    KQuantActivations a =
                            new KQuantActivations(5, count).set(Samples.gaussian(random, 5 * count, 1.0), 5, count);
                    float[] four = new float[5];
                    kernels.dotRounded4(w, offset, a, 1, four, 0, 1, lanes);
                    for (int t = 0; t < 5; t++) {
                        String what = type + " count " + count + " offset " + offset + " token " + t;
                        float scalar = kernels.dotRoundedScalar(w, offset, a, t, lanes);
                        float vector = kernels.dotRounded(w, offset, a, t, lanes);
                        assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(vector), what);
                        if (t >= 1) {
                            assertEquals(Float.floatToRawIntBits(vector), Float.floatToRawIntBits(four[t]), what);
                        }
                        double[] exact = exactDot(type, w, offset, a, t);
                        assertEquals(exact[0], vector, 1e-6 * exact[1] + 1e-30, what);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"Q4_K", "Q5_K", "Q6_K"})
    void aTokensResultIsTheSameAloneAndAtAnyPositionOfABatch(GgmlType type) {
        SplittableRandom random = new SplittableRandom(400 + type.ordinal());
        int rows = 13;
        int cols = 768;
        MemorySegment data = Samples.quantized(type, Samples.gaussian(random, rows * cols, 0.05), 0)
                .asSlice(0, rows * type.bytesFor(cols));
        QuantizedMatrix w = new QuantizedMatrix(type, rows, cols, data);
        int maxTokens = 9;
        float[] x = Samples.gaussian(random, maxTokens * cols, 1.0);
        Activations one = new Activations(1, cols);
        RowScratch scratch = new RowScratch(cols);
        float[] alone = new float[maxTokens * rows];
        float[] single = new float[rows];
        for (int t = 0; t < maxTokens; t++) {
            w.multiplyRows(
                    one.set(java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, cols)
                            .prepare(ActivationFormat.Q8_K),
                    single,
                    0,
                    rows,
                    scratch);
            System.arraycopy(single, 0, alone, t * rows, rows);
        }
        Activations batch = new Activations(maxTokens, cols);
        for (int tokens = 1; tokens <= maxTokens; tokens++) {
            // Every window of the sequence, so a token takes every position of a tile of four.
            for (int first = 0; first + tokens <= maxTokens; first++) {
                float[] window = java.util.Arrays.copyOfRange(x, first * cols, (first + tokens) * cols);
                float[] out = new float[tokens * rows];
                w.multiplyRows(batch.set(window, tokens, cols).prepare(ActivationFormat.Q8_K), out, 0, rows, scratch);
                for (int t = 0; t < tokens; t++) {
                    for (int r = 0; r < rows; r++) {
                        assertEquals(
                                Float.floatToRawIntBits(alone[(first + t) * rows + r]),
                                Float.floatToRawIntBits(out[t * rows + r]),
                                type + ": token " + (first + t) + " at " + t + " of " + tokens + ", row " + r);
                    }
                }
            }
        }
    }

    /** The dot product of the reference dequantization with the rounded activations {@code d * q}, in doubles. */
    static double[] exactDot(GgmlType type, MemorySegment w, long offset, KQuantActivations a, int token) {
        int count = a.cols();
        float[] row = new float[count];
        type.kernels().dequantizeScalar(w, offset, row, 0, count);
        double dot = 0;
        double magnitude = 0;
        for (int i = 0; i < count; i++) {
            double x = (double) a.d[token * a.blocks + i / KQuantActivations.BLOCK] * a.quant(token, i);
            dot += row[i] * x;
            magnitude += Math.abs(row[i] * x);
        }
        return new double[] {dot, magnitude};
    }
}
