package dev.spindle.kvcache.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class ExpTest {

    @Test
    void isWithinFourUlpOfTheTrueExponentialOverTheSoftmaxRange() {
        double worst = 0;
        for (float x = -87f; x <= 10f; x += 0.001f) {
            double exact = Math.exp(x);
            double ulps = Math.abs(Exp.exp(x) - exact) / Math.ulp((float) exact);
            worst = Math.max(worst, ulps);
        }
        assertTrue(worst <= 4, "worst error " + worst + " ulp");
    }

    @Test
    void vectorAndScalarFormsAgreeBitForBit() {
        for (VectorSpecies<Float> species : java.util.List.of(FloatVector.SPECIES_256, FloatVector.SPECIES_512)) {
            Random random = new Random(3);
            float[] x = new float[species.length()];
            float[] y = new float[species.length()];
            for (int round = 0; round < 20_000; round++) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = switch (random.nextInt(8)) {
                        case 0 -> -random.nextFloat() * 200;
                        case 1 -> Float.NEGATIVE_INFINITY;
                        case 2 -> (random.nextBoolean() ? 1 : -1) * random.nextFloat() * 1e-6f;
                        default -> -random.nextFloat() * 30;
                    };
                }
                Exp.exp(FloatVector.fromArray(species, x, 0)).intoArray(y, 0);
                for (int i = 0; i < x.length; i++) {
                    assertEquals(Exp.exp(x[i]), y[i], 0f, "exp(" + x[i] + ")");
                }
            }
        }
    }

    @Test
    void zeroGivesOneAndTheVeryNegativeGiveNextToNothing() {
        assertEquals(1f, Exp.exp(0f));
        assertEquals(1f, Exp.exp(-0f));
        assertTrue(Exp.exp(Float.NEGATIVE_INFINITY) < 1e-37f);
        assertTrue(Exp.exp(-1000f) >= 0f);
    }
}
