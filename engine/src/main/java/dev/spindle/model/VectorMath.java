package dev.spindle.model;

import dev.spindle.kvcache.attention.GgmlMath;
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
     * {@code silu(g) * u} lane by lane as llama.cpp computes it: {@code silu(g) = g / (1 + e^-g)} with ggml's AVX2
     * vector exponential ({@link GgmlMath#vectorSilu}), rounded, then multiplied by {@code u} (a separate product
     * there). ggml runs its vector SiLU over whole 8-lane chunks of a row and its scalar one ({@link #swigluTail})
     * over the rest, so callers take 8-lane chunks from the start of each row.
     */
    static FloatVector swiglu(FloatVector g, FloatVector u) {
        return GgmlMath.vectorSilu(g).mul(u);
    }

    /** The scalar twin of {@link #swiglu(FloatVector, FloatVector)}: one lane of it. */
    static float swiglu(float g, float u) {
        return GgmlMath.vectorSilu(g) * u;
    }

    /**
     * {@code silu(g) * u} for the elements of a row after its last whole 8-lane chunk, with the C library's {@code
     * expf} as ggml's scalar SiLU uses it ({@link GgmlMath#silu}).
     */
    static float swigluTail(float g, float u) {
        return GgmlMath.silu(g) * u;
    }
}
