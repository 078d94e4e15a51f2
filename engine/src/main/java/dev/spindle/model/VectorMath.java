package dev.spindle.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector operations whose results are the same bits whether the code runs interpreted or compiled.
 *
 * <p>The Vector API's {@code reduceLanes(ADD)} and {@code lanewise(EXP)} are not: interpreted, they add lanes in order
 * and call {@code Math.exp}; compiled by C2, they add in a tree and call a vector math library, so a step would round
 * differently before and after warm-up, and a sequence's output would depend on when it ran. These replacements use
 * only lane-wise IEEE operations (add, multiply, fused multiply-add, exact conversions) in a fixed order; each has a
 * scalar twin that computes the same bits.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f; // exact in few bits: n * LN2_HI is exact
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    /** Below this, exp underflows past the smallest normal float; such inputs give {@code exp(EXP_MIN)}, ~1.6e-38. */
    static final float EXP_MIN = -87f;

    // Taylor coefficients of e^r on |r| <= ln2 / 2, where the degree-7 remainder is below 2^-27
    private static final float C2 = 1f / 2;
    private static final float C3 = 1f / 6;
    private static final float C4 = 1f / 24;
    private static final float C5 = 1f / 120;
    private static final float C6 = 1f / 720;
    private static final float C7 = 1f / 5040;

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
     * {@code e^x} lane by lane, for {@code x <= 0} (softmax arguments after subtracting the maximum), within 2 ulp:
     * {@code x = n ln2 + r}, {@code e^x = 2^n e^r}, with {@code e^r} a degree-7 polynomial.
     */
    static FloatVector expNonPositive(FloatVector x) {
        x = x.max(EXP_MIN);
        FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(F, C7), FloatVector.broadcast(F, C6));
        p = p.fma(r, FloatVector.broadcast(F, C5));
        p = p.fma(r, FloatVector.broadcast(F, C4));
        p = p.fma(r, FloatVector.broadcast(F, C3));
        p = p.fma(r, FloatVector.broadcast(F, C2));
        FloatVector one = FloatVector.broadcast(F, 1f);
        p = p.fma(r, one);
        p = p.fma(r, one);
        IntVector bits =
                ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul((FloatVector) bits.reinterpretAsFloats());
    }

    /**
     * {@code silu(g) * u = g * sigmoid(g) * u} lane by lane, with {@code sigmoid} from {@code e = exp(-|g|)}: {@code
     * 1 / (1 + e)} for {@code g >= 0}, {@code e / (1 + e)} below, so {@link #expNonPositive} serves both signs.
     */
    static FloatVector swiglu(FloatVector g, FloatVector u) {
        FloatVector e = expNonPositive(g.abs().neg());
        FloatVector one = FloatVector.broadcast(F, 1f);
        FloatVector numerator = e.blend(one, g.compare(VectorOperators.GE, 0f));
        return g.mul(numerator.div(one.add(e))).mul(u);
    }

    /** The scalar twin of {@link #swiglu(FloatVector, FloatVector)}. */
    static float swiglu(float g, float u) {
        float e = expNonPositive(-Math.abs(g));
        float numerator = g >= 0 ? 1f : e;
        return g * (numerator / (1f + e)) * u;
    }

    /** The scalar twin of {@link #expNonPositive}: the same operations, the same bits. */
    static float expNonPositive(float x) {
        x = Math.max(x, EXP_MIN);
        float n = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat(((int) n + 127) << 23);
    }
}
