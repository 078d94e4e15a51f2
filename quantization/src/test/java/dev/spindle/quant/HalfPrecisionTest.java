package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The F16 vector kernels convert halves with integer operations and a float multiply that would turn infinities and
 * NaNs into finite numbers if those lanes were not patched: every one of the 65,536 halves converts as {@link
 * Float#float16ToFloat} does, and rows with infinities or NaNs anywhere give the scalar twin's answer, in the fused
 * kernel and in the batched path.
 */
class HalfPrecisionTest {

    private static final F16Kernels F16 = (F16Kernels) GgmlType.F16.kernels();

    @Test
    void everyHalfConvertsExactly() {
        MemorySegment halves = Arena.ofAuto().allocate(2 << 16);
        for (int h = 0; h < 1 << 16; h++) {
            halves.set(Samples.LE_SHORT, 2L * h, (short) h);
        }
        float[] vector = new float[1 << 16];
        F16.dequantizeVector(halves, 0, vector, 0, 1 << 16);
        for (int h = 0; h < 1 << 16; h++) {
            assertEquals(
                    Float.floatToRawIntBits(Float.float16ToFloat((short) h)),
                    Float.floatToRawIntBits(vector[h]),
                    "half 0x%04x".formatted(h));
        }
        // The same a chunk at a time, from offsets that are not multiples of the vector width.
        for (int from = 3; from + 1000 <= 1 << 16; from += 1000) {
            float[] chunk = new float[1000];
            F16.dequantizeVector(halves, 2L * from, chunk, 0, 1000);
            for (int i = 0; i < 1000; i++) {
                assertEquals(
                        Float.floatToRawIntBits(Float.float16ToFloat((short) (from + i))),
                        Float.floatToRawIntBits(chunk[i]),
                        "half 0x%04x".formatted(from + i));
            }
        }
    }

    @Test
    void rowsWithInfinitiesOrNaNsGiveTheTwinsAnswer() {
        SplittableRandom random = new SplittableRandom(3);
        short[] specials = {0x7c00, (short) 0xfc00, 0x7e00, 0x7c01, (short) 0xfe00};
        int count = 45; // five chunks of 8 and a tail of 5
        float[] row = new float[count];
        for (short special : specials) {
            for (int at = 0; at < count; at++) {
                MemorySegment w = Samples.randomBytes(GgmlType.F16, count, 0, random);
                w.set(Samples.LE_SHORT, 2L * at, special);
                float[] x = Samples.gaussian(random, count, 1.0);
                float scalar = F16.dotScalar(w, 0, x, 0, count);
                float vector = F16.dotVector(w, 0, x, 0, new float[TypeKernels.groupCount(count)], 0, count);
                String where = "half 0x%04x at %d".formatted(special, at);
                if (Float.isNaN(scalar)) {
                    assertTrue(Float.isNaN(vector), where + ": " + vector);
                } else {
                    assertEquals(scalar, vector, where);
                }
                F16.dequantizeVector(w, 0, row, 0, count);
                float batched = TokenDots.denseOne(row, x, 0, count, new float[Lanes.N]);
                assertEquals(Float.floatToRawIntBits(vector), Float.floatToRawIntBits(batched), where);
            }
        }
    }
}
