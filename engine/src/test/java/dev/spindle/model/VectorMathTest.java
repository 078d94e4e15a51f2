package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spindle.kvcache.attention.GgmlMath;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorMathTest {

    @Test
    void sumTwinsGiveTheSameBits() {
        SplittableRandom random = new SplittableRandom(1);
        float[] x = new float[8];
        for (int i = 0; i < 100_000; i++) {
            for (int l = 0; l < 8; l++) {
                x[l] = (float) (-random.nextDouble() * Math.pow(10, random.nextInt(-3, 3)));
            }
            FloatVector v = FloatVector.fromArray(VectorMath.F, x, 0);
            assertEquals(Float.floatToIntBits(VectorMath.sumScalar(x, 0)), Float.floatToIntBits(VectorMath.sum(v)));
        }
    }

    @Test
    void swigluTwinsAgreeAndFollowTheDefinition() {
        SplittableRandom random = new SplittableRandom(2);
        int width = 172; // 21 chunks of 8 and a tail of 4, as stories260K's FFN
        float[] g = new float[width];
        float[] u = new float[width];
        for (int i = 0; i < 5_000; i++) {
            for (int l = 0; l < width; l++) {
                g[l] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-2, 3)));
                u[l] = (float) random.nextGaussian();
            }
            float[] vector = g.clone();
            float[] scalar = g.clone();
            GgmlMath.swiglu(vector, u, 0, width);
            GgmlMath.swigluScalar(scalar, u, 0, width);
            for (int l = 0; l < width; l++) {
                assertEquals(Float.floatToIntBits(scalar[l]), Float.floatToIntBits(vector[l]), "swiglu(" + g[l] + ")");
                double exact = g[l] / (1 + Math.exp(-(double) g[l])) * u[l];
                assertEquals(
                        exact, scalar[l], 1e-6 * Math.max(1, Math.abs(exact)), "swiglu(" + g[l] + ", " + u[l] + ")");
            }
        }
    }
}
