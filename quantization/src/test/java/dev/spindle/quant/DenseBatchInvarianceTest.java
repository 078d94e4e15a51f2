package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spindle.quant.parallel.WorkerPool;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Dense matrices (F32, F16, BF16) give every (row, token) the same bits as the single-token kernel ({@link
 * TypeKernels#dot}, which follows {@link Kernels}) in a batch of any size from 1 to 9 tokens: the
 * batched path (rows converted two at a time, two rows by four tokens per pass, leftover tokens and rows one at a
 * time) replays the fused single-token kernel's operations in its order. Row lengths cover the two-row path (16-lane
 * steps then a scalar tail), the one-row path (a last 8-lane step), and rows shorter than a vector; row ranges start
 * at even and odd rows.
 */
class DenseBatchInvarianceTest {

    private static final int[] COLS = {5, 8, 16, 21, 100, 104, 264};

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "F16", "BF16"})
    void everyRowAndTokenGetsTheBitsOfTheFusedKernel(GgmlType type) {
        SplittableRandom random = new SplittableRandom(700 + type.ordinal());
        int rows = 13;
        int maxTokens = 9;
        for (int cols : COLS) {
            MemorySegment data =
                    Samples.randomBytes(type, rows * cols, 0, random).asSlice(0, rows * type.bytesFor(cols));
            QuantizedMatrix w = new QuantizedMatrix(type, rows, cols, data);
            float[] x = Samples.gaussian(random, maxTokens * cols, 1.0);
            float[] alone = new float[maxTokens * rows];
            for (int t = 0; t < maxTokens; t++) {
                for (int r = 0; r < rows; r++) {
                    float[] sums = Samples.sums(x, t * cols, cols);
                    alone[t * rows + r] = type.kernels().dot(data, r * w.rowBytes(), x, t * cols, sums, 0, cols);
                }
            }
            RowScratch scratch = new RowScratch(cols);
            for (int tokens = 1; tokens <= maxTokens; tokens++) {
                Activations a = new Activations(tokens, cols)
                        .set(x, tokens, cols)
                        .prepare(type.kernels().activationFormat());
                float[] batched = new float[tokens * rows];
                // Rows in ranges of 3, 2, 5 and 3: pairs, odd starts and a single last row.
                int[] cuts = {0, 3, 5, 10, rows};
                for (int c = 0; c + 1 < cuts.length; c++) {
                    w.multiplyRows(a, batched, cuts[c], cuts[c + 1], scratch);
                }
                for (int t = 0; t < tokens; t++) {
                    for (int r = 0; r < rows; r++) {
                        assertEquals(
                                Float.floatToRawIntBits(alone[t * rows + r]),
                                Float.floatToRawIntBits(batched[t * rows + r]),
                                "%s, %d columns: token %d of %d, row %d".formatted(type, cols, t, tokens, r));
                    }
                }
            }
        }
    }

    @Test
    void theWorkerPoolSplitsRowsWithoutChangingABit() {
        SplittableRandom random = new SplittableRandom(9);
        int rows = 301;
        int cols = 264;
        int tokens = 9;
        MemorySegment data = Samples.randomBytes(GgmlType.F16, rows * cols, 0, random)
                .asSlice(0, rows * GgmlType.F16.bytesFor(cols));
        QuantizedMatrix w = new QuantizedMatrix(GgmlType.F16, rows, cols, data);
        float[] x = Samples.gaussian(random, tokens * cols, 1.0);
        float[] one = new float[tokens * rows];
        try (WorkerPool single = new WorkerPool(1)) {
            new MatMul(single, tokens, cols).multiply(w, x, tokens, one);
        }
        float[] many = new float[tokens * rows];
        try (WorkerPool three = new WorkerPool(3)) {
            new MatMul(three, tokens, cols).multiply(w, x, tokens, many);
        }
        for (int i = 0; i < one.length; i++) {
            assertEquals(Float.floatToRawIntBits(one[i]), Float.floatToRawIntBits(many[i]), "element " + i);
        }
    }
}
