package dev.spindle.quant;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The products of the K-quant formats (Q4_K, Q5_K, Q6_K) with activations rounded as llama.cpp rounds them for
 * these formats ({@link KQuantActivations}), computing the float that llama.cpp's AVX2 kernels ({@code
 * ggml_vec_dot_q4_K_q8_K}, {@code _q5_K_}, {@code _q6_K_}) compute, bit for bit.
 *
 * <p>The arithmetic every kernel here performs, for one weight row and one token, per super-block {@code b} of 256,
 * with eight lanes {@code l} and lane {@code l} holding the elements {@code 32k + 4l .. 32k + 4l + 3} of every run
 * {@code k} of 32:
 *
 * <pre>
 * lane[l]  = sum over the lane's elements i of  sc(i) * q_w(i) * q_x(i)           (an exact integer below 2^24)
 *            (Q6_K: q_w - 32, its signed value)
 * acc[l]   = fma(lane[l], d_w * d_x, acc[l])
 * Q4_K:  m[k] = fma(-(d_x * dmin_w), mins_2k * s_2k + mins_2k+1 * s_2k+1, m[k])  for k = 0..3
 *        (s_j the sum of the activation quants over sub-block j)
 * Q5_K:  m = fma(-(d_x * dmin_w), sum_j mins_j * s_j, m)
 * </pre>
 *
 * and at the end {@code ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7))} plus, for Q4_K, {@code
 * (m0 + m2) + (m1 + m3)} and for Q5_K {@code m}. Every integer sum is below 2^24 (Q4_K: 32 x 63 x 15 x 127; Q5_K:
 * with 31; Q6_K: 32 x 32 x 128 x 127 = 16,646,144), so float vector lanes add it exactly in any order and grouping;
 * only the per-super-block operations round, and those are ggml's, in ggml's order. A token's result is therefore bit
 * for bit the same from the single-token kernel, from any position of a multi-token tile, from the scalar twin and
 * from llama.cpp.
 */
abstract class KQuantKernels extends TypeKernels {

    /**
     * Floats of scratch the kernels here need: up to four accumulators kept in memory between super-blocks, then
     * from {@link #SUMS} the integer lane sums of the super-block at hand (vectors never cross a call that C2 may
     * not inline: they would be boxed).
     */
    static final int SCRATCH = TypeKernels.LANE_SCRATCH;

    /** Where the super-block methods leave their integer lane sums in the scratch. */
    static final int SUMS = 4 * Lanes.N;

    KQuantKernels(GgmlType type) {
        super(type);
    }

    @Override
    public final ActivationFormat activationFormat() {
        return ActivationFormat.Q8_K;
    }

    @Override
    public final float dotVector(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        return dotRounded(w, offset, x.kquant(), token, lanes);
    }

    @Override
    public final float dotScalar(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        return dotRoundedScalar(w, offset, x.kquant(), token, lanes);
    }

    /**
     * The row of {@code a.cols()} weights stored from byte {@code offset} dotted with token {@code token} of {@code
     * a}, on the Vector API. {@code lanes} holds at least {@link #SCRATCH} floats of scratch.
     */
    abstract float dotRounded(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes);

    /** Scalar twin of {@link #dotRounded}: the same result, bit for bit, in plain Java. */
    abstract float dotRoundedScalar(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes);

    /**
     * {@link #dotRounded} for tokens {@code token .. token + 3} at once, each weight unpacked once for the four:
     * {@code out[(token + i) * outStride + outIndex]}.
     */
    abstract void dotRounded4(
            MemorySegment w,
            long offset,
            KQuantActivations a,
            int token,
            float[] out,
            int outIndex,
            int outStride,
            float[] lanes);

    /**
     * The integer of pair {@code k} of a Q4_K/Q5_K super-block's minimums: {@code mins_2k * sums[at + 2k] +
     * mins_2k+1 * sums[at + 2k + 1]}, the 6-bit minimums ({@link KQuantMath#mins}) times the sums of the activation
     * quants over their sub-blocks of 32. ggml's {@code _mm_madd_epi16} of minimums and sums gives these four.
     */
    static int minimumPair(long mins, int[] sums, int at, int k) {
        return KQuantMath.level(mins, 2 * k) * sums[at + 2 * k]
                + KQuantMath.level(mins, 2 * k + 1) * sums[at + 2 * k + 1];
    }

    /** {@code lanes[accAt ..] = lanes[sumAt ..] * scale + lanes[accAt ..]}, one fma per lane. */
    static void accumulate(float[] lanes, int sumAt, float scale, int accAt) {
        FloatVector.fromArray(Lanes.F, lanes, sumAt)
                .fma(FloatVector.broadcast(Lanes.F, scale), FloatVector.fromArray(Lanes.F, lanes, accAt))
                .intoArray(lanes, accAt);
    }

    /** The sum of {@code lanes[at .. at + 8)} in {@link Lanes#sum}'s order (ggml's {@code hsum_float_8}). */
    static float laneSum(float[] lanes, int at) {
        return ((lanes[at] + lanes[at + 4]) + (lanes[at + 2] + lanes[at + 6]))
                + ((lanes[at + 1] + lanes[at + 5]) + (lanes[at + 3] + lanes[at + 7]));
    }
}
