package dev.spindle.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MemoryBudgetTest {

    @Test
    void sizesInBinaryAndDecimalUnits() {
        assertEquals(4L << 30, MemoryBudget.parse("4GiB"));
        assertEquals(4L << 30, MemoryBudget.parse("4g"));
        assertEquals(512L << 20, MemoryBudget.parse(" 512MiB "));
        assertEquals(3L << 29, MemoryBudget.parse("1.5GiB"));
        assertEquals(2_000_000_000L, MemoryBudget.parse("2GB"));
        assertEquals(1234, MemoryBudget.parse("1234"));
        assertEquals(1L << 40, MemoryBudget.parse("1TiB"));
    }

    @Test
    void aPercentageIsAShareOfFreeMemory() {
        assertEquals(300, MemoryBudget.parse("30%", () -> 1000));
        assertEquals(1000, MemoryBudget.parse("100%", () -> 1000));
        assertTrue(MemoryBudget.parse("10%") > 0);
    }

    @Test
    void nonsenseIsRefused() {
        for (String bad : new String[] {"", "GiB", "4 parsecs", "-1GiB", "0", "0%", "150%", "abc%", "1e400"}) {
            assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse(bad, () -> 1000), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse(null));
    }
}
