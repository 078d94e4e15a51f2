package dev.spindle.model;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Rotary position embedding: pair {@code i} of the first {@code ropeDims} dimensions of every head is rotated by the
 * angle {@code position * freqScale * base^(-2i / ropeDims) / factor[i]}, where the optional factors are Llama 3's
 * {@code rope_freqs.weight}. Which two dimensions form pair {@code i} depends on the {@link RopeStyle}.
 *
 * <p>The angles depend only on the position, so {@link #angles} computes their cosines and sines once per token and
 * step, and every head of every layer reuses them.
 */
final class Rope {
    private final RopeStyle style;
    private final int pairs; // ropeDims / 2
    private final double[] frequencies; // [pairs] radians per position

    Rope(ModelConfig config, MemorySegment freqFactors) {
        this.style = config.ropeStyle();
        this.pairs = config.ropeDims() / 2;
        this.frequencies = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            double f = config.ropeFreqScale() * Math.pow(config.ropeFreqBase(), -2.0 * i / config.ropeDims());
            if (freqFactors != null) {
                f /= freqFactors.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            }
            frequencies[i] = f;
        }
    }

    /** Pairs rotated per head. */
    int pairs() {
        return pairs;
    }

    /** Fills {@code cos[t][i]} and {@code sin[t][i]} ({@code [tokens][pairs]}) for each token's position. */
    void angles(int[] positions, int tokens, float[] cos, float[] sin) {
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < pairs; i++) {
                double theta = positions[t] * frequencies[i];
                cos[t * pairs + i] = (float) Math.cos(theta);
                sin[t * pairs + i] = (float) Math.sin(theta);
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
                x[a] = x0 * c - x1 * s;
                x[b] = x0 * s + x1 * c;
            }
        }
    }
}
