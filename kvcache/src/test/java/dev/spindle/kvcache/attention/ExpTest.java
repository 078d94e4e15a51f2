package dev.spindle.kvcache.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
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
}
