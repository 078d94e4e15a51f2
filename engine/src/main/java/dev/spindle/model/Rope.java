package dev.spindle.model;

import dev.spindle.numerics.GgmlMath;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Rotary position embedding: pair {@code i} of the first {@code ropeDims} dimensions of every head is rotated by the
 * angle {@code position * freqScale * base^(-2i / ropeDims) / factor[i]}, where the optional factors are Llama 3's
 * {@code rope_freqs.weight}. Which two dimensions form pair {@code i} depends on the {@link RopeStyle}.
 *
 * <p>The angles depend only on the position, so {@link #angles} computes their cosines and sines once per token and
 * step, and every head of every layer reuses them.
 *
 * <p>Rounding as llama.cpp's CPU code (ggml's rope cache): the angles are floats, {@code theta_i} the position times
 * {@code powf(base, -2 / ropeDims)} multiplied in {@code i} times one after another, divided by the factor and
 * multiplied by {@code freqScale}; their cosines and sines are glibc's {@code cosf}/{@code sinf} ({@link GgmlMath});
 * the rotation is {@code x0 c - x1 s} and {@code x0 s + x1 c} with the first product of each fused into the sum, as
 * the C compiler contracts them (found by comparing with ggml's {@code rope_ext}).
 */
final class Rope {
    private final RopeStyle style;
    private final int pairs; // ropeDims / 2
    private final float thetaScale; // powf(base, -2 / ropeDims)
    private final float freqScale;
    private final float[] factors; // [pairs] rope_freqs.weight, or 1

    Rope(ModelConfig config, MemorySegment freqFactors) {
        this.style = config.ropeStyle();
        this.pairs = config.ropeDims() / 2;
        this.thetaScale = (float) StrictMath.pow(config.ropeFreqBase(), -2.0f / config.ropeDims());
        this.freqScale = config.ropeFreqScale();
        this.factors = new float[pairs];
        for (int i = 0; i < pairs; i++) {
            factors[i] = freqFactors != null ? freqFactors.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i) : 1f;
        }
    }

    /** Pairs rotated per head. */
    int pairs() {
        return pairs;
    }

    /** Fills {@code cos[t][i]} and {@code sin[t][i]} ({@code [tokens][pairs]}) for each token's position. */
    void angles(int[] positions, int tokens, float[] cos, float[] sin) {
        for (int t = 0; t < tokens; t++) {
            float theta = positions[t];
            for (int i = 0; i < pairs; i++) {
                float angle = freqScale * (theta / factors[i]);
                cos[t * pairs + i] = GgmlMath.cosf(angle);
                sin[t * pairs + i] = GgmlMath.sinf(angle);
                theta *= thetaScale;
            }
        }
    }

    /**
     * Rotates the {@code heads} heads of width {@code headDim} that start at {@code x[offset]}, by the angles of row
     * {@code t} of {@code cos} and {@code sin}.
     */
    void rotate(float[] x, int offset, int heads, int headDim, float[] cos, float[] sin, int t) {
        int angles = t * pairs;
        int half = style == RopeStyle.NEOX ? pairs : 0;
        for (int h = 0; h < heads; h++) {
            int base = offset + h * headDim;
            for (int i = 0; i < pairs; i++) {
                // NORMAL: (2i, 2i + 1); NEOX: (i, i + pairs)
                int a = style == RopeStyle.NEOX ? base + i : base + 2 * i;
                int b = style == RopeStyle.NEOX ? a + half : a + 1;
                float c = cos[angles + i];
                float s = sin[angles + i];
                float x0 = x[a];
                float x1 = x[b];
                x[a] = Math.fma(x0, c, -(x1 * s));
                x[b] = Math.fma(x0, s, x1 * c);
            }
        }
    }
}
