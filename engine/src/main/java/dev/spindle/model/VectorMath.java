package dev.spindle.model;

import dev.spindle.numerics.GgmlMath;
import dev.spindle.quant.Kernels;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector operations whose results are the same bits whether the code runs interpreted or compiled.
 *
 * <p>The Vector API's {@code reduceLanes(ADD)} and {@code lanewise(EXP)} are not: interpreted, they add lanes in order
 * and call {@code Math.exp}; compiled by C2, they add in a tree and call a vector math library, so a step would round
 * differently before and after warm-up, and a sequence's output would depend on when it ran. These replacements use
 * only lane-wise IEEE operations (add, multiply, fused multiply-add, exact conversions) in a fixed order; each has a
 * scalar twin that computes the same bits. SwiGLU's exponential is ggml's own ({@link GgmlMath}), so that it gives
 * llama.cpp's bits.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    private VectorMath() {}

    /** The sum of the eight lanes, added in a fixed pairwise order. */
    static float sum(FloatVector v) {
        return ((v.lane(0) + v.lane(1)) + (v.lane(2) + v.lane(3)))
                + ((v.lane(4) + v.lane(5)) + (v.lane(6) + v.lane(7)));
    }

    /** The scalar twin of {@link #sum}: the same additions on {@code a[offset .. offset + 8)}. */
    static float sumScalar(float[] a, int offset) {
        return ((a[offset] + a[offset + 1]) + (a[offset + 2] + a[offset + 3]))
                + ((a[offset + 4] + a[offset + 5]) + (a[offset + 6] + a[offset + 7]));
    }

    /**
     * {@code gate = silu(gate) * up} over one row of {@code width} at {@code offset}, as llama.cpp computes SwiGLU
     * ({@link GgmlMath#swiglu}: ggml's vector exponential over 8-lane chunks, the C library's {@code expf} for the
     * rest, then a separate product with {@code up}); the scalar twin when the project's switch asks for it.
     */
    static void swiglu(float[] gate, float[] up, int offset, int width) {
        if (Kernels.VECTOR) {
            GgmlMath.swiglu(gate, up, offset, width);
        } else {
            GgmlMath.swigluScalar(gate, up, offset, width);
        }
    }
}
