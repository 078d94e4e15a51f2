package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
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
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        int blocks = blocks(count);
        float sum = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o);
            float dmin = Lanes.half(w, o + 2);
            int xo = xOffset + b * BLOCK;
            for (int c = 0; c < 4; c++) {
                int sm0 = KQuantMath.scaleAndMin(w, o + 4, 2 * c);
                int sm1 = KQuantMath.scaleAndMin(w, o + 4, 2 * c + 1);
                float d0 = d * (sm0 & 0xff);
                float m0 = dmin * (sm0 >>> 8);
                float d1 = d * (sm1 & 0xff);
                float m1 = dmin * (sm1 >>> 8);
                float s = 0;
                for (int l = 0; l < 32; l++) {
                    int q = w.get(BYTE, o + 16 + 32 * c + l) & 0xff;
                    s += (d0 * (q & 15) - m0) * x[xo + 64 * c + l] + (d1 * (q >>> 4) - m1) * x[xo + 64 * c + 32 + l];
                }
                sum += s;
            }
        }
        return sum;
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
        FloatVector acc = FloatVector.zero(F);
        float correction = 0;
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o);
            float dmin = Lanes.half(w, o + 2);
            long scales = KQuantMath.scales(w, o + 4);
            long mins = KQuantMath.mins(w, o + 4);
            int xo = xOffset + b * BLOCK;
            // The loops stay rolled: written out, the kernel exceeds C2's inlining budget, and whatever is then not
            // inlined passes its vectors boxed on the heap.
            for (int c = 0; c < 4; c++) {
                // Run c: sub-block 2c in the low nibbles, 2c + 1 in the high ones, summed side by side.
                long qs = o + 16 + 32 * c;
                int xc = xo + 64 * c;
                FloatVector lo = FloatVector.zero(F);
                FloatVector hi = FloatVector.zero(F);
                ByteVector first = Lanes.bytes16(w, qs);
                ByteVector second = Lanes.bytes16(w, qs + 16);
                for (int k = 0; k < 32; k += 8) {
                    IntVector v = Lanes.unsignedPart(k < 16 ? first : second, (k >> 3) & 1);
                    lo = Lanes.toFloats(v.and(15)).fma(FloatVector.fromArray(F, x, xc + k), lo);
                    hi = Lanes.toFloats(v.lanewise(VectorOperators.LSHR, 4))
                            .fma(FloatVector.fromArray(F, x, xc + 32 + k), hi);
                }
                acc = lo.fma(FloatVector.broadcast(F, d * KQuantMath.level(scales, 2 * c)), acc);
                acc = hi.fma(FloatVector.broadcast(F, d * KQuantMath.level(scales, 2 * c + 1)), acc);
                // The minimums come out per group of 16: dmin*m[j] * sum(x).
                int g = sumsOffset + 16 * b + 4 * c;
                float m0 = dmin * KQuantMath.level(mins, 2 * c);
                float m1 = dmin * KQuantMath.level(mins, 2 * c + 1);
                correction += m0 * sums[g];
                correction += m0 * sums[g + 1];
                correction += m1 * sums[g + 2];
                correction += m1 * sums[g + 3];
            }
        }
        return Lanes.sum(acc, lanes) - correction;
    }

    @Override
    float dotRounded(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        float[] x = a.q;
        int xt = token * a.cols;
        int dt = token * a.blocks;
        int st = token * a.runs;
        FloatVector acc = FloatVector.zero(F);
        float minimums = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            long scales = KQuantMath.scales(w, o + 4);
            int xo = xt + b * BLOCK;
            // Integers throughout (KQuantKernels): even and odd sub-blocks in two chains, added exactly.
            FloatVector even = FloatVector.zero(F);
            FloatVector odd = FloatVector.zero(F);
            for (int c = 0; c < 4; c++) {
                long qs = o + 16 + 32 * c;
                int xc = xo + 64 * c;
                FloatVector lo = FloatVector.zero(F);
                FloatVector hi = FloatVector.zero(F);
                ByteVector first = Lanes.bytes16(w, qs);
                ByteVector second = Lanes.bytes16(w, qs + 16);
                for (int k = 0; k < 32; k += 8) {
                    IntVector v = Lanes.unsignedPart(k < 16 ? first : second, (k >> 3) & 1);
                    lo = Lanes.toFloats(v.and(15)).fma(FloatVector.fromArray(F, x, xc + k), lo);
                    hi = Lanes.toFloats(v.lanewise(VectorOperators.LSHR, 4))
                            .fma(FloatVector.fromArray(F, x, xc + 32 + k), hi);
                }
                even = lo.fma(FloatVector.broadcast(F, KQuantMath.level(scales, 2 * c)), even);
                odd = hi.fma(FloatVector.broadcast(F, KQuantMath.level(scales, 2 * c + 1)), odd);
            }
            float dx = a.d[dt + b];
            acc = even.add(odd).fma(FloatVector.broadcast(F, Lanes.half(w, o) * dx), acc);
            minimums += (Lanes.half(w, o + 2) * dx) * minimumSum(w, o + 4, a.sums, st + 8 * b);
        }
        return Lanes.sum(acc, lanes) - minimums;
    }

    @Override
    float dotRoundedScalar(MemorySegment w, long offset, KQuantActivations a, int token, float[] lanes) {
        float[] x = a.q;
        int xt = token * a.cols;
        java.util.Arrays.fill(lanes, 0, Lanes.N, 0f);
        float minimums = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            long scales = KQuantMath.scales(w, o + 4);
            int xo = xt + b * BLOCK;
            float dx = a.d[token * a.blocks + b];
            float scale = Lanes.half(w, o) * dx;
            for (int l = 0; l < Lanes.N; l++) {
                int s = 0;
                for (int i = l; i < BLOCK; i += Lanes.N) {
                    // Element i = 64c + 32h + j: byte 32c + j, low nibble for h = 0, high for h = 1.
                    int c = i / 64;
                    int h = (i / 32) & 1;
                    int q = (w.get(BYTE, o + 16 + 32 * c + i % 32) & 0xff) >>> (4 * h) & 15;
                    s += KQuantMath.level(scales, i / 32) * q * (int) x[xo + i];
                }
                lanes[l] = Math.fma((float) s, scale, lanes[l]);
            }
            minimums += (Lanes.half(w, o + 2) * dx) * minimumSum(w, o + 4, a.sums, token * a.runs + 8 * b);
        }
        return Lanes.sumStored(lanes) - minimums;
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
        float[] x = a.q;
        int x0 = token * a.cols;
        int x1 = x0 + a.cols;
        int x2 = x1 + a.cols;
        int x3 = x2 + a.cols;
        int dt = token * a.blocks;
        int st = token * a.runs;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        FloatVector acc2 = FloatVector.zero(F);
        FloatVector acc3 = FloatVector.zero(F);
        float min0 = 0;
        float min1 = 0;
        float min2 = 0;
        float min3 = 0;
        for (int b = 0; b < a.blocks; b++) {
            long o = offset + (long) b * BYTES;
            long scales = KQuantMath.scales(w, o + 4);
            int xb = b * BLOCK;
            // Each weight times its sub-block scale once (exact: at most 63 * 15), then into all four tokens.
            FloatVector e0 = FloatVector.zero(F);
            FloatVector e1 = FloatVector.zero(F);
            FloatVector e2 = FloatVector.zero(F);
            FloatVector e3 = FloatVector.zero(F);
            FloatVector o0 = FloatVector.zero(F);
            FloatVector o1 = FloatVector.zero(F);
            FloatVector o2 = FloatVector.zero(F);
            FloatVector o3 = FloatVector.zero(F);
            for (int c = 0; c < 4; c++) {
                long qs = o + 16 + 32 * c;
                int xc = xb + 64 * c;
                FloatVector scLo = FloatVector.broadcast(F, KQuantMath.level(scales, 2 * c));
                FloatVector scHi = FloatVector.broadcast(F, KQuantMath.level(scales, 2 * c + 1));
                ByteVector first = Lanes.bytes16(w, qs);
                ByteVector second = Lanes.bytes16(w, qs + 16);
                for (int k = 0; k < 32; k += 8) {
                    IntVector v = Lanes.unsignedPart(k < 16 ? first : second, (k >> 3) & 1);
                    FloatVector lo = Lanes.toFloats(v.and(15)).mul(scLo);
                    FloatVector hi =
                            Lanes.toFloats(v.lanewise(VectorOperators.LSHR, 4)).mul(scHi);
                    int xl = xc + k;
                    int xh = xc + 32 + k;
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
            float dw = Lanes.half(w, o);
            float dmin = Lanes.half(w, o + 2);
            float[] d = a.d;
            int nb = a.blocks;
            acc0 = e0.add(o0).fma(FloatVector.broadcast(F, dw * d[dt + b]), acc0);
            acc1 = e1.add(o1).fma(FloatVector.broadcast(F, dw * d[dt + nb + b]), acc1);
            acc2 = e2.add(o2).fma(FloatVector.broadcast(F, dw * d[dt + 2 * nb + b]), acc2);
            acc3 = e3.add(o3).fma(FloatVector.broadcast(F, dw * d[dt + 3 * nb + b]), acc3);
            int nr = a.runs;
            min0 += (dmin * d[dt + b]) * minimumSum(w, o + 4, a.sums, st + 8 * b);
            min1 += (dmin * d[dt + nb + b]) * minimumSum(w, o + 4, a.sums, st + nr + 8 * b);
            min2 += (dmin * d[dt + 2 * nb + b]) * minimumSum(w, o + 4, a.sums, st + 2 * nr + 8 * b);
            min3 += (dmin * d[dt + 3 * nb + b]) * minimumSum(w, o + 4, a.sums, st + 3 * nr + 8 * b);
        }
        out[token * outStride + outIndex] = Lanes.sum(acc0, lanes) - min0;
        out[(token + 1) * outStride + outIndex] = Lanes.sum(acc1, lanes) - min1;
        out[(token + 2) * outStride + outIndex] = Lanes.sum(acc2, lanes) - min2;
        out[(token + 3) * outStride + outIndex] = Lanes.sum(acc3, lanes) - min3;
    }

    @Override
    void decode(MemorySegment w, long offset, int count, RowScratch row) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(w, o);
            float dmin = Lanes.half(w, o + 2);
            long mins = KQuantMath.mins(w, o + 4);
            for (int c = 0; c < 4; c++) {
                int to = b * BLOCK + 64 * c;
                for (int k = 0; k < 32; k += 8) {
                    IntVector v = Lanes.unsignedBytes(w, o + 16 + 32 * c + k);
                    Lanes.toFloats(v.and(15)).intoArray(row.q, to + k);
                    Lanes.toFloats(v.lanewise(VectorOperators.LSHR, 4)).intoArray(row.q, to + 32 + k);
                }
                setSubBlocks(row, 8 * b + 2 * c, to, d, dmin, w, o + 4, c);
            }
        }
        row.blockLength = 32;
        row.blocks = 8 * blocks;
        row.corrected = true;
    }

    /** Scales and minimum coefficients of sub-blocks {@code 2c} and {@code 2c + 1}, decoded block {@code sub}. */
    static void setSubBlocks(
            RowScratch row, int sub, int start, float d, float dmin, MemorySegment w, long scales, int c) {
        int sm0 = KQuantMath.scaleAndMin(w, scales, 2 * c);
        int sm1 = KQuantMath.scaleAndMin(w, scales, 2 * c + 1);
        row.scales[sub] = d * (sm0 & 0xff);
        row.scales[sub + 1] = d * (sm1 & 0xff);
        row.starts[sub] = start;
        row.starts[sub + 1] = start + 32;
        float m0 = dmin * (sm0 >>> 8);
        float m1 = dmin * (sm1 >>> 8);
        row.coefficients[2 * sub] = m0;
        row.coefficients[2 * sub + 1] = m0;
        row.coefficients[2 * sub + 2] = m1;
        row.coefficients[2 * sub + 3] = m1;
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
