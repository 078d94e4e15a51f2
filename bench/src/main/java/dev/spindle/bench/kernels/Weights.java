package dev.spindle.bench.kernels;

import dev.spindle.quant.GgmlType;
import dev.spindle.quant.QuantizedMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Random weight matrices for benchmarks, in copies whose total exceeds the last-level cache many times over, so that
 * a product that rotates through them reads every weight from memory as decode does.
 */
final class Weights {

    /** Bytes of weights to rotate through: 8x the 32 MiB L3 of the development machines. */
    static final long WORKING_SET = 256L << 20;

    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Weights() {}

    /**
     * Enough copies of a {@code rows x cols} matrix to fill {@link #WORKING_SET}, at least two; {@code interleaved}:
     * in the layout a model's matrices take when it is loaded ({@link QuantizedMatrix#interleaved}).
     */
    static QuantizedMatrix[] copies(GgmlType type, int rows, int cols, Arena arena, boolean interleaved) {
        long bytes = rows * type.bytesFor(cols);
        int n = (int) Math.max(2, (WORKING_SET + bytes - 1) / bytes);
        QuantizedMatrix[] copies = new QuantizedMatrix[n];
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < n; i++) {
            copies[i] = new QuantizedMatrix(type, rows, cols, random(type, rows * (long) cols, arena, random));
            if (interleaved) {
                copies[i] = copies[i].interleaved(arena);
            }
        }
        return copies;
    }

    /**
     * Random bytes with finite scales. Speed does not depend on the values, and quantizing 256 MiB of floats with
     * the K-quant search would take minutes.
     */
    static MemorySegment random(GgmlType type, long elements, Arena arena, SplittableRandom random) {
        MemorySegment seg = arena.allocate(type.bytesFor(elements), 64);
        long size = seg.byteSize();
        long i = 0;
        for (; i + 8 <= size; i += 8) {
            seg.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
        for (; i < size; i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        }
        long blocks = elements / type.blockSize();
        long stride = type.bytesPerBlock();
        short scale = Float.floatToFloat16(0.01f);
        for (long b = 0; b < blocks; b++) {
            long o = b * stride;
            switch (type) {
                case F32 -> seg.set(LE_FLOAT, o, (float) (random.nextDouble() - 0.5));
                case F16 -> seg.set(LE_SHORT, o, Float.floatToFloat16((float) (random.nextDouble() - 0.5)));
                case BF16 ->
                    seg.set(LE_SHORT, o, (short) (Float.floatToRawIntBits((float) random.nextDouble()) >>> 16));
                case Q8_0, Q4_0, Q5_0 -> seg.set(LE_SHORT, o, scale);
                case Q4_1, Q5_1, Q4_K, Q5_K -> {
                    seg.set(LE_SHORT, o, scale);
                    seg.set(LE_SHORT, o + 2, scale);
                }
                case Q6_K -> seg.set(LE_SHORT, o + 208, scale);
            }
        }
        return seg;
    }

    static float[] activations(int n) {
        SplittableRandom random = new SplittableRandom(7);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return x;
    }
}
