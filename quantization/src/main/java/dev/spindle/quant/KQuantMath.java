package dev.spindle.quant;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;

/**
 * The search for scales and minimums that llama.cpp's reference K-quant quantizers run (ggml-quants.c:
 * {@code make_qkx2_quants}, {@code make_qx_quants}), and the 6-bit scale packing of Q4_K and Q5_K. Written from
 * the definitions so that our files match theirs; the order of every float operation follows the original, since
 * the chosen scale can flip on the last bit of a sum.
 */
final class KQuantMath {

    /** Below this, a group counts as all zeros. */
    static final float GROUP_MAX_EPS = 1e-15f;

    private KQuantMath() {}

    /**
     * Fits {@code x ≈ scale * L + min} (with {@code min <= 0}, {@code 0 <= L <= nmax}) over {@code n} values by
     * weighted least squares, trying {@code nstep + 1} candidate scales around {@code nmax / (max - min)}.
     *
     * @param mins receives {@code -min} at {@code minIndex}
     * @return the scale
     */
    static float fitScaleAndMin(
            int n,
            int nmax,
            float[] x,
            int xOffset,
            float[] weights,
            int[] levels,
            int levelsOffset,
            float[] mins,
            int minIndex,
            int[] candidate,
            float rmin,
            float rdelta,
            int nstep) {
        float min = x[xOffset];
        float max = x[xOffset];
        float sumW = weights[0];
        float sumX = sumW * x[xOffset];
        for (int i = 1; i < n; i++) {
            float v = x[xOffset + i];
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * v;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            for (int i = 0; i < n; i++) {
                levels[levelsOffset + i] = 0;
            }
            mins[minIndex] = -min;
            return 0.f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = clamp(QuantMath.nearestInt(iscale * (x[xOffset + i] - min)), 0, nmax);
            levels[levelsOffset + i] = l;
            float diff = scale * l + min - x[xOffset + i];
            bestError += weights[i] * (diff * diff);
        }
        if (nstep < 1) {
            mins[minIndex] = -min;
            return scale;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXl = 0;
            for (int i = 0; i < n; i++) {
                int l = clamp(QuantMath.nearestInt(iscale * (x[xOffset + i] - min)), 0, nmax);
                candidate[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXl += w * l * x[xOffset + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXl - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXl) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXl / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * candidate[i] + thisMin - x[xOffset + i];
                    error += weights[i] * (diff * diff);
                }
                if (error < bestError) {
                    System.arraycopy(candidate, 0, levels, levelsOffset, n);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        mins[minIndex] = -min;
        return scale;
    }

    /**
     * Fits {@code x ≈ scale * (L - nmax)} with {@code 0 <= L < 2*nmax} over {@code n} values, weighting each by
     * {@code x^2} and trying 18 scales around {@code -nmax / max} (rmse_type 1 without importance weights).
     *
     * @return the scale
     */
    static float fitSymmetricScale(int n, int nmax, float[] x, int xOffset, int[] levels, int levelsOffset) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xOffset + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xOffset + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) {
                levels[levelsOffset + i] = 0;
            }
            return 0.f;
        }
        float iscale = -nmax / max;
        float sumLx = 0;
        float sumL2 = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOffset + i];
            int l = clamp(QuantMath.nearestInt(iscale * v), -nmax, nmax - 1);
            levels[levelsOffset + i] = l + nmax;
            float w = v * v;
            sumLx += w * v * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLx / sumL2 : 0.0f;
        float best = scale * sumLx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumLx = 0;
            sumL2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xOffset + i];
                int l = clamp(QuantMath.nearestInt(iscale * v), -nmax, nmax - 1);
                float w = v * v;
                sumLx += w * v * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLx * sumLx > best * sumL2) {
                for (int i = 0; i < n; i++) {
                    int l = clamp(QuantMath.nearestInt(iscale * x[xOffset + i]), -nmax, nmax - 1);
                    levels[levelsOffset + i] = nmax + l;
                }
                scale = sumLx / sumL2;
                best = scale * sumLx;
            }
        }
        return scale;
    }

    static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }

    /**
     * The eight 6-bit scales of a Q4_K/Q5_K super-block, scale {@code j} in byte {@code j} of the result. The 12
     * bytes at {@code at} hold eight 6-bit scales and eight 6-bit minimums: for {@code j < 4} the low six bits of
     * bytes {@code j} (scale) and {@code j + 4} (minimum); for {@code j >= 4} the low (scale) and high (minimum)
     * nibbles of byte {@code j + 4}, with the top two bits of bytes {@code j - 4} (scale) and {@code j} (minimum)
     * above them. Read as three little-endian words, every byte at once.
     */
    static long scales(MemorySegment w, long at) {
        int q0 = w.get(TypeKernels.LE_INT, at);
        int q2 = w.get(TypeKernels.LE_INT, at + 8);
        int low = q0 & 0x3f3f3f3f;
        int high = (q2 & 0x0f0f0f0f) | ((q0 >>> 2) & 0x30303030);
        return (low & 0xffffffffL) | ((long) high << 32);
    }

    /** The eight 6-bit minimums of a Q4_K/Q5_K super-block, minimum {@code j} in byte {@code j} ({@link #scales}). */
    static long mins(MemorySegment w, long at) {
        int q1 = w.get(TypeKernels.LE_INT, at + 4);
        int q2 = w.get(TypeKernels.LE_INT, at + 8);
        int low = q1 & 0x3f3f3f3f;
        int high = ((q2 >>> 4) & 0x0f0f0f0f) | ((q1 >>> 2) & 0x30303030);
        return (low & 0xffffffffL) | ((long) high << 32);
    }

    /** Lane {@code 2k} and {@code 2k + 1} swapped: a vector added to itself so rearranged sums neighbours. */
    static final VectorShuffle<Integer> NEIGHBOURS = VectorShuffle.fromValues(Lanes.I, 1, 0, 3, 2, 5, 4, 7, 6);

    /** The eight minimums of {@link #mins} as eight int lanes. */
    static IntVector minsVector(MemorySegment w, long at) {
        return (IntVector) LongVector.broadcast(LongVector.SPECIES_128, mins(w, at))
                .reinterpretAsBytes()
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, Lanes.I, 0);
    }

    /** Byte {@code j} of a word from {@link #scales} or {@link #mins}. */
    static int level(long packed, int j) {
        return (int) (packed >>> (8 * j)) & 0xff;
    }

    /** Scale {@code j} of a super-block in the low byte, its minimum in the next ({@link #scales}). */
    static int scaleAndMin(MemorySegment w, long at, int j) {
        return level(scales(w, at), j) | (level(mins(w, at), j) << 8);
    }

    /** Packs eight 6-bit scales and minimums into the 12 bytes {@link #scaleAndMin} reads. */
    static void packScalesAndMins(int[] scales, int[] mins, MemorySegment dst, long offset) {
        int[] packed = new int[12];
        for (int j = 0; j < 8; j++) {
            int ls = scales[j];
            int lm = mins[j];
            if (j < 4) {
                packed[j] = ls;
                packed[j + 4] = lm;
            } else {
                packed[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
                packed[j - 4] |= (ls >>> 4) << 6;
                packed[j] |= (lm >>> 4) << 6;
            }
        }
        for (int i = 0; i < 12; i++) {
            dst.set(TypeKernels.BYTE, offset + i, (byte) packed[i]);
        }
    }
}
