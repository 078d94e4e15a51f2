package dev.spindle.kvcache.attention;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The project's one deterministic exponential, used by the attention softmax and by the forward pass (SwiGLU): a
 * scalar form and a vector form of any width, built from the same constants and steps, which give bit-identical
 * results lane by lane.
 *
 * <p>Neither {@link Math#exp} nor the Vector API's {@code EXP} would do: the first has no vector form, and the second
 * may round differently from one CPU, library or JIT tier to the next, which would let a sequence's attention output
 * change with how warm the JVM is. Here every step is an IEEE add, multiply or fused multiply-add (each exactly
 * rounded, lane by lane) or integer bit work, so both forms agree everywhere.
 *
 * <p>Method: {@code e^x = 2^n * e^r} with {@code n = round(x / ln 2)} and {@code |r| <= ln 2 / 2}; {@code e^r} by its
 * Taylor polynomial of degree 7 (truncation below 6e-9, relative), {@code 2^n} built in the exponent bits. Inputs are
 * clamped to [-87, 88] so that {@code 2^n} stays a normal float: the result for anything below -87 is about 1.6e-38,
 * which the softmax cannot tell from zero next to its largest term of 1. Accurate to a few ulp.
 */
public final class Exp {

    static final float LOWEST = -87f;
    static final float HIGHEST = 88f;
    static final float LOG2_E = 1.44269504088896341f;
    /** ln 2 split so that {@code n * LN2_HIGH} is exact for the n that occur. */
    static final float LN2_HIGH = 0.693145751953125f;

    static final float LN2_LOW = 1.428606765330187045e-6f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer held in the low mantissa bits. */
    static final float ROUNDER = 12582912f;

    static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    static final float C2 = 1f / 2;
    static final float C3 = 1f / 6;
    static final float C4 = 1f / 24;
    static final float C5 = 1f / 120;
    static final float C6 = 1f / 720;
    static final float C7 = 1f / 5040;

    private Exp() {}

    /** e^x, as {@link #exp(FloatVector)} computes it in each lane. */
    public static float exp(float x) {
        x = Math.min(HIGHEST, Math.max(LOWEST, x));
        float rounded = Math.fma(x, LOG2_E, ROUNDER);
        float n = rounded - ROUNDER;
        int exponent = Float.floatToRawIntBits(rounded) - ROUNDER_BITS;
        float r = Math.fma(n, -LN2_HIGH, x);
        r = Math.fma(n, -LN2_LOW, r);
        float p = Math.fma(r, C7, C6);
        p = Math.fma(p, r, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        return p * Float.intBitsToFloat((exponent + 127) << 23);
    }

    /**
     * e^x in every lane, each exactly as {@link #exp(float)}. Callers inline it into their loops (it is small); a
     * vector crossing a call C2 did not inline is boxed, so use it only inside hot, compiled code.
     */
    public static FloatVector exp(FloatVector x) {
        x = x.max(LOWEST).min(HIGHEST);
        FloatVector rounded = x.fma(LOG2_E, ROUNDER);
        FloatVector n = rounded.sub(ROUNDER);
        IntVector exponent = ((IntVector) rounded.reinterpretAsInts()).sub(ROUNDER_BITS);
        FloatVector r = n.fma(x.broadcast(-LN2_HIGH), x);
        r = n.fma(x.broadcast(-LN2_LOW), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, x.broadcast(C5));
        p = p.fma(r, x.broadcast(C4));
        p = p.fma(r, x.broadcast(C3));
        p = p.fma(r, x.broadcast(C2));
        FloatVector one = x.broadcast(1f);
        p = p.fma(r, one);
        p = p.fma(r, one);
        return p.mul((FloatVector)
                exponent.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
    }
}
