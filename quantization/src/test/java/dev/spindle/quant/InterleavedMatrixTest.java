package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.quant.parallel.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A Q4_0 matrix interleaved at load time ({@link QuantizedMatrix#interleaved}) is the same matrix: its rows
 * dequantize to the same floats and its products give the same bits as the rows as stored, for any number of tokens,
 * on one thread or on the pool; what cannot be interleaved is left as it is or refused with a reason.
 */
class InterleavedMatrixTest {

    private static final int COLS = 224;

    /** Random Q4_0 rows (every nibble pattern) whose scales include zero, negative and subnormal halves. */
    private static QuantizedMatrix randomQ4_0(int rows, SplittableRandom random) {
        MemorySegment data = Samples.randomBytes(GgmlType.Q4_0, rows * COLS, 0, random)
                .asSlice(0, rows * GgmlType.Q4_0.bytesFor(COLS));
        short[] special = {0, (short) 0x8000, 0x0001, (short) 0x83ff, 0x0400, 0x7bff, (short) 0xfbff};
        for (int i = 0; i < special.length; i++) {
            long block = random.nextLong(data.byteSize() / Q4_0Kernels.BYTES);
            data.set(Samples.LE_SHORT, block * Q4_0Kernels.BYTES, special[i]);
        }
        return new QuantizedMatrix(GgmlType.Q4_0, rows, COLS, data);
    }

    @Test
    void productsAndRowsAreThoseOfTheRowsAsStored() {
        SplittableRandom random = new SplittableRandom(8);
        int rows = 48;
        int maxTokens = 13; // eight, four and single tokens
        try (Arena arena = Arena.ofConfined()) {
            QuantizedMatrix stored = randomQ4_0(rows, random);
            QuantizedMatrix packed = stored.interleaved(arena);
            assertTrue(packed.interleaved());
            assertEquals(8, packed.rowGroup());
            assertFalse(stored.data().asByteBuffer().equals(packed.data().asByteBuffer()), "the bytes moved");

            float[] a = new float[COLS];
            float[] b = new float[COLS];
            for (int r = 0; r < rows; r++) {
                stored.dequantizeRow(r, a, 0);
                packed.dequantizeRow(r, b, 0);
                assertArrayEquals(a, b, "row " + r);
            }

            float[] x = Samples.gaussian(random, maxTokens * COLS, 1.0);
            RowScratch scratch = new RowScratch(COLS);
            for (int tokens = 1; tokens <= maxTokens; tokens++) {
                Activations act = Samples.activations(GgmlType.Q4_0, x, tokens, COLS);
                float[] expected = new float[tokens * rows];
                float[] actual = new float[tokens * rows];
                stored.multiplyRows(act, expected, 0, rows, scratch);
                packed.multiplyRows(act, actual, 0, rows, scratch);
                assertArrayEquals(expected, actual, tokens + " tokens");
                // The definition itself, one (row, token) at a time.
                for (int t = 0; t < tokens; t++) {
                    for (int r = 0; r < rows; r++) {
                        float scalar = Q4_0InterleavedKernels.dotScalar(packed.data(), COLS, r, act, t);
                        assertEquals(
                                Float.floatToRawIntBits(expected[t * rows + r]),
                                Float.floatToRawIntBits(scalar),
                                "scalar twin, token " + t + " row " + r);
                    }
                }
            }
        }
    }

    @Test
    void thePoolSplitsInterleavedMatricesOnWholeGroups() {
        SplittableRandom random = new SplittableRandom(9);
        int rows = 8 * 37;
        int tokens = 6;
        try (Arena arena = Arena.ofShared();
                WorkerPool pool = new WorkerPool(3)) {
            QuantizedMatrix stored = randomQ4_0(rows, random);
            QuantizedMatrix packed = stored.interleaved(arena);
            float[] x = Samples.gaussian(random, tokens * COLS, 1.0);
            MatMul matmul = new MatMul(pool, tokens, COLS);
            float[] expected = new float[tokens * rows];
            float[] actual = new float[tokens * rows];
            matmul.multiply(stored, x, tokens, expected);
            matmul.multiply(packed, x, tokens, actual);
            assertArrayEquals(expected, actual, "on the pool");
        }
    }

    @Test
    void whatHasNoInterleavedLayoutStaysAsItIs() {
        SplittableRandom random = new SplittableRandom(10);
        try (Arena arena = Arena.ofConfined()) {
            QuantizedMatrix oddRows = randomQ4_0(12, random);
            assertSame(oddRows, oddRows.interleaved(arena), "12 rows are not whole groups of 8");
            assertEquals(1, oddRows.rowGroup());
            MemorySegment q8 = Samples.randomBytes(GgmlType.Q8_0, 16 * COLS, 0, random)
                    .asSlice(0, 16 * GgmlType.Q8_0.bytesFor(COLS));
            QuantizedMatrix other = new QuantizedMatrix(GgmlType.Q8_0, 16, COLS, q8);
            assertSame(other, other.interleaved(arena), "Q8_0 has no interleaved layout");
            QuantizedMatrix packed = randomQ4_0(16, random).interleaved(arena);
            assertSame(packed, packed.interleaved(arena), "interleaved once");
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> new QuantizedMatrix(GgmlType.Q8_0, 16, COLS, q8, true));
            assertTrue(e.getMessage().contains("no interleaved layout"), e.getMessage());
        }
    }

    @Test
    void aNonFiniteScaleIsRefusedNamingItsRowAndBlock() {
        SplittableRandom random = new SplittableRandom(11);
        QuantizedMatrix stored = randomQ4_0(16, random);
        long rowBytes = stored.rowBytes();
        stored.data().set(Samples.LE_SHORT, 13 * rowBytes + 5L * Q4_0Kernels.BYTES, (short) 0x7c00); // +infinity
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> stored.interleaved(arena));
            assertEquals("Q4_0 row 13 block 5 has a scale that is not a finite number", e.getMessage());
        }
    }

    @Test
    void aRowRangeMustCoverWholeGroups() {
        SplittableRandom random = new SplittableRandom(12);
        try (Arena arena = Arena.ofConfined()) {
            QuantizedMatrix packed = randomQ4_0(16, random).interleaved(arena);
            Activations act = Samples.activations(GgmlType.Q4_0, Samples.gaussian(random, COLS, 1.0), 1, COLS);
            float[] out = new float[16];
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> packed.multiplyRows(act, out, 4, 16, new RowScratch(COLS)));
            assertTrue(e.getMessage().contains("whole groups of 8"), e.getMessage());
        }
    }

    private static void assertArrayEquals(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                assertEquals(expected[i], actual[i], what + ", element " + i + " of " + Arrays.toString(actual));
            }
        }
    }
}
