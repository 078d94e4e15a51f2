package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_K: super-blocks of 256 weights in eight sub-blocks of 32, {@code w = d*sc[j] * q - dmin*m[j]} with 5-bit
 * {@code q} and 6-bit sub-block scales {@code sc} and minimums {@code m}.
 *
 * <pre>
 * offset  size  field
 *      0     2  d           half-precision scale of the scales
 *      2     2  dmin        half-precision scale of the minimums
 *      4    12  scales[12]  eight 6-bit scales and eight 6-bit minimums ({@link KQuantMath#scales})
 *     16    32  qh[32]      fifth bits: bit 2c of qh[l] belongs to weight 64c + l, bit 2c + 1 to 64c + 32 + l
 *     48   128  qs[128]     low four bits, as in Q4_K: run c holds sub-block 2c low and 2c + 1 high
 * </pre>
 */
final class Q5_KKernels extends KQuantKernels {

    static final int BLOCK = 256;
    static final int BYTES = 176;

    Q5_KKernels() {
        super(GgmlType.Q5_K);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            float dmin = Lanes.half(src, o + 2);
            int to = dstOffset + b * BLOCK;
            for (int c = 0; c < 4; c++) {
                int sm0 = KQuantMath.scaleAndMin(src, o + 4, 2 * c);
                int sm1 = KQuantMath.scaleAndMin(src, o + 4, 2 * c + 1);
                float d0 = d * (sm0 & 0xff);
                float m0 = dmin * (sm0 >>> 8);
                float d1 = d * (sm1 & 0xff);
                float m1 = dmin * (sm1 >>> 8);
                for (int l = 0; l < 32; l++) {
                    int q = src.get(BYTE, o + 48 + 32 * c + l) & 0xff;
                    int h = src.get(BYTE, o + 16 + l) & 0xff;
                    int q0 = (q & 15) | (((h >>> (2 * c)) & 1) << 4);
                    int q1 = (q >>> 4) | (((h >>> (2 * c + 1)) & 1) << 4);
                    dst[to + 64 * c + l] = d0 * q0 - m0;
                    dst[to + 64 * c + 32 + l] = d1 * q1 - m1;
                }
            }
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            float dmin = Lanes.half(src, o + 2);
            int to = dstOffset + b * BLOCK;
            for (int c = 0; c < 4; c++) {
                int sm0 = KQuantMath.scaleAndMin(src, o + 4, 2 * c);
                int sm1 = KQuantMath.scaleAndMin(src, o + 4, 2 * c + 1);
                FloatVector d0 = FloatVector.broadcast(F, d * (sm0 & 0xff));
                FloatVector m0 = FloatVector.broadcast(F, dmin * (sm0 >>> 8));
                FloatVector d1 = FloatVector.broadcast(F, d * (sm1 & 0xff));
                FloatVector m1 = FloatVector.broadcast(F, dmin * (sm1 >>> 8));
                for (int k = 0; k < 32; k += 8) {
                    IntVector v = Lanes.unsignedBytes(src, o + 48 + 32 * c + k);
                    IntVector h = Lanes.unsignedBytes(src, o + 16 + k).lanewise(VectorOperators.LSHL, 4);
                    IntVector q0 =
                            v.and(15).or(h.lanewise(VectorOperators.LSHR, 2 * c).and(16));
                    IntVector q1 = v.lanewise(VectorOperators.LSHR, 4)
                            .or(h.lanewise(VectorOperators.LSHR, 2 * c + 1).and(16));
                    Lanes.toFloats(q0).mul(d0).sub(m0).intoArray(dst, to + 64 * c + k);
                    Lanes.toFloats(q1).mul(d1).sub(m1).intoArray(dst, to + 64 * c + 32 + k);
                }
            }
        }
    }

    /** The qh bit {@code bit} (0..7) of every byte of {@code h} moved to bit 4 of that byte (other bits unmasked). */
    private static IntVector toBit4(IntVector h, int bit) {
        return bit <= 4 ? h.lanewise(VectorOperators.LSHL, 4 - bit) : h.lanewise(VectorOperators.LSHR, bit - 4);
    }

    /**
     * Run {@code c}'s five-bit quants, sub-block {@code 2c + half}, one per byte of the eight lanes: the nibble
     * {@code half} of {@code v}'s bytes, with bit {@code 2c + half} of the qh bytes {@code h} above it.
     */
    private static IntVector quants(IntVector v, IntVector h, int c, int half) {
        IntVector low = half == 0 ? v : v.lanewise(VectorOperators.LSHR, 4);
        return low.and(0x0f0f0f0f).or(toBit4(h, 2 * c + half).and(0x10101010));
    }

    @Override
    float dotRounded(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        return rowRounded(w, offset, a.q, token * a.cols, a.d, token * a.blocks, a.blocks, lanes)
                + minimums(w, offset, a, token);
    }

    /**
     * The vector part of {@link #dotRounded}: the whole row in one method that C2 compiles with everything inlined
     * (the minimums, scalar, are apart). Runs of 32 bytes are loaded whole, as in Q4_K; the 32 qh bytes once per
     * super-block.
     */
    private static float rowRounded(
            MemorySegment w, long offset, float[] x, int xt, float[] d, int dt, int blocks, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = xt + b * BLOCK;
            long scales = KQuantMath.scales(w, o + 4);
            IntVector h = Lanes.ints(w, o + 16);
            FloatVector sum = FloatVector.zero(F); // exact integers (KQuantKernels)
            for (int c = 0; c < 4; c++) {
                IntVector v = Lanes.ints(w, o + 48 + 32 * c);
                IntVector low = quants(v, h, c, 0);
                IntVector high = quants(v, h, c, 1);
                int xc = xo + 64 * c;
                FloatVector lo = FloatVector.zero(F);
                FloatVector hi = FloatVector.zero(F);
                for (int m = 0; m < 4; m++) {
                    int mask = 31 << (8 * m);
                    lo = Lanes.toFloats(low.and(mask)).fma(FloatVector.fromArray(F, x, xc + 8 * m), lo);
                    hi = Lanes.toFloats(high.and(mask)).fma(FloatVector.fromArray(F, x, xc + 32 + 8 * m), hi);
                }
                sum = lo.fma(FloatVector.broadcast(F, (float) KQuantMath.level(scales, 2 * c)), sum);
                sum = hi.fma(FloatVector.broadcast(F, (float) KQuantMath.level(scales, 2 * c + 1)), sum);
            }
            acc = sum.fma(FloatVector.broadcast(F, Lanes.half(w, o) * d[dt + b]), acc);
        }
        return Lanes.sum(acc, lanes);
    }

    /**
     * The minimum term of a row with token {@code token}, as ggml's AVX2 kernel keeps it: one float, {@code m =
     * fma(-(d_x * dmin_w), sum_j mins_j * s_j, m)} per super-block.
     */
    private static float minimums(MemorySegment w, long offset, KQuantActivations a, int token) {
        int dt = token * a.blocks;
        int st = token * a.runs;
        float m = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            float dmin = -a.d[dt + b] * Lanes.half(w, o + 2);
            // An integer: exact in any order.
            int sum = KQuantMath.minsVector(w, o + 4)
                    .mul(IntVector.fromArray(Lanes.I, a.sums, st + 8 * b))
                    .reduceLanes(VectorOperators.ADD);
            m = Math.fma(dmin, (float) sum, m);
        }
        return m;
    }

    /** Scalar twin of {@link #minimums}. */
    private static float minimumsScalar(MemorySegment w, long offset, KQuantActivations a, int token) {
        int dt = token * a.blocks;
        int st = token * a.runs;
        float m = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            float dmin = -a.d[dt + b] * Lanes.half(w, o + 2);
            long mins = KQuantMath.mins(w, o + 4);
            int at = st + 8 * b;
            int sum = 0;
            for (int k = 0; k < 4; k++) {
                sum += minimumPair(mins, a.sums, at, k);
            }
            m = Math.fma(dmin, (float) sum, m);
        }
        return m;
    }

    @Override
    float dotRoundedScalar(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0f);
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            long scales = KQuantMath.scales(w, o + 4);
            int xo = b * BLOCK;
            float scale = a.d[token * a.blocks + b] * Lanes.half(w, o);
            for (int l = 0; l < Lanes.N; l++) {
                int s = 0;
                for (int k = 0; k < 8; k++) {
                    for (int m = 0; m < 4; m++) {
                        // Element 32k + 4l + m: nibble k % 2 of byte 32(k / 2) + j, fifth bit k of qh[j].
                        int j = 4 * l + m;
                        int low = (w.get(BYTE, o + 48 + 32 * (k / 2) + j) & 0xff) >>> (4 * (k % 2)) & 15;
                        int fifth = (w.get(BYTE, o + 16 + j) & 0xff) >>> k & 1;
                        s += KQuantMath.level(scales, k) * (low | fifth << 4) * a.quant(token, xo + 32 * k + j);
                    }
                }
                lanes[l] = Math.fma((float) s, scale, lanes[l]);
            }
        }
        return Lanes.sumStored(lanes) + minimumsScalar(w, offset, a, token);
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
            superBlockRounded4(w, o, a, token, b, lanes);
            float dw = Lanes.half(w, o);
            accumulate(lanes, SUMS, dw * d[dt + b], 0);
            accumulate(lanes, SUMS + Lanes.N, dw * d[dt + nb + b], Lanes.N);
            accumulate(lanes, SUMS + 2 * Lanes.N, dw * d[dt + 2 * nb + b], 2 * Lanes.N);
            accumulate(lanes, SUMS + 3 * Lanes.N, dw * d[dt + 3 * nb + b], 3 * Lanes.N);
        }
        for (int i = 0; i < 4; i++) {
            out[(token + i) * outStride + outIndex] = laneSum(lanes, i * Lanes.N) + minimums(w, offset, a, token + i);
        }
    }

    /**
     * The vector part of one super-block of {@link #dotRounded4}, the four tokens' integer lane sums left in {@code
     * lanes[SUMS + 8i ..]}. Each weight is multiplied by its sub-block scale once (exact: at most 63 * 31), then
     * into all four.
     */
    private static void superBlockRounded4(
            MemorySegment w, long o, KQuantActivations a, int token, int b, float[] lanes) {
        float[] x = a.q;
        int x0 = token * a.cols + b * BLOCK;
        int x1 = x0 + a.cols;
        int x2 = x1 + a.cols;
        int x3 = x2 + a.cols;
        long scales = KQuantMath.scales(w, o + 4);
        IntVector h = Lanes.ints(w, o + 16);
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        FloatVector o2 = FloatVector.zero(F);
        FloatVector o3 = FloatVector.zero(F);
        for (int c = 0; c < 4; c++) {
            IntVector v = Lanes.ints(w, o + 48 + 32 * c);
            IntVector low = quants(v, h, c, 0);
            IntVector high = quants(v, h, c, 1);
            FloatVector scLo = FloatVector.broadcast(F, (float) KQuantMath.level(scales, 2 * c));
            FloatVector scHi = FloatVector.broadcast(F, (float) KQuantMath.level(scales, 2 * c + 1));
            for (int m = 0; m < 4; m++) {
                int mask = 31 << (8 * m);
                FloatVector lo = Lanes.toFloats(low.and(mask)).mul(scLo);
                FloatVector hi = Lanes.toFloats(high.and(mask)).mul(scHi);
                int xl = 64 * c + 8 * m;
                int xh = xl + 32;
                e0 = lo.fma(FloatVector.fromArray(F, x, x0 + xl), e0);
                e1 = lo.fma(FloatVector.fromArray(F, x, x1 + xl), e1);
                e2 = lo.fma(FloatVector.fromArray(F, x, x2 + xl), e2);
                e3 = lo.fma(FloatVector.fromArray(F, x, x3 + xl), e3);
                o0 = hi.fma(FloatVector.fromArray(F, x, x0 + xh), o0);
                o1 = hi.fma(FloatVector.fromArray(F, x, x1 + xh), o1);
                o2 = hi.fma(FloatVector.fromArray(F, x, x2 + xh), o2);
                o3 = hi.fma(FloatVector.fromArray(F, x, x3 + xh), o3);
            }
        }
        e0.add(o0).intoArray(lanes, SUMS);
        e1.add(o1).intoArray(lanes, SUMS + Lanes.N);
        e2.add(o2).intoArray(lanes, SUMS + 2 * Lanes.N);
        e3.add(o3).intoArray(lanes, SUMS + 3 * Lanes.N);
    }

    /** llama.cpp's {@code quantize_row_q5_K_ref}. */
    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        int blocks = blocks(count);
        Q4_KKernels.SuperBlockFit fit = new Q4_KKernels.SuperBlockFit();
        for (int b = 0; b < blocks; b++) {
            long o = dstOffset + (long) b * BYTES;
            fit.fit(src, srcOffset + b * BLOCK, 31, -0.5f, 0.1f, 15, dst, o);
            int[] levels = fit.levels;
            for (int l = 0; l < 32; l++) {
                int h = 0;
                for (int c = 0; c < 4; c++) {
                    int q0 = levels[64 * c + l];
                    int q1 = levels[64 * c + 32 + l];
                    h |= (q0 >>> 4) << (2 * c);
                    h |= (q1 >>> 4) << (2 * c + 1);
                    dst.set(BYTE, o + 48 + 32 * c + l, (byte) ((q0 & 15) | ((q1 & 15) << 4)));
                }
                dst.set(BYTE, o + 16 + l, (byte) h);
            }
        }
    }
}
