package dev.spindle.kvcache.attention;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The float functions llama.cpp's CPU build computes with, reproduced bit for bit so that our forward pass can give
 * its answers: ggml's own vector exponential (what its AVX2 code uses for SiLU and the softmax), and the C library's
 * {@code expf}, {@code sinf} and {@code cosf} as glibc computes them on x86-64 with FMA (its {@code __expf_fma},
 * {@code __sinf_fma}, {@code __cosf_fma}: the algorithms of Arm's optimized routines, which work in double with
 * fused multiply-adds wherever the C source has {@code a * b + c}).
 *
 * <p>Every step is an exactly rounded IEEE operation or integer bit work, so the results depend on nothing but the
 * input: not on the CPU, the JIT tier, or the vector width. The constants are the published coefficients of those
 * polynomials; they have to be these exact numbers for the results to be the same bits. Checked against the library
 * itself through FFM ({@code GgmlMathTest}).
 */
public final class GgmlMath {
    private GgmlMath() {}

    // ggml_v_expf: e^x = 2^n * (1 + p(b)), n = round(x / ln 2) found by adding 1.5 * 2^23, b = x - n ln 2 in two
    // steps, p a degree-5 polynomial; |n| > 126 takes a slower path that splits 2^n to stay in range.
    private static final float ROUND = 0x1.8p23f;
    private static final float LOG2E = 0x1.715476p+0f;
    private static final float LN2_HIGH = 0x1.62e4p-1f;
    private static final float LN2_LOW = 0x1.7f7d1cp-20f;
    private static final float P1 = 0x1.ffffecp-1f;
    private static final float P2 = 0x1.fffdb6p-2f;
    private static final float P3 = 0x1.555e66p-3f;
    private static final float P4 = 0x1.573e2ep-5f;
    private static final float P5 = 0x1.0e4020p-7f;
    private static final int ONE_BITS = Float.floatToRawIntBits(1f);

    /** e^x as one lane of ggml's AVX2 {@code ggml_v_expf} computes it (a few ulp from the true value). */
    public static float vectorExp(float x) {
        float z = Math.fma(x, LOG2E, ROUND);
        float n = z - ROUND;
        float b = Math.fma(-n, LN2_LOW, Math.fma(-n, LN2_HIGH, x));
        int e = Float.floatToRawIntBits(z) << 23;
        float k = Float.intBitsToFloat(e + ONE_BITS);
        float u = b * b;
        float j = Math.fma(Math.fma(Math.fma(P5, b, P4), u, Math.fma(P3, b, P2)), u, P1 * b);
        if (!(Math.abs(n) > 126)) {
            return Math.fma(j, k, k);
        }
        // 2^n split in two factors that are representable: s1 * s2 with s1 = 2^(+-125-ish), as ggml does.
        int g = n <= 0 ? 0x8200_0000 : 0;
        float s1 = Float.intBitsToFloat(g + 0x7f00_0000);
        float s2 = Float.intBitsToFloat(e - g);
        if (Math.abs(n) > 192) {
            return s1 * s1;
        }
        return Math.fma(s2, j, s2) * s1;
    }

    /** {@link #vectorExp(float)} in every lane, each lane the same bits as the scalar form. */
    public static FloatVector vectorExp(FloatVector x) {
        FloatVector z = x.fma(LOG2E, ROUND);
        FloatVector n = z.sub(ROUND);
        FloatVector minusN = n.neg();
        FloatVector b = minusN.fma(x.broadcast(LN2_LOW), minusN.fma(x.broadcast(LN2_HIGH), x));
        IntVector e = ((IntVector) z.reinterpretAsInts()).lanewise(VectorOperators.LSHL, 23);
        FloatVector k = (FloatVector) e.add(ONE_BITS).reinterpretAsFloats();
        FloatVector u = b.mul(b);
        FloatVector j = b.fma(P5, P4).fma(u, b.fma(P3, P2)).fma(u, b.mul(P1));
        FloatVector result = j.fma(k, k);
        VectorMask<Float> big = n.abs().compare(VectorOperators.GT, 126f);
        if (!big.anyTrue()) {
            return result;
        }
        VectorMask<Float> nonPositive = n.compare(VectorOperators.LE, 0f);
        IntVector g = IntVector.zero(e.species()).blend(0x8200_0000, nonPositive.cast(e.species()));
        FloatVector s1 = (FloatVector) g.add(0x7f00_0000).reinterpretAsFloats();
        FloatVector s2 = (FloatVector) e.sub(g).reinterpretAsFloats();
        FloatVector split = s2.fma(j, s2).mul(s1);
        FloatVector tiny = s1.mul(s1);
        VectorMask<Float> huge = n.abs().compare(VectorOperators.GT, 192f);
        return result.blend(split, big).blend(tiny, huge);
    }

    /** {@code x / (1 + e^-x)} as a lane of ggml's AVX2 {@code ggml_v_silu}. */
    public static float vectorSilu(float x) {
        return x / (1f + vectorExp(0f - x));
    }

    /** {@link #vectorSilu(float)} in every lane. */
    public static FloatVector vectorSilu(FloatVector x) {
        return x.div(vectorExp(x.broadcast(0f).sub(x)).add(1f));
    }

    /** {@code x / (1 + expf(-x))}: ggml's scalar SiLU, for the elements of a row after its last whole vector. */
    public static float silu(float x) {
        return x / (1f + expf(-x));
    }

    // glibc expf: e^x = 2^(k/32) * 2^(r/32) with k = round(x * 32 / ln 2), 2^(k/32) from a table of 32 doubles (the
    // integer part of k/32 added to its exponent), 2^(r/32) by a cubic; all in double, rounded to float once.
    private static final int EXP_TABLE_BITS = 5;
    private static final int EXP_N = 1 << EXP_TABLE_BITS;
    private static final double INV_LN2_N = 0x1.71547652b82fep+0 * EXP_N;
    private static final double SHIFT = 0x1.8p+52;
    private static final double E0 = 0x1.c6af84b912394p-5 / EXP_N / EXP_N / EXP_N;
    private static final double E1 = 0x1.ebfce50fac4f3p-3 / EXP_N / EXP_N;
    private static final double E2 = 0x1.62e42ff0c52d6p-1 / EXP_N;
    private static final long[] EXP_TABLE = new long[EXP_N];

    static {
        // 2^(i/32) correctly rounded, less i << 47 so that adding k << 47 puts k's integer part in the exponent.
        for (int i = 0; i < EXP_N; i++) {
            EXP_TABLE[i] = Double.doubleToRawLongBits(StrictMath.pow(2, i / (double) EXP_N))
                    - ((long) i << (52 - EXP_TABLE_BITS));
        }
    }

    /** e^x as glibc's {@code expf} computes it on x86-64 with FMA (within 0.502 ulp; not always rounded correctly). */
    public static float expf(float x) {
        if (Float.isNaN(x)) {
            return x;
        }
        if (x > 0x1.62e42ep6f) {
            return Float.POSITIVE_INFINITY;
        }
        if (x < -0x1.9fe368p6f) {
            return 0f;
        }
        double z = INV_LN2_N * x;
        double kd = z + SHIFT;
        long ki = Double.doubleToRawLongBits(kd);
        kd -= SHIFT;
        double r = z - kd;
        long t = EXP_TABLE[(int) (ki & (EXP_N - 1))] + (ki << (52 - EXP_TABLE_BITS));
        double s = Double.longBitsToDouble(t);
        double y = Math.fma(Math.fma(E0, r, E1), r * r, Math.fma(E2, r, 1));
        return (float) (y * s);
    }

    // glibc sinf/cosf: below pi/4 a polynomial in x; below 120 the argument is reduced by the nearest multiple of
    // pi/2 (n, found by a conversion of x * 2^24 * 2/pi) and the quadrant picks sine or cosine and a sign.
    private static final double HALF_PI_INV_2P24 = 0x1.45F306DC9C883p+23;
    private static final double HALF_PI = 0x1.921FB54442D18p0;
    private static final double C1 = -0x1.ffffffd0c621cp-2;
    private static final double C2 = 0x1.55553e1068f19p-5;
    private static final double C3 = -0x1.6c087e89a359dp-10;
    private static final double C4 = 0x1.99343027bf8c3p-16;
    private static final double S1 = -0x1.555545995a603p-3;
    private static final double S2 = 0x1.1107605230bc4p-7;
    private static final double S3 = -0x1.994eb3774cf24p-13;
    private static final int TOP_QUARTER_PI = top12(0x1.921FB6p-1f);
    private static final int TOP_TINY = top12(0x1p-12f);
    private static final int TOP_FAST = top12(120f);

    /**
     * sin(x) as glibc's {@code sinf} computes it, for |x| below 120; beyond, the correctly rounded sine (glibc's
     * large-argument reduction is not reproduced: RoPE reaches it only past position 120).
     */
    public static float sinf(float x) {
        return trig(x, false);
    }

    /** cos(x) as glibc's {@code cosf} computes it, for |x| below 120 (see {@link #sinf}). */
    public static float cosf(float x) {
        return trig(x, true);
    }

    private static int top12(float x) {
        return (Float.floatToRawIntBits(x) >>> 20) & 0x7ff;
    }

    private static float trig(float y, boolean cosine) {
        int top = top12(y);
        double x = y;
        if (top < TOP_QUARTER_PI) {
            if (top < TOP_TINY) {
                return cosine ? 1f : y;
            }
            return (float) (cosine ? cosinePolynomial(x * x, 1) : sinePolynomial(x, x * x));
        }
        if (top >= TOP_FAST) {
            return (float) (cosine ? StrictMath.cos(x) : StrictMath.sin(x));
        }
        int n = ((int) (x * HALF_PI_INV_2P24) + 0x80_0000) >> 24;
        double r = Math.fma(-(double) n, HALF_PI, x);
        // Quadrants 1 and 2 negate the sine; quadrants 2 and 3 the cosine polynomial.
        double signed = (n & 3) == 1 || (n & 3) == 2 ? -r : r;
        double cosSign = (n & 2) != 0 ? -1 : 1;
        boolean useCosine = cosine ? (n & 1) == 0 : (n & 1) == 1;
        return (float) (useCosine ? cosinePolynomial(r * r, cosSign) : sinePolynomial(signed, r * r));
    }

    private static double sinePolynomial(double x, double x2) {
        double x3 = x * x2;
        double s1 = Math.fma(x2, S3, S2);
        double x5 = x3 * x2;
        double s = Math.fma(x3, S1, x);
        return Math.fma(x5, s1, s);
    }

    /** {@code sign * cos} through the polynomial with every coefficient negated for {@code sign = -1}, as glibc. */
    private static double cosinePolynomial(double x2, double sign) {
        double x4 = x2 * x2;
        double c2 = Math.fma(x2, sign * C4, sign * C3);
        double c1 = Math.fma(x2, sign * C1, sign);
        double x6 = x4 * x2;
        double c = Math.fma(x4, sign * C2, c1);
        return Math.fma(x6, c2, c);
    }
}
