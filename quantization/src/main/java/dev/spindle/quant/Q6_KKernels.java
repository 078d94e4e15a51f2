package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * Q6_K: super-blocks of 256 weights in sixteen sub-blocks of 16, {@code w = d*sc[j] * (q - 32)} with 6-bit {@code q}
 * and signed 8-bit sub-block scales {@code sc}.
 *
 * <pre>
 * offset  size  field
 *      0   128  ql[128]     low four bits
 *    128    64  qh[64]      high two bits
 *    192    16  scales[16]  signed bytes; scales[j] belongs to weights 16j .. 16j + 15
 *    208     2  d           half-precision scale of the scales
 * </pre>
 *
 * Each half {@code n} of the super-block (weights 128n ..) uses {@code ql[64n ..]} and {@code qh[32n ..]}: for
 * {@code l < 32}, weight {@code 128n + 32t + l} takes its low bits from {@code ql[64n + l]} (t = 0: low nibble,
 * t = 2: high nibble) or {@code ql[64n + 32 + l]} (t = 1, 3), and its high bits from bits {@code 2t, 2t+1} of
 * {@code qh[32n + l]}.
 */
final class Q6_KKernels extends KQuantKernels {

    static final int BLOCK = 256;
    static final int BYTES = 210;

    Q6_KKernels() {
        super(GgmlType.Q6_K);
    }

    /** Quant {@code t} (0..3) of position {@code l} in half {@code n}, in 0..63. */
    private static int quant(MemorySegment w, long o, int n, int t, int l) {
        int ql = w.get(BYTE, o + 64 * n + 32 * (t & 1) + l) & 0xff;
        int qh = w.get(BYTE, o + 128 + 32 * n + l) & 0xff;
        int low = t < 2 ? ql & 15 : ql >>> 4;
        return low | (((qh >>> (2 * t)) & 3) << 4);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o + 208);
            int to = dstOffset + b * BLOCK;
            for (int n = 0; n < 2; n++) {
                for (int t = 0; t < 4; t++) {
                    for (int l = 0; l < 32; l++) {
                        int j = 8 * n + 2 * t + l / 16;
                        float scale = d * src.get(BYTE, o + 192 + j);
                        dst[to + 128 * n + 32 * t + l] = scale * (quant(src, o, n, t, l) - 32);
                    }
                }
            }
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o + 208);
            int to = dstOffset + b * BLOCK;
            for (int n = 0; n < 2; n++) {
                long ql = o + 64 * n;
                long qh = o + 128 + 32 * n;
                int xn = to + 128 * n;
                for (int k = 0; k < 32; k += 8) {
                    int j = 8 * n + k / 16;
                    IntVector a = Lanes.unsignedBytes(src, ql + k);
                    IntVector c = Lanes.unsignedBytes(src, ql + 32 + k);
                    IntVector h = Lanes.unsignedBytes(src, qh + k);
                    IntVector q1 = quant0(a, h);
                    IntVector q2 = quant1(c, h);
                    IntVector q3 = quant2(a, h);
                    IntVector q4 = quant3(c, h);
                    Lanes.toFloats(q1.sub(32))
                            .mul(d * src.get(BYTE, o + 192 + j))
                            .intoArray(dst, xn + k);
                    Lanes.toFloats(q2.sub(32))
                            .mul(d * src.get(BYTE, o + 192 + j + 2))
                            .intoArray(dst, xn + 32 + k);
                    Lanes.toFloats(q3.sub(32))
                            .mul(d * src.get(BYTE, o + 192 + j + 4))
                            .intoArray(dst, xn + 64 + k);
                    Lanes.toFloats(q4.sub(32))
                            .mul(d * src.get(BYTE, o + 192 + j + 6))
                            .intoArray(dst, xn + 96 + k);
                }
            }
        }
    }

    // The four quants of a position: low bits from ql run a (t = 0, 2) or c (t = 1, 3), high bits from h.
    private static IntVector quant0(IntVector a, IntVector h) {
        return a.and(15).or(h.lanewise(VectorOperators.LSHL, 4).and(48));
    }

    private static IntVector quant1(IntVector c, IntVector h) {
        return c.and(15).or(h.lanewise(VectorOperators.LSHL, 2).and(48));
    }

    private static IntVector quant2(IntVector a, IntVector h) {
        return a.lanewise(VectorOperators.LSHR, 4).or(h.and(48));
    }

    private static IntVector quant3(IntVector c, IntVector h) {
        return c.lanewise(VectorOperators.LSHR, 4)
                .or(h.lanewise(VectorOperators.LSHR, 2).and(48));
    }

    /** Lanes 0..3 take scale {@code 2t} of eight, lanes 4..7 scale {@code 2t + 1}: the two sub-blocks of run t. */
    private static final VectorShuffle<Float>[] PAIRS = pairs();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] pairs() {
        VectorShuffle<Float>[] pairs = new VectorShuffle[4];
        for (int t = 0; t < 4; t++) {
            pairs[t] =
                    VectorShuffle.fromValues(F, 2 * t, 2 * t, 2 * t, 2 * t, 2 * t + 1, 2 * t + 1, 2 * t + 1, 2 * t + 1);
        }
        return pairs;
    }

    /**
     * Run {@code t} of a half's six-bit quants (unsigned, {@code q + 32}), one per byte of the eight lanes: the low
     * bits from the words {@code a} ({@code ql[0..32)}: t = 0 low nibbles, t = 2 high) or {@code c} ({@code
     * ql[32..64)}: t = 1, 3), bits {@code 2t, 2t + 1} of the qh words {@code h} above them.
     */
    private static IntVector quants(IntVector a, IntVector c, IntVector h, int t) {
        IntVector ql = (t & 1) == 0 ? a : c;
        IntVector low = t < 2 ? ql : ql.lanewise(VectorOperators.LSHR, 4);
        int shift = 4 - 2 * t; // bits 2t, 2t + 1 of each byte to bits 4, 5
        IntVector high =
                shift >= 0 ? h.lanewise(VectorOperators.LSHL, shift) : h.lanewise(VectorOperators.LSHR, -shift);
        return low.and(0x0f0f0f0f).or(high.and(0x30303030));
    }

    @Override
    float dotRounded(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        return rowRounded(w, offset, a.q, a.offsets, token * a.cols, a.d, token * a.blocks, a.blocks, lanes);
    }

    /**
     * The vector part of {@link #dotRounded}, half a super-block per call ({@link #halfRounded}): the row in one
     * method sits at C2's inlining budget, and in some runs C2 then boxed its vectors. The accumulator and the
     * super-block's lane sums cross the calls through {@code lanes}, exactly.
     */
    private static float rowRounded(
            MemorySegment w,
            long offset,
            float[] x,
            float[] offsets,
            int xt,
            float[] d,
            int dt,
            int blocks,
            float[] lanes) {
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0f);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = xt + b * BLOCK;
            halfRounded(w, o, 0, x, offsets, xo, lanes);
            halfRounded(w, o, 1, x, offsets, xo, lanes);
            accumulate(lanes, SUMS, d[dt + b] * Lanes.half(w, o + 208), 0);
        }
        return Lanes.sumStored(lanes);
    }

    /**
     * Half {@code n} of a super-block of {@link #rowRounded}: its four runs' integer lane sums stored ({@code n = 0})
     * or added ({@code n = 1}) at {@code lanes[SUMS ..]}. Per run of 32, the lanes start from the activations'
     * offsets ({@code -32} times the sum of each lane's quants), so that they end with the sums over the signed
     * quants {@code q - 32} without a subtraction per weight; then the run's two sub-block scales.
     */
    private static void halfRounded(MemorySegment w, long o, int n, float[] x, float[] offsets, int xo, float[] lanes) {
        IntVector a = Lanes.ints(w, o + 64 * n);
        IntVector c = Lanes.ints(w, o + 64 * n + 32);
        IntVector h = Lanes.ints(w, o + 128 + 32 * n);
        // Eight bytes and a constant part: with a variable part C2 does not intrinsify the conversion.
        FloatVector half =
                Lanes.toFloats((IntVector) ByteVector.fromMemorySegment(Lanes.B64, w, o + 192 + 8 * n, Lanes.LE)
                        .convertShape(VectorOperators.B2I, Lanes.I, 0));
        FloatVector sum = n == 0 ? FloatVector.zero(F) : FloatVector.fromArray(F, lanes, SUMS);
        for (int t = 0; t < 4; t++) {
            IntVector u = quants(a, c, h, t);
            int xr = xo + 128 * n + 32 * t;
            FloatVector s = FloatVector.fromArray(F, offsets, xr >> 2);
            for (int m = 0; m < 4; m++) {
                s = Lanes.toFloats(u.and(63 << (8 * m))).fma(FloatVector.fromArray(F, x, xr + 8 * m), s);
            }
            sum = s.fma(half.rearrange(PAIRS[t]), sum);
        }
        sum.intoArray(lanes, SUMS);
    }

    @Override
    float dotRoundedScalar(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0f);
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = b * BLOCK;
            float scale = a.d[token * a.blocks + b] * Lanes.half(w, o + 208);
            for (int l = 0; l < Lanes.N; l++) {
                int s = 0;
                for (int k = 0; k < 8; k++) {
                    for (int m = 0; m < 4; m++) {
                        // Element i = 32k + 4l + m = 128n + 32t + j, in sub-block i / 16; its quant less 32.
                        int i = 32 * k + 4 * l + m;
                        int q = quant(w, o, i / 128, (i / 32) & 3, i % 32) - 32;
                        s += w.get(BYTE, o + 192 + i / 16) * q * a.quant(token, xo + i);
                    }
                }
                lanes[l] = Math.fma((float) s, scale, lanes[l]);
            }
        }
        return Lanes.sumStored(lanes);
    }

    @Override
    void dotRounded4(
            MemorySegment w,
            long offset,
            KQuantActivations a,
            int token,
            float[] out,
            int outIndex,
            int outStride,
            float[] lanes) {
        java.util.Arrays.fill(lanes, 0, 4 * Lanes.N, 0f);
        int dt = token * a.blocks;
        int nb = a.blocks;
        float[] d = a.d;
        for (int b = 0; b < nb; b++) {
            long o = offset + (long) b * BYTES;
            for (int quarter = 0; quarter < 4; quarter++) {
                quarterRounded4(w, o, quarter >> 1, 2 * (quarter & 1), a, token, b, lanes);
            }
            float dw = Lanes.half(w, o + 208);
            accumulateEvenOdd(lanes, SUMS, d[dt + b] * dw, 0);
            accumulateEvenOdd(lanes, SUMS + 2 * Lanes.N, d[dt + nb + b] * dw, Lanes.N);
            accumulateEvenOdd(lanes, SUMS + 4 * Lanes.N, d[dt + 2 * nb + b] * dw, 2 * Lanes.N);
            accumulateEvenOdd(lanes, SUMS + 6 * Lanes.N, d[dt + 3 * nb + b] * dw, 3 * Lanes.N);
        }
        for (int i = 0; i < 4; i++) {
            out[(token + i) * outStride + outIndex] = laneSum(lanes, i * Lanes.N);
        }
    }

    /** {@code lanes[accAt ..] = fma(even + odd, scale, lanes[accAt ..])}, even and odd at {@code sumAt}. */
    private static void accumulateEvenOdd(float[] lanes, int sumAt, float scale, int accAt) {
        FloatVector.fromArray(F, lanes, sumAt)
                .add(FloatVector.fromArray(F, lanes, sumAt + Lanes.N))
                .fma(FloatVector.broadcast(F, scale), FloatVector.fromArray(F, lanes, accAt))
                .intoArray(lanes, accAt);
    }

    /**
     * Runs {@code t} and {@code t + 1} ({@code t} 0 or 2) of half {@code n} of a super-block of {@link
     * #dotRounded4}: each signed quant times its sub-block scale once (exact, at most 32 * 128), then into all four
     * tokens; token i's sums over the even and the odd run (two independent chains per token) stored (first call)
     * or added at {@code lanes[SUMS + 16i ..]} and {@code [.. + 8]}. Exact integers: their sum is the token's
     * integer lane sum. A quarter of a super-block per call, and shift counts instead of {@link #quants}' choices:
     * half a super-block in one method exceeds C2's inlining budget.
     */
    private static void quarterRounded4(
            MemorySegment w, long o, int n, int t, KQuantActivations a, int token, int b, float[] lanes) {
        float[] x = a.q;
        int x0 = token * a.cols + b * BLOCK + 128 * n + 32 * t;
        int x1 = x0 + a.cols;
        int x2 = x1 + a.cols;
        int x3 = x2 + a.cols;
        IntVector hv = Lanes.ints(w, o + 128 + 32 * n);
        // Runs t (low bits from ql[0..32)) and t + 1 (from ql[32..64)): low nibbles for t = 0, high for t = 2.
        IntVector ue = Lanes.ints(w, o + 64 * n)
                .lanewise(VectorOperators.LSHR, 2 * t)
                .and(0x0f0f0f0f)
                .or(hv.lanewise(VectorOperators.LSHR, 2 * t)
                        .lanewise(VectorOperators.LSHL, 4)
                        .and(0x30303030));
        IntVector uo = Lanes.ints(w, o + 64 * n + 32)
                .lanewise(VectorOperators.LSHR, 2 * t)
                .and(0x0f0f0f0f)
                .or(hv.lanewise(VectorOperators.LSHR, 2 * t + 2)
                        .lanewise(VectorOperators.LSHL, 4)
                        .and(0x30303030));
        FloatVector half =
                Lanes.toFloats((IntVector) ByteVector.fromMemorySegment(Lanes.B64, w, o + 192 + 8 * n, Lanes.LE)
                        .convertShape(VectorOperators.B2I, Lanes.I, 0));
        FloatVector se = half.rearrange(PAIRS[t]);
        FloatVector so = half.rearrange(PAIRS[t + 1]);
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        FloatVector o2 = FloatVector.zero(F);
        FloatVector o3 = FloatVector.zero(F);
        for (int m = 0; m < 4; m++) {
            int mask = 63 << (8 * m);
            int bias = 32 << (8 * m);
            FloatVector qe = Lanes.toFloats(ue.and(mask).sub(bias)).mul(se);
            FloatVector qo = Lanes.toFloats(uo.and(mask).sub(bias)).mul(so);
            int xe = 8 * m;
            int xo = xe + 32;
            e0 = qe.fma(FloatVector.fromArray(F, x, x0 + xe), e0);
            e1 = qe.fma(FloatVector.fromArray(F, x, x1 + xe), e1);
            e2 = qe.fma(FloatVector.fromArray(F, x, x2 + xe), e2);
            e3 = qe.fma(FloatVector.fromArray(F, x, x3 + xe), e3);
            o0 = qo.fma(FloatVector.fromArray(F, x, x0 + xo), o0);
            o1 = qo.fma(FloatVector.fromArray(F, x, x1 + xo), o1);
            o2 = qo.fma(FloatVector.fromArray(F, x, x2 + xo), o2);
            o3 = qo.fma(FloatVector.fromArray(F, x, x3 + xo), o3);
        }
        if (n + t > 0) {
            e0 = e0.add(FloatVector.fromArray(F, lanes, SUMS));
            o0 = o0.add(FloatVector.fromArray(F, lanes, SUMS + Lanes.N));
            e1 = e1.add(FloatVector.fromArray(F, lanes, SUMS + 2 * Lanes.N));
            o1 = o1.add(FloatVector.fromArray(F, lanes, SUMS + 3 * Lanes.N));
            e2 = e2.add(FloatVector.fromArray(F, lanes, SUMS + 4 * Lanes.N));
            o2 = o2.add(FloatVector.fromArray(F, lanes, SUMS + 5 * Lanes.N));
            e3 = e3.add(FloatVector.fromArray(F, lanes, SUMS + 6 * Lanes.N));
            o3 = o3.add(FloatVector.fromArray(F, lanes, SUMS + 7 * Lanes.N));
        }
        e0.intoArray(lanes, SUMS);
        o0.intoArray(lanes, SUMS + Lanes.N);
        e1.intoArray(lanes, SUMS + 2 * Lanes.N);
        o1.intoArray(lanes, SUMS + 3 * Lanes.N);
        e2.intoArray(lanes, SUMS + 4 * Lanes.N);
        o2.intoArray(lanes, SUMS + 5 * Lanes.N);
        e3.intoArray(lanes, SUMS + 6 * Lanes.N);
        o3.intoArray(lanes, SUMS + 7 * Lanes.N);
    }

    /** llama.cpp's {@code quantize_row_q6_K_ref}. */
    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        int blocks = blocks(count);
        int[] levels = new int[BLOCK];
        float[] scales = new float[16];
        for (int b = 0; b < blocks; b++) {
            int x = srcOffset + b * BLOCK;
            long o = dstOffset + (long) b * BYTES;
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int j = 0; j < 16; j++) {
                float scale = KQuantMath.fitSymmetricScale(16, 32, src, x + 16 * j, levels, 16 * j);
                scales[j] = scale;
                float abs = Math.abs(scale);
                if (abs > maxAbsScale) {
                    maxAbsScale = abs;
                    maxScale = scale;
                }
            }
            if (maxAbsScale < KQuantMath.GROUP_MAX_EPS) {
                dst.asSlice(o, BYTES).fill((byte) 0);
                continue;
            }
            float iscale = -128.f / maxScale;
            dst.set(LE_SHORT, o + 208, Float.floatToFloat16(1 / iscale));
            for (int j = 0; j < 16; j++) {
                dst.set(BYTE, o + 192 + j, (byte) Math.min(127, QuantMath.nearestInt(iscale * scales[j])));
            }
            float d = Lanes.half(dst, o + 208);
            for (int j = 0; j < 16; j++) {
                float dj = d * dst.get(BYTE, o + 192 + j);
                if (dj == 0) {
                    continue;
                }
                for (int i = 0; i < 16; i++) {
                    int l = KQuantMath.clamp(QuantMath.nearestInt(src[x + 16 * j + i] / dj), -32, 31);
                    levels[16 * j + i] = l + 32;
                }
            }
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l++) {
                    int l1 = levels[128 * n + l];
                    int l2 = levels[128 * n + 32 + l];
                    int l3 = levels[128 * n + 64 + l];
                    int l4 = levels[128 * n + 96 + l];
                    dst.set(BYTE, o + 64 * n + l, (byte) ((l1 & 15) | ((l3 & 15) << 4)));
                    dst.set(BYTE, o + 64 * n + 32 + l, (byte) ((l2 & 15) | ((l4 & 15) << 4)));
                    int h = (l1 >>> 4) | ((l2 >>> 4) << 2) | ((l3 >>> 4) << 4) | ((l4 >>> 4) << 6);
                    dst.set(BYTE, o + 128 + 32 * n + l, (byte) h);
                }
            }
        }
    }
}
