package dev.spindle.kvcache.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class HalfToFloatTest {

    @Test
    void everyFiniteHalfConvertsExactly() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment halves = arena.allocate(2L << 16);
            for (int bits = 0; bits < 1 << 16; bits++) {
                halves.setAtIndex(ValueLayout.JAVA_SHORT, bits, (short) bits);
            }
            float[] floats = new float[1 << 16];
            VectorPagedAttention.halvesToFloats(halves, 0, floats, 0, 1 << 16);
            int checked = 0;
            for (int bits = 0; bits < 1 << 16; bits++) {
                float expected = Float.float16ToFloat((short) bits);
                if (Float.isFinite(expected)) {
                    assertEquals(expected, floats[bits], 0f, "half 0x" + Integer.toHexString(bits));
                    checked++;
                }
            }
            assertEquals(65536 - 2 * 1024, checked);
        }
    }
}
