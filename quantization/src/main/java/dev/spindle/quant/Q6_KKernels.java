package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

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

    private static final ValueLayout.OfLong LE_LONG =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

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

    @Override
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        int blocks = blocks(count);
        float sum = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o + 208);
            int xo = xOffset + b * BLOCK;
            for (int n = 0; n < 2; n++) {
                for (int t = 0; t < 4; t++) {
                    for (int half = 0; half < 2; half++) {
                        int j = 8 * n + 2 * t + half;
                        float s = 0;
                        for (int l = 16 * half; l < 16 * half + 16; l++) {
                            s += (quant(w, o, n, t, l) - 32) * x[xo + 128 * n + 32 * t + l];
                        }
                        sum += d * w.get(BYTE, o + 192 + j) * s;
                    }
                }
            }
        }
        return sum;
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

    @Override
    public float dotVector(
            MemorySegment w,
            long offset,
            float[] x,
            int xOffset,
            float[] sums,
            int sumsOffset,
            int count,
            float[] lanes) {
        int blocks = blocks(count);
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0f);
        float correction = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            superBlock(w, o, x, xOffset + b * BLOCK, lanes);
            // The -32 of every weight comes out per sub-block: sub-block j is exactly activation group j.
            float d = Lanes.half(w, o + 208);
            int g = sumsOffset + 16 * b;
            for (int j = 0; j < 16; j++) {
                correction += 32 * (d * w.get(BYTE, o + 192 + j)) * sums[g + j];
            }
        }
        return Lanes.sumStored(lanes) - correction;
    }

    /**
     * The vector part of one super-block, added to the accumulator kept in {@code lanes}. A method of its own, too
     * large for C2 to inline into {@link #dotVector}: a kernel over a whole row in one method exceeds C2's inlining
     * budget, and whatever it then fails to inline passes its vectors boxed on the heap. The accumulator crosses
     * the call through memory, exactly, so the order of operations is that of one long loop.
     */
    private static void superBlock(MemorySegment w, long o, float[] x, int xo, float[] lanes) {
        float d = Lanes.half(w, o + 208);
        FloatVector acc = FloatVector.fromArray(F, lanes, 0);
        for (int n = 0; n < 2; n++) {
            long ql = o + 64 * n;
            long qh = o + 128 + 32 * n;
            int xn = xo + 128 * n;
            for (int half = 0; half < 2; half++) {
                // Sub-blocks 8n + half + 2t for t = 0..3, each of 16: two steps of 8 lanes.
                FloatVector s0 = FloatVector.zero(F);
                FloatVector s1 = FloatVector.zero(F);
                FloatVector s2 = FloatVector.zero(F);
                FloatVector s3 = FloatVector.zero(F);
                for (int k = 16 * half; k < 16 * half + 16; k += 8) {
                    IntVector a = Lanes.unsignedBytes(w, ql + k);
                    IntVector c = Lanes.unsignedBytes(w, ql + 32 + k);
                    IntVector h = Lanes.unsignedBytes(w, qh + k);
                    s0 = Lanes.toFloats(quant0(a, h)).fma(FloatVector.fromArray(F, x, xn + k), s0);
                    s1 = Lanes.toFloats(quant1(c, h)).fma(FloatVector.fromArray(F, x, xn + 32 + k), s1);
                    s2 = Lanes.toFloats(quant2(a, h)).fma(FloatVector.fromArray(F, x, xn + 64 + k), s2);
                    s3 = Lanes.toFloats(quant3(c, h)).fma(FloatVector.fromArray(F, x, xn + 96 + k), s3);
                }
                long sc = o + 192 + 8 * n + half;
                acc = s0.fma(FloatVector.broadcast(F, d * w.get(BYTE, sc)), acc);
                acc = s1.fma(FloatVector.broadcast(F, d * w.get(BYTE, sc + 2)), acc);
                acc = s2.fma(FloatVector.broadcast(F, d * w.get(BYTE, sc + 4)), acc);
                acc = s3.fma(FloatVector.broadcast(F, d * w.get(BYTE, sc + 6)), acc);
            }
        }
        acc.intoArray(lanes, 0);
    }

    @Override
    float dotRounded(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0f);
        int xt = token * a.cols;
        int dt = token * a.blocks;
        int st = token * 16 * a.blocks;
        float offsets = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            float scale = Lanes.half(w, o + 208) * a.d[dt + b];
            superBlockRounded(w, o, a.q, xt + b * BLOCK, scale, lanes);
            offsets += (32 * scale) * offsetSum(w, o, a.sums16, st + 16 * b);
        }
        return Lanes.sumStored(lanes) - offsets;
    }

    /**
     * One super-block of {@link #dotRounded} (the structure of {@link #superBlock}, which fits C2's inlining
     * budget): per lane the integer sums {@code E} over the sub-blocks with {@code t} even and {@code O} with
     * {@code t} odd of {@code sc * q * q_x}, with {@code q} the unsigned quant (0..63): each below 2^24, so exact in
     * any order; then {@code acc = fma(E + O, scale, acc)} in {@code lanes}. The -32 of the quants is taken apart,
     * per super-block ({@link #offsetSum}).
     */
    private static void superBlockRounded(MemorySegment w, long o, float[] x, int xo, float scale, float[] lanes) {
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        for (int n = 0; n < 2; n++) {
            long ql = o + 64 * n;
            long qh = o + 128 + 32 * n;
            int xn = xo + 128 * n;
            for (int half = 0; half < 2; half++) {
                FloatVector s0 = FloatVector.zero(F);
                FloatVector s1 = FloatVector.zero(F);
                FloatVector s2 = FloatVector.zero(F);
                FloatVector s3 = FloatVector.zero(F);
                for (int k = 16 * half; k < 16 * half + 16; k += 8) {
                    IntVector a = Lanes.unsignedBytes(w, ql + k);
                    IntVector c = Lanes.unsignedBytes(w, ql + 32 + k);
                    IntVector h = Lanes.unsignedBytes(w, qh + k);
                    s0 = Lanes.toFloats(quant0(a, h)).fma(FloatVector.fromArray(F, x, xn + k), s0);
                    s1 = Lanes.toFloats(quant1(c, h)).fma(FloatVector.fromArray(F, x, xn + 32 + k), s1);
                    s2 = Lanes.toFloats(quant2(a, h)).fma(FloatVector.fromArray(F, x, xn + 64 + k), s2);
                    s3 = Lanes.toFloats(quant3(c, h)).fma(FloatVector.fromArray(F, x, xn + 96 + k), s3);
                }
                long sc = o + 192 + 8 * n + half;
                even = s0.fma(FloatVector.broadcast(F, w.get(BYTE, sc)), even);
                odd = s1.fma(FloatVector.broadcast(F, w.get(BYTE, sc + 2)), odd);
                even = s2.fma(FloatVector.broadcast(F, w.get(BYTE, sc + 4)), even);
                odd = s3.fma(FloatVector.broadcast(F, w.get(BYTE, sc + 6)), odd);
            }
        }
        FloatVector acc = FloatVector.fromArray(F, lanes, 0);
        even.add(odd).fma(FloatVector.broadcast(F, scale), acc).intoArray(lanes, 0);
    }

    /** {@code sum_j sc_j * sums[at + j]}: the sub-block scales times the sums of the activation quants over each. */
    private static int offsetSum(MemorySegment w, long o, int[] sums, int at) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            s += w.get(BYTE, o + 192 + j) * sums[at + j];
        }
        return s;
    }

    /** Signed byte {@code j} of eight scales read as one little-endian word. */
    private static int scale(long scales, int j) {
        return (byte) (scales >>> (8 * j));
    }

    @Override
    float dotRoundedScalar(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        float[] x = a.q;
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0f);
        float offsets = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = token * a.cols + b * BLOCK;
            float scale = Lanes.half(w, o + 208) * a.d[token * a.blocks + b];
            for (int l = 0; l < Lanes.N; l++) {
                int even = 0;
                int odd = 0;
                for (int i = l; i < BLOCK; i += Lanes.N) {
                    // Element i = 128n + 32t + j, in sub-block i / 16; its unsigned quant, 0..63.
                    int t = (i / 32) & 3;
                    int v = w.get(BYTE, o + 192 + i / 16) * quant(w, o, i / 128, t, i % 32) * (int) x[xo + i];
                    if ((t & 1) == 0) {
                        even += v;
                    } else {
                        odd += v;
                    }
                }
                lanes[l] = Math.fma((float) even + (float) odd, scale, lanes[l]);
            }
            offsets += (32 * scale) * offsetSum(w, o, a.sums16, (token * a.blocks + b) * 16);
        }
        return Lanes.sumStored(lanes) - offsets;
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
        int[] sums = a.sums16;
        int st = dt * 16;
        float offsets0 = 0;
        float offsets1 = 0;
        float offsets2 = 0;
        float offsets3 = 0;
        for (int b = 0; b < nb; b++) {
            long o = offset + (long) b * BYTES;
            for (int quarter = 0; quarter < 4; quarter++) {
                quarterRounded4(w, o, quarter, a, token, b, lanes);
            }
            float dw = Lanes.half(w, o + 208);
            float scale0 = dw * d[dt + b];
            float scale1 = dw * d[dt + nb + b];
            float scale2 = dw * d[dt + 2 * nb + b];
            float scale3 = dw * d[dt + 3 * nb + b];
            accumulateEvenOdd(lanes, SUMS, scale0, 0);
            accumulateEvenOdd(lanes, SUMS + 2 * Lanes.N, scale1, Lanes.N);
            accumulateEvenOdd(lanes, SUMS + 4 * Lanes.N, scale2, 2 * Lanes.N);
            accumulateEvenOdd(lanes, SUMS + 6 * Lanes.N, scale3, 3 * Lanes.N);
            offsets0 += (32 * scale0) * offsetSum(w, o, sums, st + 16 * b);
            offsets1 += (32 * scale1) * offsetSum(w, o, sums, st + 16 * (nb + b));
            offsets2 += (32 * scale2) * offsetSum(w, o, sums, st + 16 * (2 * nb + b));
            offsets3 += (32 * scale3) * offsetSum(w, o, sums, st + 16 * (3 * nb + b));
        }
        out[token * outStride + outIndex] = laneSum(lanes, 0) - offsets0;
        out[(token + 1) * outStride + outIndex] = laneSum(lanes, Lanes.N) - offsets1;
        out[(token + 2) * outStride + outIndex] = laneSum(lanes, 2 * Lanes.N) - offsets2;
        out[(token + 3) * outStride + outIndex] = laneSum(lanes, 3 * Lanes.N) - offsets3;
    }

    /** {@code lanes[accAt ..] = fma(even + odd, scale, lanes[accAt ..])}, even and odd at {@code sumAt}. */
    private static void accumulateEvenOdd(float[] lanes, int sumAt, float scale, int accAt) {
        FloatVector.fromArray(F, lanes, sumAt)
                .add(FloatVector.fromArray(F, lanes, sumAt + Lanes.N))
                .fma(FloatVector.broadcast(F, scale), FloatVector.fromArray(F, lanes, accAt))
                .intoArray(lanes, accAt);
    }

    /**
     * Quarter {@code 2n + half} of a super-block of {@link #dotRounded4}: each unsigned quant times its sub-block
     * scale once (exact, at most 63 * 128), then into all four tokens; token i's even and odd sums ({@link
     * #superBlockRounded}) stored (first quarter) or added at {@code lanes[SUMS + 16i ..]} and {@code [.. + 8]}.
     */
    private static void quarterRounded4(
            MemorySegment w, long o, int quarter, KQuantActivations a, int token, int b, float[] lanes) {
        int n = quarter >> 1;
        int half = quarter & 1;
        long ql = o + 64 * n;
        long qh = o + 128 + 32 * n;
        float[] x = a.q;
        int x0 = token * a.cols + b * BLOCK + 128 * n;
        int x1 = x0 + a.cols;
        int x2 = x1 + a.cols;
        int x3 = x2 + a.cols;
        long scales = w.get(LE_LONG, o + 192 + 8 * n);
        FloatVector sc0 = FloatVector.broadcast(F, scale(scales, half));
        FloatVector sc1 = FloatVector.broadcast(F, scale(scales, half + 2));
        FloatVector sc2 = FloatVector.broadcast(F, scale(scales, half + 4));
        FloatVector sc3 = FloatVector.broadcast(F, scale(scales, half + 6));
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        FloatVector o2 = FloatVector.zero(F);
        FloatVector o3 = FloatVector.zero(F);
        for (int k = 16 * half; k < 16 * half + 16; k += 8) {
            IntVector av = Lanes.unsignedBytes(w, ql + k);
            IntVector cv = Lanes.unsignedBytes(w, ql + 32 + k);
            IntVector hv = Lanes.unsignedBytes(w, qh + k);
            FloatVector q0 = Lanes.toFloats(quant0(av, hv)).mul(sc0);
            FloatVector q1 = Lanes.toFloats(quant1(cv, hv)).mul(sc1);
            FloatVector q2 = Lanes.toFloats(quant2(av, hv)).mul(sc2);
            FloatVector q3 = Lanes.toFloats(quant3(cv, hv)).mul(sc3);
            e0 = q0.fma(FloatVector.fromArray(F, x, x0 + k), e0);
            e1 = q0.fma(FloatVector.fromArray(F, x, x1 + k), e1);
            e2 = q0.fma(FloatVector.fromArray(F, x, x2 + k), e2);
            e3 = q0.fma(FloatVector.fromArray(F, x, x3 + k), e3);
            o0 = q1.fma(FloatVector.fromArray(F, x, x0 + k + 32), o0);
            o1 = q1.fma(FloatVector.fromArray(F, x, x1 + k + 32), o1);
            o2 = q1.fma(FloatVector.fromArray(F, x, x2 + k + 32), o2);
            o3 = q1.fma(FloatVector.fromArray(F, x, x3 + k + 32), o3);
            e0 = q2.fma(FloatVector.fromArray(F, x, x0 + k + 64), e0);
            e1 = q2.fma(FloatVector.fromArray(F, x, x1 + k + 64), e1);
            e2 = q2.fma(FloatVector.fromArray(F, x, x2 + k + 64), e2);
            e3 = q2.fma(FloatVector.fromArray(F, x, x3 + k + 64), e3);
            o0 = q3.fma(FloatVector.fromArray(F, x, x0 + k + 96), o0);
            o1 = q3.fma(FloatVector.fromArray(F, x, x1 + k + 96), o1);
            o2 = q3.fma(FloatVector.fromArray(F, x, x2 + k + 96), o2);
            o3 = q3.fma(FloatVector.fromArray(F, x, x3 + k + 96), o3);
        }
        if (quarter > 0) {
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

    @Override
    void decode(MemorySegment w, long offset, int count, RowScratch row) {
        int blocks = blocks(count);
        int sub = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o + 208);
            for (int n = 0; n < 2; n++) {
                long ql = o + 64 * n;
                long qh = o + 128 + 32 * n;
                for (int half = 0; half < 2; half++) {
                    // Decoded in the fused kernel's order: sub-blocks 8n + half + 2t for t = 0..3.
                    int start = b * BLOCK + 128 * n + 16 * half;
                    for (int step = 0; step < 2; step++) {
                        int k = 16 * half + 8 * step;
                        IntVector a = Lanes.unsignedBytes(w, ql + k);
                        IntVector c = Lanes.unsignedBytes(w, ql + 32 + k);
                        IntVector h = Lanes.unsignedBytes(w, qh + k);
                        Lanes.toFloats(quant0(a, h)).intoArray(row.q, 16 * sub + 8 * step);
                        Lanes.toFloats(quant1(c, h)).intoArray(row.q, 16 * (sub + 1) + 8 * step);
                        Lanes.toFloats(quant2(a, h)).intoArray(row.q, 16 * (sub + 2) + 8 * step);
                        Lanes.toFloats(quant3(c, h)).intoArray(row.q, 16 * (sub + 3) + 8 * step);
                    }
                    for (int t = 0; t < 4; t++) {
                        row.scales[sub + t] = d * w.get(BYTE, o + 192 + 8 * n + half + 2 * t);
                        row.starts[sub + t] = start + 32 * t;
                    }
                    sub += 4;
                }
            }
            for (int j = 0; j < 16; j++) {
                row.coefficients[16 * b + j] = 32 * (d * w.get(BYTE, o + 192 + j));
            }
        }
        row.blockLength = 16;
        row.blocks = sub;
        row.corrected = true;
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
