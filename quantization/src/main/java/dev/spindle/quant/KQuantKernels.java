package dev.spindle.quant;

import java.lang.foreign.MemorySegment;

/**
 * The products of the K-quant formats (Q4_K, Q5_K, Q6_K) with activations rounded as llama.cpp rounds them for
 * these formats ({@link KQuantActivations}).
 *
 * <p>The arithmetic every kernel here performs, for one weight row and one token, per super-block {@code b} of 256:
 *
 * <pre>
 * lane[l]  = sum over the elements i = l (mod 8) of the super-block of  sc(i) * q_w(i) * q_x(i)   (exact integers)
 * acc[l]   = fma(lane[l], d_w * d_x, acc[l])
 * minimums = minimums + (dmin_w * d_x) * sum_j m_j * (sum of q_x over sub-block j)               (Q4_K, Q5_K)
 * </pre>
 *
 * and at the end {@code ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7)) - minimums}. Every lane
 * sum is an integer below 2^24 (Q6_K's bound, the largest: 16 sub-blocks x 128 x 2 x 32 x 127 = 16,646,144), so
 * float vector lanes add it exactly in any order and grouping; only the per-super-block fma and the final sum round,
 * and those are the same in every kernel. A token's result is therefore bit for bit the same from the single-token
 * kernel, from any position of a multi-token tile and from the scalar twin.
 */
abstract class KQuantKernels extends TypeKernels {

    /** Floats of scratch the kernels here need (accumulators kept in memory between super-blocks). */
    static final int SCRATCH = TypeKernels.LANE_SCRATCH;

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
     * The integer of a Q4_K/Q5_K super-block's minimums: {@code sum_j m_j * sums[at + j]}, the eight 6-bit minimums
     * stored at {@code scalesAt} times the sums of the activation quants over each sub-block of 32.
     */
    static int minimumSum(MemorySegment w, long scalesAt, int[] sums, int at) {
        long mins = KQuantMath.mins(w, scalesAt);
        int m = 0;
        for (int j = 0; j < 8; j++) {
            m += KQuantMath.level(mins, j) * sums[at + j];
        }
        return m;
    }
}
