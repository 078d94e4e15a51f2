package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        float[] g = new float[8];
        float[] u = new float[8];
        float[] out = new float[8];
        for (int i = 0; i < 50_000; i++) {
            for (int l = 0; l < 8; l++) {
                g[l] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-2, 3)));
                u[l] = (float) random.nextGaussian();
            }
            VectorMath.swiglu(FloatVector.fromArray(VectorMath.F, g, 0), FloatVector.fromArray(VectorMath.F, u, 0))
                    .intoArray(out, 0);
            for (int l = 0; l < 8; l++) {
                float scalar = VectorMath.swiglu(g[l], u[l]);
                assertEquals(Float.floatToIntBits(scalar), Float.floatToIntBits(out[l]), "swiglu(" + g[l] + ")");
                double exact = g[l] / (1 + Math.exp(-(double) g[l])) * u[l];
                assertEquals(exact, scalar, 1e-6 * Math.max(1, Math.abs(exact)), "swiglu(" + g[l] + ", " + u[l] + ")");
            }
        }
    }
}
