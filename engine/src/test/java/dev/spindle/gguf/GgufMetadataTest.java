package dev.spindle.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Typed access to metadata: defaults for absent keys, exact conversions, and loud type mismatches. */
class GgufMetadataTest {

    private static GgufMetadata metadata() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("u8", GgufValue.uint8(200));
        m.put("i8", GgufValue.int8(-5));
        m.put("u16", GgufValue.uint16(65535));
        m.put("i32", GgufValue.int32(-7));
        m.put("u32.big", GgufValue.uint32(0xFFFF_FFFFL));
        m.put("u64", GgufValue.uint64(123));
        m.put("u64.huge", GgufValue.uint64(-1L));
        m.put("i64", GgufValue.int64(1L << 40));
        m.put("f32", GgufValue.float32(0.5f));
        m.put("f64", GgufValue.float64(1e6));
        m.put("bool", GgufValue.bool(true));
        m.put("str", GgufValue.string("llama"));
        m.put("strs", GgufValue.stringArray(List.of("a", "b")));
        m.put("ints", GgufValue.int32Array(new int[] {1, -2, 3}));
        m.put("u8s", GgufValue.array(GgufValueType.UINT8, new byte[] {(byte) 255, 1}));
        m.put("u32s.big", GgufValue.array(GgufValueType.UINT32, new int[] {-1}));
        m.put("floats", GgufValue.float32Array(new float[] {1.5f, -2f}));
        return new GgufMetadata(m);
    }

    @Test
    void integersOfAnyWidthThatFit() {
        GgufMetadata m = metadata();
        assertEquals(200, m.getInt("u8", 0));
        assertEquals(-5, m.getInt("i8", 0));
        assertEquals(65535, m.getInt("u16", 0));
        assertEquals(-7, m.getInt("i32", 0));
        assertEquals(123, m.getInt("u64", 0));
        assertEquals(0xFFFF_FFFFL, m.getLong("u32.big", 0));
        assertEquals(1L << 40, m.getLong("i64", 0));
        assertEquals(42, m.getInt("absent", 42));
        assertEquals(-7, m.requireInt("i32"));
    }

    @Test
    void integersThatDoNotFitAreErrorsNamingTheKey() {
        GgufMetadata m = metadata();
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> m.getInt("u32.big", 0));
        assertTrue(e.getMessage().contains("'u32.big'") && e.getMessage().contains("4294967295"), e.getMessage());
        e = assertThrows(GgufFormatException.class, () -> m.getLong("u64.huge", 0));
        assertTrue(e.getMessage().contains("18446744073709551615"), e.getMessage());
        assertThrows(GgufFormatException.class, () -> m.getInt("i64", 0));
    }

    @Test
    void wrongTypesAreErrorsNamingBothTypes() {
        GgufMetadata m = metadata();
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> m.getInt("str", 0));
        assertEquals("metadata key 'str' is a STRING, expected an integer", e.getMessage());
        e = assertThrows(GgufFormatException.class, () -> m.getString("i32", ""));
        assertEquals("metadata key 'i32' is INT32 -7, expected STRING", e.getMessage());
        assertThrows(GgufFormatException.class, () -> m.getBoolean("u8", false));
        assertThrows(GgufFormatException.class, () -> m.getStringArray("ints"));
        assertThrows(GgufFormatException.class, () -> m.getFloatArray("ints"));
        assertThrows(GgufFormatException.class, () -> m.getIntArray("floats"));
        assertThrows(GgufFormatException.class, () -> m.getIntArray("u32s.big"));
        assertThrows(GgufFormatException.class, () -> m.getFloat("bool", 0));
        e = assertThrows(GgufFormatException.class, () -> m.requireString("absent"));
        assertEquals("missing metadata key 'absent'", e.getMessage());
    }

    @Test
    void floatsBoolsAndStrings() {
        GgufMetadata m = metadata();
        assertEquals(0.5f, m.getFloat("f32", 0));
        assertEquals(1e6f, m.getFloat("f64", 0));
        assertEquals(1e6, m.getDouble("f64", 0));
        assertEquals(200f, m.getFloat("u8", 0), "integers are exact floats");
        assertEquals(0.25f, m.getFloat("absent", 0.25f));
        assertTrue(m.getBoolean("bool", false));
        assertEquals("llama", m.getString("str", null));
        assertEquals("llama", m.requireString("str"));
        assertEquals("dflt", m.getString("absent", "dflt"));
    }

    @Test
    void arrays() {
        GgufMetadata m = metadata();
        assertEquals(List.of("a", "b"), m.getStringArray("strs"));
        assertEquals(List.of(), m.getStringArray("absent"));
        assertArrayEquals(new int[] {1, -2, 3}, m.getIntArray("ints"));
        assertArrayEquals(new int[] {255, 1}, m.getIntArray("u8s"), "UINT8 elements read unsigned");
        assertArrayEquals(new int[0], m.getIntArray("absent"));
        assertArrayEquals(new float[] {1.5f, -2f}, m.getFloatArray("floats"));
        m.getIntArray("ints")[0] = 99;
        assertEquals(1, m.getIntArray("ints")[0], "arrays are copies");
        assertEquals(3, m.value("ints").length());
    }

    @Test
    void keysInOrderAndRawValues() {
        GgufMetadata m = metadata();
        assertEquals("u8", m.keys().iterator().next());
        assertEquals(17, m.keys().size());
        assertEquals(GgufValueType.ARRAY, m.typeOf("strs"));
        assertEquals(GgufValueType.STRING, m.value("strs").elementType());
        assertNull(m.typeOf("absent"));
        assertNull(m.get("absent"));
        assertEquals(200L, m.get("u8"));
        assertEquals("llama", m.get("str"));
    }

    @Test
    void valuesRejectWhatTheirTypeCannotHold() {
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint8(256));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.uint32(-1));
        assertThrows(IllegalArgumentException.class, () -> GgufValue.array(GgufValueType.INT32, new float[1]));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue(GgufValueType.FLOAT32, null, 1.0));
        assertEquals(GgufValue.int32Array(new int[] {1, 2}), GgufValue.int32Array(new int[] {1, 2}), "deep equality");
    }
}
