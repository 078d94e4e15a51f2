package dev.spindle.model;

import dev.spindle.kvcache.attention.Exp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector operations whose results are the same bits whether the code runs interpreted or compiled.
 *
 * <p>The Vector API's {@code reduceLanes(ADD)} and {@code lanewise(EXP)} are not: interpreted, they add lanes in order
 * and call {@code Math.exp}; compiled by C2, they add in a tree and call a vector math library, so a step would round
 * differently before and after warm-up, and a sequence's output would depend on when it ran. These replacements use
 * only lane-wise IEEE operations (add, multiply, fused multiply-add, exact conversions) in a fixed order; each has a
 * scalar twin that computes the same bits. The exponential is kvcache's {@link Exp}, the one the attention softmax
 * uses.
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
     * {@code silu(g) * u = g * sigmoid(g) * u} lane by lane, with {@code sigmoid} from {@code e = exp(-|g|)}: {@code
     * 1 / (1 + e)} for {@code g >= 0}, {@code e / (1 + e)} below, with kvcache's deterministic {@link Exp}.
     */
    static FloatVector swiglu(FloatVector g, FloatVector u) {
        FloatVector e = Exp.exp(g.abs().neg());
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector numerator = e.blend(one, g.compare(VectorOperators.GE, 0f));
        return g.mul(numerator.div(one.add(e))).mul(u);
    }

    /** The scalar twin of {@link #swiglu(FloatVector, FloatVector)}. */
    static float swiglu(float g, float u) {
        float e = Exp.exp(-Math.abs(g));
        float numerator = g >= 0 ? 1f : e;
        return g * (numerator / (1f + e)) * u;
    }
}
