package dev.spindle.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Random weights and activations for kernel tests. */
final class Samples {

    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Samples() {}

    /** Element counts to test for a type: whole blocks; for plain floats, sizes around the vector width. */
    static int[] counts(GgmlType type) {
        return switch (type.blockSize()) {
            case 1 -> new int[] {1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 255, 2048};
            case 32 -> new int[] {32, 64, 96, 224, 2048};
            case 256 -> new int[] {256, 512, 768, 2048};
            default -> throw new IllegalStateException();
        };
    }

    static float[] gaussian(SplittableRandom random, int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (nextGaussian(random) * scale);
        }
        return x;
    }

    static double nextGaussian(SplittableRandom random) {
        double u = 1 - random.nextDouble();
        double v = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /**
     * {@code count} elements of {@code type} from random bytes, at byte {@code offset} of a fresh segment: every
     * bit pattern of the quants occurs; the half-precision scales are replaced by finite ones of random sign.
     */
    static MemorySegment randomBytes(GgmlType type, int count, long offset, SplittableRandom random) {
        long bytes = type.bytesFor(count);
        MemorySegment seg = Arena.ofAuto().allocate(offset + bytes + 64, 64);
        for (long i = 0; i < seg.byteSize(); i++) {
            seg.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt(256));
        }
        int blocks = count / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            long o = offset + b * (long) type.bytesPerBlock();
            switch (type) {
                case F32 -> seg.set(LE_FLOAT, o, (float) nextGaussian(random));
                case F16 -> seg.set(LE_SHORT, o, Float.floatToFloat16((float) nextGaussian(random)));
                case BF16 -> seg.set(LE_SHORT, o, Bf16Kernels.fromFloat((float) nextGaussian(random)));
                case Q8_0, Q4_0, Q5_0 -> seg.set(LE_SHORT, o, scale(random));
                case Q4_1, Q5_1, Q4_K, Q5_K -> {
                    seg.set(LE_SHORT, o, scale(random));
                    seg.set(LE_SHORT, o + 2, scale(random));
                }
                case Q6_K -> seg.set(LE_SHORT, o + 208, scale(random));
            }
        }
        return seg;
    }

    private static short scale(SplittableRandom random) {
        return Float.floatToFloat16((float) (nextGaussian(random) * 0.02));
    }

    /** Gaussian weights quantized with the type's own quantizer, at byte {@code offset}. */
    static MemorySegment quantized(GgmlType type, float[] weights, long offset) {
        MemorySegment seg = Arena.ofAuto().allocate(offset + type.bytesFor(weights.length) + 64, 64);
        type.kernels().quantize(weights, 0, weights.length, seg, offset);
        return seg;
    }

    /** The exact dot product of the reference dequantization with {@code x}, and the sum of |w x|. */
    static double[] referenceDot(GgmlType type, MemorySegment w, long offset, float[] x, int xOffset, int count) {
        float[] row = new float[count];
        type.kernels().dequantizeScalar(w, offset, row, 0, count);
        double dot = 0;
        double magnitude = 0;
        for (int i = 0; i < count; i++) {
            dot += (double) row[i] * x[xOffset + i];
            magnitude += Math.abs((double) row[i] * x[xOffset + i]);
        }
        return new double[] {dot, magnitude};
    }

    /**
     * {@link #referenceDot} with the activations rounded as the K-quant products take them ({@link
     * KQuantActivations#quantize}): {@code x = d * q} exactly, in doubles.
     */
    static double[] roundedReferenceDot(GgmlType type, MemorySegment w, long offset, float[] x, int count) {
        float[] q = new float[count];
        float[] d = new float[count / KQuantActivations.BLOCK];
        KQuantActivations.quantize(x, 0, count, q, 0, d, 0);
        float[] row = new float[count];
        type.kernels().dequantizeScalar(w, offset, row, 0, count);
        double dot = 0;
        double magnitude = 0;
        for (int i = 0; i < count; i++) {
            double xi = (double) d[i / KQuantActivations.BLOCK] * q[i];
            dot += row[i] * xi;
            magnitude += Math.abs(row[i] * xi);
        }
        return new double[] {dot, magnitude};
    }

    static float[] sums(float[] x, int xOffset, int count) {
        float[] sums = new float[TypeKernels.groupCount(count)];
        TypeKernels.groupSums(x, xOffset, count, sums, 0);
        return sums;
    }

    /**
     * The product as the type's products define it, in double: for {@link ActivationFormat#FLOAT} the exact product
     * ({@link #referenceDot}); for the 8-bit forms the weights (dequantized) times the activations as llama.cpp
     * rounds them ({@link ActivationFormat#quantizeQ8}), with each block's minimum {@code m} meeting the rounded sum
     * {@code s} instead of {@code d * sum(q)}. Also the sum of |w x|.
     */
    static double[] semanticDot(GgmlType type, MemorySegment w, long offset, float[] x, int xOffset, int count) {
        ActivationFormat format = type.kernels().activationFormat();
        if (format == ActivationFormat.FLOAT) {
            return referenceDot(type, w, offset, x, xOffset, count);
        }
        if (format == ActivationFormat.F16) {
            if (count % 8 == 0) {
                return referenceDot(type, w, offset, x, xOffset, count);
            }
            // Odd row lengths take llama.cpp's vec_dot path: activations rounded to halves.
            float[] halves = new float[count];
            for (int i = 0; i < count; i++) {
                halves[i] = Float.float16ToFloat(Float.floatToFloat16(x[xOffset + i]));
            }
            return referenceDot(type, w, offset, halves, 0, count);
        }
        if (format == ActivationFormat.Q8_K) {
            return roundedReferenceDot(
                    type, w, offset, java.util.Arrays.copyOfRange(x, xOffset, xOffset + count), count);
        }
        float[] row = new float[count];
        type.kernels().dequantizeScalar(w, offset, row, 0, count);
        int blocks = count / 32;
        int[] q = new int[count];
        float[] d = new float[blocks];
        float[] s = new float[blocks];
        ActivationFormat.quantizeQ8(x, xOffset, count, q, 0, d, s, 0);
        double dot = 0;
        double magnitude = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * type.bytesPerBlock();
            double m = format == ActivationFormat.Q8_1 ? Float.float16ToFloat(w.get(LE_SHORT, o + 2)) : 0;
            for (int j = 0; j < 32; j++) {
                double term = ((double) row[32 * b + j] - m) * d[b] * q[32 * b + j];
                dot += term;
                magnitude += Math.abs(term);
            }
            dot += m * s[b];
            magnitude += Math.abs(m * s[b]);
        }
        return new double[] {dot, magnitude};
    }

    /** {@code x} ({@code [tokens][cols]}) with the form of activations {@code type} takes prepared. */
    static Activations activations(GgmlType type, float[] x, int tokens, int cols) {
        return new Activations(tokens, cols)
                .set(x, tokens, cols)
                .prepare(type.kernels().activationFormat());
    }
}
