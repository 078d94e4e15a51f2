package dev.spindle.numerics;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
    /** ggml's AVX2 vectors: eight floats. */
    private static final VectorSpecies<Float> CHUNK = FloatVector.SPECIES_256;

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

    /** {@code x / (1 + e^-x)} as a lane of ggml's AVX2 {@code ggml_v_silu}. */
    public static float vectorSilu(float x) {
        return x / (1f + vectorExp(0f - x));
    }

    /**
     * {@code gate[i] = silu(gate[i]) * up[i]} for {@code i} in {@code [offset, offset + count)}, one row, as llama.cpp
     * computes SwiGLU: ggml's vector SiLU ({@link #vectorSilu}) over whole 8-lane chunks from the row's start, its
     * scalar SiLU ({@link #silu}, with the C library's {@code expf}) over the rest, then a separate multiplication by
     * {@code up}. The vector work is written out in this one loop (no vector crosses a call, which C2 would box if it
     * did not inline it); a chunk that reaches ggml's slow path of the exponential (an input beyond about ±87) is
     * redone lane by lane with the scalar form, which gives the same bits. {@link #swigluScalar} is its twin.
     */
    public static void swiglu(float[] gate, float[] up, int offset, int count) {
        int vectorEnd = offset + count - count % CHUNK.length();
        for (int i = offset; i < vectorEnd; i += CHUNK.length()) {
            FloatVector g = FloatVector.fromArray(CHUNK, gate, i);
            FloatVector x = g.broadcast(0f).sub(g);
            FloatVector z = x.fma(LOG2E, ROUND);
            FloatVector n = z.sub(ROUND);
            if (n.abs().compare(VectorOperators.GT, 126f).anyTrue()) {
                for (int l = i; l < i + CHUNK.length(); l++) {
                    gate[l] = vectorSilu(gate[l]) * up[l];
                }
                continue;
            }
            FloatVector minusN = n.neg();
            FloatVector b = minusN.fma(x.broadcast(LN2_LOW), minusN.fma(x.broadcast(LN2_HIGH), x));
            FloatVector k = (FloatVector) ((IntVector) z.reinterpretAsInts())
                    .lanewise(VectorOperators.LSHL, 23)
                    .add(ONE_BITS)
                    .reinterpretAsFloats();
            FloatVector u = b.mul(b);
            FloatVector j = b.fma(P5, P4).fma(u, b.fma(P3, P2)).fma(u, b.mul(P1));
            g.div(j.fma(k, k).add(1f)).mul(FloatVector.fromArray(CHUNK, up, i)).intoArray(gate, i);
        }
        for (int i = vectorEnd; i < offset + count; i++) {
            gate[i] = silu(gate[i]) * up[i];
        }
    }

    /** The scalar twin of {@link #swiglu}: the same bits, one element at a time. */
    public static void swigluScalar(float[] gate, float[] up, int offset, int count) {
        int vectorEnd = offset + count - count % CHUNK.length();
        for (int i = offset; i < vectorEnd; i++) {
            gate[i] = vectorSilu(gate[i]) * up[i];
        }
        for (int i = vectorEnd; i < offset + count; i++) {
            gate[i] = silu(gate[i]) * up[i];
        }
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
    // pi/2 (n, found by a conversion of x * 2^24 * 2/pi), beyond with 192 bits of 4/pi in integer arithmetic; the
    // quadrant picks sine or cosine and a sign. Nothing here allocates (StrictMath's large reduction would).
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
    private static final int TOP_INFINITE = top12(Float.POSITIVE_INFINITY);
    /** pi * 2^-62, the weight of the reduced fraction's unit. */
    private static final double PI_2P_MINUS_62 = 0x1.921FB54442D18p-62;
    /** 4/pi's first 192 bits, 0xa2f9836e..., as 32-bit windows that start 8 bits apart (entry i ends at byte i). */
    private static final long[] INV_PIO4 = new long[24];

    static {
        int[] bytes = {
            0xa2, 0xf9, 0x83, 0x6e, 0x4e, 0x44, 0x15, 0x29, 0xfc, 0x27, 0x57, 0xd1, 0xf5, 0x34, 0xdd, 0xc0, 0xdb, 0x62,
            0x95, 0x99, 0x3c, 0x43, 0x90, 0x41
        };
        for (int i = 0; i < INV_PIO4.length; i++) {
            long window = 0;
            for (int k = Math.max(0, i - 3); k <= i; k++) {
                window = window << 8 | bytes[k];
            }
            INV_PIO4[i] = window;
        }
    }

    /** sin(x) as glibc's {@code sinf} computes it. */
    public static float sinf(float x) {
        return trig(x, false);
    }

    /** cos(x) as glibc's {@code cosf} computes it. */
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
        if (top >= TOP_INFINITE) {
            return y - y; // NaN for infinities and NaNs
        }
        int n;
        int quadrant;
        double r;
        if (top < TOP_FAST) {
            n = ((int) (x * HALF_PI_INV_2P24) + 0x80_0000) >> 24;
            r = Math.fma(-(double) n, HALF_PI, x);
            quadrant = n & 3;
        } else {
            // Large arguments: the fraction of |y| * 4/pi from 192 bits of 4/pi in 64-bit integers (glibc's
            // reduce_large), the quadrant counted with y's sign.
            long xi = Float.floatToRawIntBits(y) & 0xffff_ffffL;
            int sign = (int) (xi >>> 31);
            int at = (int) ((xi >>> 26) & 15);
            int shift = (int) ((xi >>> 23) & 7);
            long m = (((xi & 0xff_ffff) | 0x80_0000) << shift) & 0xffff_ffffL;
            long high = (m * INV_PIO4[at]) & 0xffff_ffffL;
            long fraction = ((m * INV_PIO4[at + 8]) >>> 32 | high << 32) + m * INV_PIO4[at + 4];
            long whole = (fraction + (1L << 61)) >>> 62;
            fraction -= whole << 62;
            r = (double) fraction * PI_2P_MINUS_62;
            n = (int) whole;
            quadrant = (n + sign) & 3;
        }
        // Quadrants 1 and 2 negate the sine; quadrants 2 and 3 the cosine polynomial.
        double signed = quadrant == 1 || quadrant == 2 ? -r : r;
        double cosSign = (quadrant & 2) != 0 ? -1 : 1;
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
