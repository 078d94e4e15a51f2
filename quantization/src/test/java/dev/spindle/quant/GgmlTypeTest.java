package dev.spindle.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class GgmlTypeTest {

    @Test
    void blockGeometryMatchesGgml() {
        assertEquals(34, GgmlType.Q8_0.bytesPerBlock());
        assertEquals(18, GgmlType.Q4_0.bytesPerBlock());
        assertEquals(144, GgmlType.Q4_K.bytesPerBlock());
        assertEquals(176, GgmlType.Q5_K.bytesPerBlock());
        assertEquals(210, GgmlType.Q6_K.bytesPerBlock());
        assertEquals(2048L / 32 * 34, GgmlType.Q8_0.bytesFor(2048));
    }

    @Test
    void typesAreFoundByTheirGgufNumber() {
        for (GgmlType type : GgmlType.values()) {
            assertEquals(type, GgmlType.byId(type.id()));
        }
        assertNull(GgmlType.byId(99));
    }

    @Test
    void partialBlocksAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> GgmlType.Q4_0.bytesFor(33));
    }
}
