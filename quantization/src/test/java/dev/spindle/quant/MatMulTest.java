package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.spindle.quant.parallel.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Matrix products over several rows and tokens, on one thread and on the pool: each result matches the exact
 * product of the reference dequantization, and a token's results are bit for bit the same whatever the batch it
 * is in and however many threads share the rows.
 */
class MatMulTest {

    private static WorkerPool pool;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(3);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    private static int colsFor(GgmlType type) {
        return switch (type.blockSize()) {
            case 1 -> 100; // not a multiple of the vector width
            case 32 -> 224;
            default -> 512;
        };
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void productsMatchTheReferenceAndDoNotDependOnTheBatch(GgmlType type) {
        SplittableRandom random = new SplittableRandom(type.ordinal());
        int rows = 37;
        int cols = colsFor(type);
        MemorySegment data = Samples.randomBytes(type, rows * cols, 0, random).asSlice(0, rows * type.bytesFor(cols));
        QuantizedMatrix w = new QuantizedMatrix(type, rows, cols, data);
        int maxTokens = 9;
        float[] x = Samples.gaussian(random, maxTokens * cols, 1.0);

        float[] alone = new float[maxTokens * rows];
        Activations one = new Activations(1, cols);
        RowScratch scratch = new RowScratch(cols);
        float[] single = new float[rows];
        for (int t = 0; t < maxTokens; t++) {
            float[] xt = java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols);
            w.multiplyRows(one.set(xt, 1, cols).prepare(type.kernels().activationFormat()), single, 0, rows, scratch);
            System.arraycopy(single, 0, alone, t * rows, rows);
            for (int r = 0; r < rows; r++) {
                double[] reference = type.kernels() instanceof KQuantKernels
                        ? Samples.roundedReferenceDot(type, data, r * w.rowBytes(), xt, cols)
                        : Samples.semanticDot(type, data, r * w.rowBytes(), xt, 0, cols);
                assertEquals(reference[0], single[r], 2e-5 * reference[1] + 1e-30, type + " row " + r);
            }
        }

        MatMul matmul = new MatMul(pool, maxTokens, cols);
        for (int tokens = 1; tokens <= maxTokens; tokens++) {
            float[] batched = new float[tokens * rows];
            matmul.multiply(w, x, tokens, batched);
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    assertEquals(
                            Float.floatToRawIntBits(alone[t * rows + r]),
                            Float.floatToRawIntBits(batched[t * rows + r]),
                            type + ": token " + t + " of " + tokens + ", row " + r);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void resultsDoNotChangeAsTheJitCompilesTheKernels(GgmlType type) {
        SplittableRandom random = new SplittableRandom(50 + type.ordinal());
        int count = type.blockSize() == 1 ? 40 : type.blockSize();
        MemorySegment w = Samples.randomBytes(type, count, 0, random);
        float[] x = Samples.gaussian(random, count, 1.0);
        Activations a = Samples.activations(type, x, 1, count);
        float[] lanes = new float[TypeKernels.LANE_SCRATCH];
        int first = Float.floatToRawIntBits(type.kernels().dotVector(w, 0, a, 0, lanes));
        // Enough calls for the interpreter, C1 and C2 to have run the kernel in turn.
        for (int i = 0; i < 30_000; i++) {
            int again = Float.floatToRawIntBits(type.kernels().dotVector(w, 0, a, 0, lanes));
            if (again != first) {
                assertEquals(first, again, type + " changed at call " + i);
            }
        }
    }

    @Test
    void threeMatricesSharingAnInputRunAsOneJob() {
        SplittableRandom random = new SplittableRandom(5);
        int cols = 256;
        QuantizedMatrix[] w = new QuantizedMatrix[3];
        int[] rows = {64, 16, 16};
        GgmlType[] types = {GgmlType.Q4_K, GgmlType.Q8_0, GgmlType.F16};
        for (int m = 0; m < 3; m++) {
            MemorySegment data = Samples.randomBytes(types[m], rows[m] * cols, 0, random)
                    .asSlice(0, rows[m] * types[m].bytesFor(cols));
            w[m] = new QuantizedMatrix(types[m], rows[m], cols, data);
        }
        int tokens = 5;
        float[] x = Samples.gaussian(random, tokens * cols, 1.0);
        float[][] together = {new float[tokens * 64], new float[tokens * 16], new float[tokens * 16]};
        MatMul matmul = new MatMul(pool, tokens, cols);
        matmul.multiply(x, tokens, w[0], together[0], w[1], together[1], w[2], together[2]);
        for (int m = 0; m < 3; m++) {
            float[] apart = new float[tokens * rows[m]];
            matmul.multiply(w[m], x, tokens, apart);
            for (int i = 0; i < apart.length; i++) {
                assertEquals(Float.floatToRawIntBits(apart[i]), Float.floatToRawIntBits(together[m][i]), "matrix " + m);
            }
        }
    }

    @Test
    void oneThreadAndManyGiveTheSameBits() {
        SplittableRandom random = new SplittableRandom(9);
        int rows = 301;
        int cols = 256;
        MemorySegment data = Samples.randomBytes(GgmlType.Q6_K, rows * cols, 0, random)
                .asSlice(0, rows * GgmlType.Q6_K.bytesFor(cols));
        QuantizedMatrix w = new QuantizedMatrix(GgmlType.Q6_K, rows, cols, data);
        float[] x = Samples.gaussian(random, 3 * cols, 1.0);
        float[] many = new float[3 * rows];
        new MatMul(pool, 3, cols).multiply(w, x, 3, many);
        float[] one = new float[3 * rows];
        try (WorkerPool single = new WorkerPool(1)) {
            new MatMul(single, 3, cols).multiply(w, x, 3, one);
        }
        for (int i = 0; i < one.length; i++) {
            assertEquals(Float.floatToRawIntBits(one[i]), Float.floatToRawIntBits(many[i]));
        }
    }

    @Test
    void mismatchedShapesAreRefused() {
        QuantizedMatrix w = new QuantizedMatrix(
                GgmlType.Q8_0,
                4,
                64,
                Samples.randomBytes(GgmlType.Q8_0, 256, 0, new SplittableRandom(1))
                        .asSlice(0, 4 * 68));
        MatMul matmul = new MatMul(pool, 2, 128);
        assertThrows(IllegalArgumentException.class, () -> matmul.multiply(w, new float[2 * 64], 2, new float[7]));
        assertThrows(IllegalArgumentException.class, () -> matmul.multiply(w, new float[2 * 64], 3, new float[8]));
        assertThrows(
                IllegalArgumentException.class,
                () -> new QuantizedMatrix(GgmlType.Q8_0, 4, 64, MemorySegment.ofArray(new byte[100])));
    }

    @Test
    void embeddingRowsDequantizeInPlace() {
        SplittableRandom random = new SplittableRandom(2);
        int cols = 256;
        MemorySegment data =
                Samples.randomBytes(GgmlType.Q4_K, 3 * cols, 0, random).asSlice(0, 3 * 144);
        QuantizedMatrix w = new QuantizedMatrix(GgmlType.Q4_K, 3, cols, data);
        float[] row = new float[cols + 1];
        w.dequantizeRow(2, row, 1);
        float[] expected = new float[cols];
        GgmlType.Q4_K.kernels().dequantizeScalar(data, 2 * 144, expected, 0, cols);
        for (int i = 0; i < cols; i++) {
            assertEquals(expected[i], row[i + 1]);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> w.dequantizeRow(3, row, 0));
    }
}
