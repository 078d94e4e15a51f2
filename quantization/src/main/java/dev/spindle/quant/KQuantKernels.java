package dev.spindle.quant;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The products of the K-quant formats (Q4_K, Q5_K, Q6_K) with activations rounded as llama.cpp rounds them for
 * these formats ({@link KQuantActivations}).
 *
 * <p>The arithmetic every kernel here performs, for one weight row and one token, per super-block {@code b} of 256:
 *
 * <pre>
 * Q4_K, Q5_K:
 *   lane[l]  = sum over the elements i = l (mod 8) of  sc(i) * q_w(i) * q_x(i)               (an exact integer)
 *   acc[l]   = fma(lane[l], d_w * d_x, acc[l])
 *   minimums = minimums + (dmin_w * d_x) * sum_j m_j * (sum of q_x over sub-block j)
 * Q6_K (q_w unsigned, 0..63, its -32 taken apart):
 *   even[l], odd[l] = the same sums over the sub-blocks with t even, t odd                   (exact integers)
 *   acc[l]   = fma(even[l] + odd[l], d_w * d_x, acc[l])
 *   offsets  = offsets + (32 * d_w * d_x) * sum_j sc_j * (sum of q_x over sub-block j)
 * </pre>
 *
 * and at the end {@code ((acc0 + acc4) + (acc2 + acc6)) + ((acc1 + acc5) + (acc3 + acc7)) - minimums (or offsets)}.
 * Every integer sum is below 2^24 (Q4_K: 8 x 63 x 4 x 15 x 127; Q5_K: with 31; Q6_K's halves: 8 x 128 x 2 x 63 x
 * 127 = 16,386,048), so float vector lanes add it exactly in any order and grouping; only the per-super-block
 * operations round, and those are the same in every kernel. A token's result is therefore bit for bit the same from
 * the single-token kernel, from any position of a multi-token tile and from the scalar twin.
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
     * The minimum term of a Q4_K/Q5_K row of {@code a.cols()} weights ({@code bytesPerBlock} per super-block) with
     * token {@code token}: {@code sum_b (dmin_b * d_x) * minimumSum}, super-block after super-block.
     */
    static float minimums(MemorySegment w, long offset, int bytesPerBlock, KQuantActivations a, int token) {
        int dt = token * a.blocks;
        int st = token * a.runs;
        float m = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * bytesPerBlock;
            m += (Lanes.half(w, o + 2) * a.d[dt + b]) * minimumSum(w, o + 4, a.sums, st + 8 * b);
        }
        return m;
    }

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

    /** {@code lanes[accAt ..] = lanes[sumAt ..] * scale + lanes[accAt ..]}, one fma per lane. */
    static void accumulate(float[] lanes, int sumAt, float scale, int accAt) {
        FloatVector.fromArray(Lanes.F, lanes, sumAt)
                .fma(FloatVector.broadcast(Lanes.F, scale), FloatVector.fromArray(Lanes.F, lanes, accAt))
                .intoArray(lanes, accAt);
    }

    /** The sum of {@code lanes[at .. at + 8)} in {@link Lanes#sum}'s order. */
    static float laneSum(float[] lanes, int at) {
        return ((lanes[at] + lanes[at + 4]) + (lanes[at + 2] + lanes[at + 6]))
                + ((lanes[at + 1] + lanes[at + 5]) + (lanes[at + 3] + lanes[at + 7]));
    }
}
