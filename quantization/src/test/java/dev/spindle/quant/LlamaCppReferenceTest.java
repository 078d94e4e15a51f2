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
}
