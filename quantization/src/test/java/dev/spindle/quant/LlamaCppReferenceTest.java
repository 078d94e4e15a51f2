package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spindle.quant.ggml.GgmlLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Our quantizers and dequantizers against llama.cpp's own (ggml of build b4916, called in this JVM through the FFM
 * API): files we write must hold the same bytes as {@code llama-quantize}'s, and we must read theirs as they do.
 */
class LlamaCppReferenceTest {

    private static final int ROWS = 24;
    private static final int PER_ROW = 1024;

    /** Weights shaped like a model's, and the corners quantizers trip on. */
    private static float[] weights(SplittableRandom random, int shape) {
        int n = ROWS * PER_ROW;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double g = Samples.nextGaussian(random);
            x[i] = (float)
                    switch (shape) {
                        case 0 -> g * 0.02;
                        case 1 -> random.nextInt(50) == 0 ? g * 0.5 : g * 0.01; // outliers
                        case 2 -> Math.abs(g) * 0.03 + 0.001; // all positive
                        case 3 -> -Math.abs(g) * 0.03; // all negative
                        case 4 -> (i / 7) % 5 == 0 ? 0.0 : g; // runs of zeros
                        default -> (random.nextDouble() - 0.5) * 1e-3;
                    };
        }
        return x;
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void ourQuantizerWritesLlamaCppsBytes(GgmlType type) {
        GgmlLibrary ggml = GgmlLibrary.get();
        SplittableRandom random = new SplittableRandom(type.id());
        long bytes = ROWS * type.bytesFor(PER_ROW);
        try (Arena arena = Arena.ofConfined()) {
            for (int shape = 0; shape < 6; shape++) {
                float[] x = weights(random, shape);
                MemorySegment src = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
                MemorySegment theirs = arena.allocate(bytes, 64);
                MemorySegment ours = arena.allocate(bytes, 64);
                assertEquals(bytes, ggml.quantize(type.id(), src, theirs, ROWS, PER_ROW));
                for (int r = 0; r < ROWS; r++) {
                    type.kernels().quantize(x, r * PER_ROW, PER_ROW, ours, r * type.bytesFor(PER_ROW));
                }
                long mismatch = ours.mismatch(theirs);
                String where = "%s, weights of shape %d: first difference from llama.cpp's at byte %d (block %d)"
                        .formatted(type, shape, mismatch, mismatch / type.bytesPerBlock());
                assertEquals(-1, mismatch, where);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "F16", "BF16"},
            mode = EnumSource.Mode.EXCLUDE)
    void weDequantizeAsLlamaCppDoes(GgmlType type) {
        GgmlLibrary ggml = GgmlLibrary.get();
        SplittableRandom random = new SplittableRandom(type.id());
        int n = 64 * 256;
        String name = "q" + type.name().substring(1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment blocks = Samples.randomBytes(type, n, 0, random);
            MemorySegment src = arena.allocate(type.bytesFor(n), 64);
            MemorySegment.copy(blocks, 0, src, 0, src.byteSize());
            MemorySegment theirs = arena.allocate(4L * n, 64);
            ggml.dequantize(name, src, theirs, n);
            float[] ours = new float[n];
            type.kernels().dequantizeScalar(src, 0, ours, 0, n);
            for (int i = 0; i < n; i++) {
                float t = theirs.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                assertEquals(Float.floatToIntBits(t), Float.floatToIntBits(ours[i]), type + " element " + i);
            }
        }
    }

    /**
     * Our products with quantized weights are llama.cpp's, bit for bit: it rounds each token's activations to 8 bits
     * ({@code quantize_row_q8_0}/{@code q8_1}: we write the same quants, scales and sums) and then computes {@code
     * ggml_vec_dot_*}; our single-token kernel, its scalar twin and the multi-token path give its float exactly.
     */
    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"})
    void ourProductsAreLlamaCppsBitForBit(GgmlType type) {
        GgmlLibrary ggml = GgmlLibrary.get();
        ActivationFormat format = type.kernels().activationFormat();
        String activations = format.name().toLowerCase(java.util.Locale.ROOT);
        int blockBytes = format == ActivationFormat.Q8_0 ? 34 : 36;
        SplittableRandom random = new SplittableRandom(500 + type.id());
        int rows = 8; // a multiple of 8: llama.cpp repacks such Q4_0 matrices (see repackedQ4_0)
        int tokens = 5;
        int cols = PER_ROW;
        long rowBytes = type.bytesFor(cols);
        try (Arena arena = Arena.ofConfined()) {
            for (int shape = 0; shape < 6; shape++) {
                float[] weights = weights(random, shape);
                MemorySegment w = arena.allocate(rows * rowBytes, 64);
                for (int r = 0; r < rows; r++) {
                    type.kernels().quantize(weights, r * cols, cols, w, r * rowBytes);
                }
                float[] x = weights(random, (shape + 1) % 6);
                Activations a =
                        new Activations(tokens, cols).set(x, tokens, cols).prepare(format);
                float[] lanes = new float[TypeKernels.LANE_SCRATCH];
                float[] batched = new float[tokens * rows];
                RowScratch scratch = new RowScratch(cols);
                new QuantizedMatrix(type, rows, cols, w).multiplyRows(a, batched, 0, rows, scratch);
                // Q4_0 matrices whose row count is not a multiple of 8 are not repacked: ggml_vec_dot's order.
                int unpackedRows = rows - 2;
                float[] unpacked = new float[tokens * unpackedRows];
                new QuantizedMatrix(type, unpackedRows, cols, w.asSlice(0, unpackedRows * rowBytes))
                        .multiplyRows(a, unpacked, 0, unpackedRows, scratch);
                float[] unpackedAlone = new float[unpackedRows];
                for (int t = 0; t < tokens; t++) {
                    MemorySegment xt = arena.allocateFrom(
                            ValueLayout.JAVA_FLOAT, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols));
                    MemorySegment theirs = arena.allocate((long) cols / 32 * blockBytes, 64);
                    ggml.quantizeRow(activations, xt, theirs, cols);
                    assertSameRounding(format, x, t * cols, cols, theirs, blockBytes);
                    Activations one = new Activations(1, cols)
                            .set(java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, cols)
                            .prepare(format);
                    new QuantizedMatrix(type, unpackedRows, cols, w.asSlice(0, unpackedRows * rowBytes))
                            .multiplyRows(one, unpackedAlone, 0, unpackedRows, scratch);
                    for (int r = 0; r < unpackedRows; r++) {
                        float vecDot = ggml.vecDot(
                                type.name().toLowerCase(java.util.Locale.ROOT),
                                activations,
                                cols,
                                w.asSlice(r * rowBytes),
                                theirs);
                        String where =
                                "%s, shape %d, token %d, row %d of %d".formatted(type, shape, t, r, unpackedRows);
                        assertEquals(
                                Float.floatToRawIntBits(vecDot),
                                Float.floatToRawIntBits(unpacked[t * unpackedRows + r]),
                                where + ", " + tokens + " tokens");
                        assertEquals(
                                Float.floatToRawIntBits(vecDot),
                                Float.floatToRawIntBits(unpackedAlone[r]),
                                where + ", one token");
                    }
                    for (int r = 0; r < rows; r++) {
                        float expected = type == GgmlType.Q4_0
                                ? repackedQ4_0(w.asSlice(r * rowBytes), theirs, cols)
                                : ggml.vecDot(
                                        type.name().toLowerCase(java.util.Locale.ROOT),
                                        activations,
                                        cols,
                                        w.asSlice(r * rowBytes),
                                        theirs);
                        String where = "%s, shape %d, token %d, row %d".formatted(type, shape, t, r);
                        int bits = Float.floatToRawIntBits(expected);
                        assertEquals(
                                bits,
                                Float.floatToRawIntBits(type.kernels().dotVector(w, r * rowBytes, a, t, lanes)),
                                where + ", vector");
                        assertEquals(
                                bits,
                                Float.floatToRawIntBits(type.kernels().dotScalar(w, r * rowBytes, a, t, lanes)),
                                where + ", scalar");
                        assertEquals(
                                bits,
                                Float.floatToRawIntBits(batched[t * rows + r]),
                                where + ", " + tokens + " tokens");
                    }
                }
            }
        }
    }

    /**
     * What llama.cpp computes for a Q4_0 row on x86 with AVX2: it repacks Q4_0 matrices whose row count is a multiple
     * of 8 at load time (eight rows interleaved, {@code block_q4_0x8}) and multiplies them with {@code
     * ggml_gemv_q4_0_8x8_q8_0} / {@code ggml_gemm_q4_0_8x8_q8_0}, not with {@code ggml_vec_dot_q4_0_q8_0}: one float
     * per (row, token), per block {@code acc = fma(isum, d_w * d_x, acc)} with the block's exact integer sum. Those
     * functions are not exported, so their arithmetic is written out here, on llama.cpp's own activation blocks.
     */
    private static float repackedQ4_0(MemorySegment row, MemorySegment activations, int cols) {
        float acc = 0;
        for (int b = 0; b < cols / 32; b++) {
            long o = 18L * b;
            long a = 34L * b;
            int sum = 0;
            for (int j = 0; j < 16; j++) {
                int q = row.get(ValueLayout.JAVA_BYTE, o + 2 + j) & 0xff;
                sum += ((q & 15) - 8) * activations.get(ValueLayout.JAVA_BYTE, a + 2 + j);
                sum += ((q >>> 4) - 8) * activations.get(ValueLayout.JAVA_BYTE, a + 2 + j + 16);
            }
            float dw = Float.float16ToFloat(row.get(Samples.LE_SHORT, o));
            float dx = Float.float16ToFloat(activations.get(Samples.LE_SHORT, a));
            acc = Math.fma((float) sum, dw * dx, acc);
        }
        return acc;
    }

    /**
     * The K-quant products are llama.cpp's too, bit for bit: it rounds each token to {@code block_q8_K} ({@code
     * quantize_row_q8_K}: our quants and scales are its own) and computes {@code ggml_vec_dot_q*_K_q8_K}, whose AVX2
     * lanes and order of float operations our kernels follow ({@link KQuantKernels}). Checked on quantized weights of
     * every shape and on random bytes (every bit pattern of quants and scales, including the extreme Q6_K scales
     * that bring its lane sums close to 2^24); vector kernel, scalar twin, and a batch of five tokens (a tile of
     * four and a single one).
     */
    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"Q4_K", "Q5_K", "Q6_K"})
    void kQuantProductsAreLlamaCppsBitForBit(GgmlType type) {
        GgmlLibrary ggml = GgmlLibrary.get();
        SplittableRandom random = new SplittableRandom(600 + type.id());
        int rows = 6;
        int tokens = 5;
        int cols = PER_ROW;
        int blockBytes = 4 + 256 + 32; // float d, 256 quants, 16 sums of 16
        long rowBytes = type.bytesFor(cols);
        String name = type.name().toLowerCase(java.util.Locale.ROOT).replace("_k", "_K");
        try (Arena arena = Arena.ofConfined()) {
            for (int shape = 0; shape < 7; shape++) {
                MemorySegment w = arena.allocate(rows * rowBytes, 64);
                if (shape < 6) {
                    float[] weights = weights(random, shape);
                    for (int r = 0; r < rows; r++) {
                        type.kernels().quantize(weights, r * cols, cols, w, r * rowBytes);
                    }
                } else {
                    MemorySegment.copy(Samples.randomBytes(type, rows * cols, 0, random), 0, w, 0, w.byteSize());
                }
                float[] x = weights(random, (shape + 1) % 6);
                Activations a =
                        new Activations(tokens, cols).set(x, tokens, cols).prepare(ActivationFormat.Q8_K);
                float[] lanes = new float[KQuantKernels.SCRATCH];
                float[] batched = new float[tokens * rows];
                new QuantizedMatrix(type, rows, cols, w).multiplyRows(a, batched, 0, rows, new RowScratch(cols));
                for (int t = 0; t < tokens; t++) {
                    MemorySegment xt = arena.allocateFrom(
                            ValueLayout.JAVA_FLOAT, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols));
                    MemorySegment theirs = arena.allocate((long) cols / 256 * blockBytes, 64);
                    ggml.quantizeRow("q8_K", xt, theirs, cols);
                    for (int b = 0; b < cols / 256; b++) {
                        long o = (long) b * blockBytes;
                        assertEquals(
                                Float.floatToRawIntBits(theirs.get(Samples.LE_FLOAT, o)),
                                Float.floatToRawIntBits(a.kquant().d[t * (cols / 256) + b]),
                                "q8_K scale of block " + b);
                        for (int j = 0; j < 256; j++) {
                            assertEquals(
                                    theirs.get(ValueLayout.JAVA_BYTE, o + 4 + j),
                                    a.kquant().quant(t, 256 * b + j),
                                    "q8_K quant " + j + " of block " + b);
                        }
                    }
                    for (int r = 0; r < rows; r++) {
                        float expected = ggml.vecDot(name, "q8_K", cols, w.asSlice(r * rowBytes), theirs);
                        String where = "%s, shape %d, token %d, row %d".formatted(type, shape, t, r);
                        int bits = Float.floatToRawIntBits(expected);
                        assertEquals(
                                bits,
                                Float.floatToRawIntBits(type.kernels().dotVector(w, r * rowBytes, a, t, lanes)),
                                where + ", vector: " + expected);
                        assertEquals(
                                bits,
                                Float.floatToRawIntBits(type.kernels().dotScalar(w, r * rowBytes, a, t, lanes)),
                                where + ", scalar: " + expected);
                        assertEquals(
                                bits,
                                Float.floatToRawIntBits(batched[t * rows + r]),
                                where + ", " + tokens + " tokens: " + expected);
                    }
                }
            }
        }
    }

    /** Our 8-bit activations against llama.cpp's blocks: quants, half-precision scale and (Q8_1) sum. */
    private static void assertSameRounding(
            ActivationFormat format, float[] x, int from, int cols, MemorySegment theirs, int blockBytes) {
        int blocks = cols / 32;
        int[] q = new int[cols];
        float[] d = new float[blocks];
        float[] s = new float[blocks];
        ActivationFormat.quantizeQ8(x, from, cols, q, 0, d, s, 0);
        int quants = format == ActivationFormat.Q8_0 ? 2 : 4;
        for (int b = 0; b < blocks; b++) {
            long o = (long) b * blockBytes;
            assertEquals(
                    Float.floatToRawIntBits(Float.float16ToFloat(theirs.get(Samples.LE_SHORT, o))),
                    Float.floatToRawIntBits(d[b]),
                    format + " scale of block " + b);
            if (format == ActivationFormat.Q8_1) {
                assertEquals(
                        Float.floatToRawIntBits(Float.float16ToFloat(theirs.get(Samples.LE_SHORT, o + 2))),
                        Float.floatToRawIntBits(s[b]),
                        format + " sum of block " + b);
            }
            for (int j = 0; j < 32; j++) {
                assertEquals(
                        theirs.get(ValueLayout.JAVA_BYTE, o + quants + j),
                        q[32 * b + j],
                        format + " quant " + j + " of block " + b);
            }
        }
    }
}
