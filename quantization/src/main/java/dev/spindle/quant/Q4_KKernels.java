package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K: super-blocks of 256 weights in eight sub-blocks of 32, {@code w = d*sc[j] * q - dmin*m[j]} with 4-bit
 * {@code q} and 6-bit sub-block scales {@code sc} and minimums {@code m}.
 *
 * <pre>
 * offset  size  field
 *      0     2  d           half-precision scale of the scales
 *      2     2  dmin        half-precision scale of the minimums
 *      4    12  scales[12]  eight 6-bit scales and eight 6-bit minimums ({@link KQuantMath#scales})
 *     16   128  qs[128]     four runs of 32 bytes; run c holds sub-block 2c in its low nibbles and 2c + 1 in
 *                           its high nibbles
 * </pre>
 */
final class Q4_KKernels extends KQuantKernels {

    static final int BLOCK = 256;
    static final int BYTES = 144;

    Q4_KKernels() {
        super(GgmlType.Q4_K);
    }

    // One vector shape only (eight lanes): a sixteen-lane (512-bit) form of the single-token kernel measured within
    // JMH's noise of this one, and a second vector shape in the process pollutes the Vector API's shared type
    // profiles, so that C2 sometimes compiled other kernels with boxed vectors (Q6_K products allocated 256 kB per
    // call in one of five ProductAllocationTest runs, as with a 512-bit Q4_0 kernel before).

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
                    int q = src.get(BYTE, o + 16 + 32 * c + l) & 0xff;
                    dst[to + 64 * c + l] = d0 * (q & 15) - m0;
                    dst[to + 64 * c + 32 + l] = d1 * (q >>> 4) - m1;
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
                    IntVector v = Lanes.unsignedBytes(src, o + 16 + 32 * c + k);
                    Lanes.toFloats(v.and(15)).mul(d0).sub(m0).intoArray(dst, to + 64 * c + k);
                    Lanes.toFloats(v.lanewise(VectorOperators.LSHR, 4))
                            .mul(d1)
                            .sub(m1)
                            .intoArray(dst, to + 64 * c + 32 + k);
                }
            }
        }
    }

    @Override
    float dotRounded(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        float vector = rowRounded(w, offset, a.q, token * a.cols, a.d, token * a.blocks, a.blocks, lanes);
        return vector + minimums(w, offset, a, token);
    }

    /**
     * The vector part of {@link #dotRounded}: the whole row in one method that C2 compiles with everything inlined
     * (the minimums are apart: with them the method exceeds C2's inlining budget). A run of 32 bytes is one load,
     * eight lanes of four bytes; byte {@code m} of every lane is taken in place ({@link KQuantActivations}), one byte at a
     * time.
     */
    static float rowRounded(
            MemorySegment w, long offset, float[] x, int xt, float[] d, int dt, int blocks, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int xo = xt + b * BLOCK;
            long scales = KQuantMath.scales(w, o + 4);
            FloatVector sum = FloatVector.zero(F); // exact integers (KQuantKernels)
            for (int c = 0; c < 4; c++) {
                IntVector v = Lanes.ints(w, o + 16 + 32 * c);
                IntVector high = v.lanewise(VectorOperators.LSHR, 4);
                int xc = xo + 64 * c;
                FloatVector lo = FloatVector.zero(F);
                FloatVector hi = FloatVector.zero(F);
                for (int m = 0; m < 4; m++) {
                    int mask = 15 << (8 * m);
                    lo = Lanes.toFloats(v.and(mask)).fma(FloatVector.fromArray(F, x, xc + 8 * m), lo);
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
     * The minimum term of a row with token {@code token}, as ggml's AVX2 kernel keeps it: four lanes, lane {@code k}
     * taking {@code fma(-(d_x * dmin_w), pair k, lane)} per super-block ({@link #minimumPair}), summed {@code (m0 +
     * m2) + (m1 + m3)} at the end. On the Vector API: the eight products {@code mins_j * s_j} in one multiplication,
     * each added to its neighbour, so that lanes {@code 2k} and {@code 2k + 1} both hold pair {@code k} (a scalar
     * loop here took a third of the product's time).
     */
    static float minimums(MemorySegment w, long offset, int bytesPerBlock, KQuantActivations a, int token) {
        int dt = token * a.blocks;
        int st = token * a.runs;
        FloatVector m = FloatVector.zero(F);
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * bytesPerBlock;
            float dmin = -a.d[dt + b] * Lanes.half(w, o + 2);
            IntVector p = KQuantMath.minsVector(w, o + 4).mul(IntVector.fromArray(Lanes.I, a.sums, st + 8 * b));
            p = p.add(p.rearrange(KQuantMath.NEIGHBOURS));
            m = Lanes.toFloats(p).fma(FloatVector.broadcast(F, dmin), m);
        }
        return (m.lane(0) + m.lane(4)) + (m.lane(2) + m.lane(6));
    }

    private static float minimums(MemorySegment w, long offset, KQuantActivations a, int token) {
        return minimums(w, offset, BYTES, a, token);
    }

    /** Scalar twin of {@link #minimums(MemorySegment, long, int, KQuantActivations, int)}. */
    static float minimumsScalar(MemorySegment w, long offset, int bytesPerBlock, KQuantActivations a, int token) {
        int dt = token * a.blocks;
        int st = token * a.runs;
        float m0 = 0;
        float m1 = 0;
        float m2 = 0;
        float m3 = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * bytesPerBlock;
            float dmin = -a.d[dt + b] * Lanes.half(w, o + 2);
            long mins = KQuantMath.mins(w, o + 4);
            int at = st + 8 * b;
            m0 = Math.fma(dmin, (float) minimumPair(mins, a.sums, at, 0), m0);
            m1 = Math.fma(dmin, (float) minimumPair(mins, a.sums, at, 1), m1);
            m2 = Math.fma(dmin, (float) minimumPair(mins, a.sums, at, 2), m2);
            m3 = Math.fma(dmin, (float) minimumPair(mins, a.sums, at, 3), m3);
        }
        return (m0 + m2) + (m1 + m3);
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
                        // Element 32k + 4l + m: sub-block k, nibble k % 2 of byte 32(k / 2) + 4l + m.
                        int j = 4 * l + m;
                        int q = (w.get(BYTE, o + 16 + 32 * (k / 2) + j) & 0xff) >>> (4 * (k % 2)) & 15;
                        s += KQuantMath.level(scales, k) * q * a.quant(token, xo + 32 * k + j);
                    }
                }
                lanes[l] = Math.fma((float) s, scale, lanes[l]);
            }
        }
        return Lanes.sumStored(lanes) + minimumsScalar(w, offset, BYTES, a, token);
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
     * lanes[SUMS + 8i ..]}. Each weight is multiplied by its sub-block scale once (exact: at most 63 * 15), then
     * into all four; low and high nibbles go to separate sums, so that eight independent chains of fmas keep both
     * FMA units busy.
     */
    private static void superBlockRounded4(
            MemorySegment w, long o, KQuantActivations a, int token, int b, float[] lanes) {
        float[] x = a.q;
        int x0 = token * a.cols + b * BLOCK;
        int x1 = x0 + a.cols;
        int x2 = x1 + a.cols;
        int x3 = x2 + a.cols;
        long scales = KQuantMath.scales(w, o + 4);
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        FloatVector o2 = FloatVector.zero(F);
        FloatVector o3 = FloatVector.zero(F);
        for (int c = 0; c < 4; c++) {
            IntVector v = Lanes.ints(w, o + 16 + 32 * c);
            IntVector high = v.lanewise(VectorOperators.LSHR, 4);
            FloatVector scLo = FloatVector.broadcast(F, (float) KQuantMath.level(scales, 2 * c));
            FloatVector scHi = FloatVector.broadcast(F, (float) KQuantMath.level(scales, 2 * c + 1));
            for (int m = 0; m < 4; m++) {
                int mask = 15 << (8 * m);
                FloatVector lo = Lanes.toFloats(v.and(mask)).mul(scLo);
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

    /** llama.cpp's {@code quantize_row_q4_K_ref}. */
    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        int blocks = blocks(count);
        SuperBlockFit fit = new SuperBlockFit();
        for (int b = 0; b < blocks; b++) {
            long o = dstOffset + (long) b * BYTES;
            fit.fit(src, srcOffset + b * BLOCK, 15, -1.f, 0.1f, 20, dst, o);
            for (int c = 0; c < 4; c++) {
                for (int l = 0; l < 32; l++) {
                    int q = fit.levels[64 * c + l] | (fit.levels[64 * c + 32 + l] << 4);
                    dst.set(BYTE, o + 16 + 32 * c + l, (byte) q);
                }
            }
        }
    }

    /**
     * The part of the quantizer Q4_K and Q5_K share: fit scale and minimum per sub-block of 32, quantize those to 6
     * bits against the super-block's largest, write d, dmin and the scales, then requantize the weights to
     * {@link #levels} with the rounded scales.
     */
    static final class SuperBlockFit {
        final int[] levels = new int[BLOCK];
        private final int[] candidate = new int[32];
        private final float[] weights = new float[32];
        private final float[] mins = new float[8];
        private final float[] scales = new float[8];
        private final int[] scaleLevels = new int[8];
        private final int[] minLevels = new int[8];

        void fit(float[] src, int x, int nmax, float rmin, float rdelta, int nstep, MemorySegment dst, long o) {
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 8; j++) {
                float sumX2 = 0;
                for (int l = 0; l < 32; l++) {
                    sumX2 += src[x + 32 * j + l] * src[x + 32 * j + l];
                }
                float avX = (float) Math.sqrt(sumX2 / 32);
                for (int l = 0; l < 32; l++) {
                    weights[l] = avX + Math.abs(src[x + 32 * j + l]);
                }
                scales[j] = KQuantMath.fitScaleAndMin(
                        32, nmax, src, x + 32 * j, weights, levels, 32 * j, mins, j, candidate, rmin, rdelta, nstep);
                if (scales[j] > maxScale) {
                    maxScale = scales[j];
                }
                if (mins[j] > maxMin) {
                    maxMin = mins[j];
                }
            }
            float invScale = maxScale > 0 ? 63.f / maxScale : 0.f;
            float invMin = maxMin > 0 ? 63.f / maxMin : 0.f;
            for (int j = 0; j < 8; j++) {
                // As uint8_t in C: a negative level wraps, then clamps to 63.
                scaleLevels[j] = Math.min(63, QuantMath.nearestInt(invScale * scales[j]) & 0xff);
                minLevels[j] = Math.min(63, QuantMath.nearestInt(invMin * mins[j]) & 0xff);
            }
            KQuantMath.packScalesAndMins(scaleLevels, minLevels, dst, o + 4);
            dst.set(LE_SHORT, o, Float.floatToFloat16(maxScale / 63.f));
            dst.set(LE_SHORT, o + 2, Float.floatToFloat16(maxMin / 63.f));
            float d = Lanes.half(dst, o);
            float dmin = Lanes.half(dst, o + 2);
            for (int j = 0; j < 8; j++) {
                int sm = KQuantMath.scaleAndMin(dst, o + 4, j);
                float dj = d * (sm & 0xff);
                if (dj == 0) {
                    continue;
                }
                float mj = dmin * (sm >>> 8);
                for (int l = 0; l < 32; l++) {
                    levels[32 * j + l] =
                            KQuantMath.clamp(QuantMath.nearestInt((src[x + 32 * j + l] + mj) / dj), 0, nmax);
                }
            }
        }
    }
}
