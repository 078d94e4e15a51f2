package dev.spindle.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The strict JSON reader: the whole grammar, and every laxity rejected with a position. */
class JsonTest {

    @Test
    void valuesOfEveryKind() {
        Object v = Json.parse(
                " {\"a\": [1, -2, 3.5, 1e3, -0, 0.25E-2, true, false, null], \"b\": {}, \"c\": [], \"d\": \"x\"} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("a", "b", "c", "d"), List.copyOf(m.keySet()), "document order");
        List<?> a = (List<?>) m.get("a");
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(3.5, a.get(2));
        assertEquals(1000.0, a.get(3));
        assertEquals(0L, a.get(4));
        assertEquals(0.0025, a.get(5));
        assertEquals(true, a.get(6));
        assertEquals(false, a.get(7));
        assertNull(a.get(8));
        assertEquals(Map.of(), m.get("b"));
        assertEquals(List.of(), m.get("c"));
        assertEquals("x", m.get("d"));
    }

    @Test
    void bigIntegers() {
        assertEquals(9223372036854775807L, Json.parse("9223372036854775807"));
        assertEquals(-9223372036854775808L, Json.parse("-9223372036854775808"));
        assertEquals(new BigInteger("1000000000000000019884624838656"), Json.parse("1000000000000000019884624838656"));
    }

    @Test
    void stringEscapes() {
        assertEquals("q\"b\\s/\b\f\n\r\t", Json.parse("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\""));
        assertEquals("Ġ", Json.parse("\"\\u0120\""));
        assertEquals("🦙", Json.parse("\"\\ud83e\\udd99\""), "a surrogate pair");
        assertEquals("\uD800x", Json.parse("\"\\uD800x\""), "an unpaired surrogate stays unpaired");
        assertEquals("你好 ✓", Json.parse("\"你好 ✓\""), "raw non-ASCII");
    }

    @Test
    void laxitiesAreRejectedWithAPosition() {
        String[] bad = {
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "[01]",
            "[1.]",
            "[.5]",
            "[1e]",
            "[-]",
            "'x'",
            "[\"a\tb\"]",
            "[\"\\x\"]",
            "[\"\\u12\"]",
            "[\"abc",
            "{\"a\" 1}",
            "{a:1}",
            "[1 2]",
            "tru",
            "nul",
            "[1] x",
            "// c\n1",
            "[NaN]",
            "{\"a\":1,\"a\":2}",
            "+1"
        };
        for (String text : bad) {
            JsonException e = assertThrows(JsonException.class, () -> Json.parse(text), text);
            assertTrue(e.getMessage().contains("line "), e.getMessage());
        }
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\n  \"a\": [1,\n  ]}"));
        assertEquals("expected a value at line 3, column 3", e.getMessage().replace("unexpected character ']', ", ""));
    }

    @Test
    void duplicateKeysAreErrors() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\"k\": 1, \"k\": 2}"));
        assertTrue(e.getMessage().startsWith("duplicate key \"k\""), e.getMessage());
    }

    @Test
    void deepNestingIsRefusedNotOverflowed() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nesting deeper than 512"), e.getMessage());
        String ok = "[".repeat(512) + "]".repeat(512);
        assertTrue(Json.parse(ok) instanceof List<?>);
    }

    @Test
    void resultsAreUnmodifiable() {
        Map<?, ?> m = (Map<?, ?>) Json.parse("{\"a\":[1]}");
        assertThrows(UnsupportedOperationException.class, () -> m.clear());
        assertThrows(UnsupportedOperationException.class, () -> ((List<?>) m.get("a")).clear());
    }
}
