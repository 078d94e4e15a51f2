package dev.spindle.kvcache.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;

import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class HalfToFloatTest {

    @Test
    void everyFiniteHalfConvertsExactly() {
        int lanes = VectorPagedAttention.lanes();
        VectorSpecies<Short> halves = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(lanes * 16));
        short[] bits = new short[lanes];
        float[] floats = new float[lanes];
        int checked = 0;
        for (int start = 0; start < 1 << 16; start += lanes) {
            for (int i = 0; i < lanes; i++) {
                bits[i] = (short) (start + i);
            }
            VectorPagedAttention.halfToFloat(ShortVector.fromArray(halves, bits, 0))
                    .intoArray(floats, 0);
            for (int i = 0; i < lanes; i++) {
                float expected = Float.float16ToFloat(bits[i]);
                if (Float.isFinite(expected)) {
                    assertEquals(expected, floats[i], 0f, "half 0x" + Integer.toHexString(bits[i] & 0xFFFF));
                    checked++;
                }
            }
        }
        assertEquals(65536 - 2 * 1024, checked);
    }
}
