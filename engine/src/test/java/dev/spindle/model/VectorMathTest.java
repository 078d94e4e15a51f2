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
}
