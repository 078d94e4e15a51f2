package dev.spindle.kvcache.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
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
        Random random = new Random(3);
        int lanes = VectorPagedAttention.lanes();
        int rows = 3;
        int length = 2 * lanes;
        float[] x = new float[rows * length];
        float[] y = new float[rows * length];
        float[] subtrahends = new float[rows];
        for (int round = 0; round < 10_000; round++) {
            for (int i = 0; i < x.length; i++) {
                x[i] = switch (random.nextInt(8)) {
                    case 0 -> -random.nextFloat() * 200;
                    case 1 -> Float.NEGATIVE_INFINITY;
                    case 2 -> (random.nextBoolean() ? 1 : -1) * random.nextFloat() * 1e-6f;
                    default -> -random.nextFloat() * 30;
                };
            }
            for (int row = 0; row < rows; row++) {
                subtrahends[row] = random.nextInt(3) == 0 ? 0f : -random.nextFloat() * 5;
            }
            System.arraycopy(x, 0, y, 0, x.length);
            VectorPagedAttention.expMinus(y, 0, subtrahends, rows, length);
            for (int i = 0; i < x.length; i++) {
                float subtrahend = subtrahends[i / length];
                assertEquals(Exp.exp(x[i] - subtrahend), y[i], 0f, "exp(" + x[i] + " - " + subtrahend + ")");
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

    @Test
    void theVectorFormAgreesWithTheScalarAtEveryWidth() {
        Random random = new Random(4);
        for (VectorSpecies<Float> species :
                List.of(FloatVector.SPECIES_128, FloatVector.SPECIES_256, FloatVector.SPECIES_512)) {
            int lanes = species.length();
            float[] x = new float[lanes];
            float[] y = new float[lanes];
            for (int round = 0; round < 20_000; round++) {
                for (int i = 0; i < lanes; i++) {
                    x[i] = switch (random.nextInt(6)) {
                        case 0 -> (random.nextFloat() - 0.5f) * 400;
                        case 1 -> random.nextBoolean() ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
                        case 2 -> (random.nextFloat() - 0.5f) * 2e-6f;
                        default -> -random.nextFloat() * 30;
                    };
                }
                Exp.exp(FloatVector.fromArray(species, x, 0)).intoArray(y, 0);
                for (int i = 0; i < lanes; i++) {
                    assertEquals(Exp.exp(x[i]), y[i], 0f, lanes + " lanes: exp(" + x[i] + ")");
                }
            }
        }
    }
}
