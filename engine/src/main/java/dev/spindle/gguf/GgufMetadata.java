package dev.spindle.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The key-value metadata of a GGUF file, in file order, with typed accessors.
 *
 * <p>Getters with a default return it when the key is absent; a key that is present with a type the getter cannot
 * represent exactly throws {@link GgufFormatException} naming the key and both types, since a model loaded from
 * misread hyper-parameters would fail far from the cause. Integer getters accept any of the eight integer types whose
 * value fits; float getters also accept integers (exactly representable ones) and FLOAT64 for {@link #getFloat}.
 *
 * <p>Immutable; values are held as {@link GgufValue} documents them. Array getters return copies.
 */
public final class GgufMetadata {

    private final Map<String, GgufValue> values;

    /** Metadata holding {@code values} in iteration order; the map is copied. */
    public GgufMetadata(Map<String, GgufValue> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** Whether the key is present. */
    public boolean contains(String key) {
        return values.containsKey(key);
    }

    /** All keys in file order. */
    public Set<String> keys() {
        return values.keySet();
    }

    /** All values by key, in file order. */
    public Map<String, GgufValue> asMap() {
        return values;
    }

    /** Number of keys. */
    public int size() {
        return values.size();
    }

    /** The key's type ({@link GgufValueType#ARRAY} for arrays), or {@code null} when absent. */
    public GgufValueType typeOf(String key) {
        GgufValue v = values.get(key);
        return v == null ? null : v.type();
    }

    /** The typed value, or {@code null} when absent. */
    public GgufValue value(String key) {
        return values.get(key);
    }

    /** The value as {@link GgufValue} represents it ({@code Long}, {@code float[]}, {@code List<String>}, ...), or {@code null}. */
    public Object get(String key) {
        GgufValue v = values.get(key);
        return v == null ? null : v.value();
    }

    public String getString(String key, String defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        if (v.type() != GgufValueType.STRING) {
            throw mismatch(key, v, "STRING");
        }
        return (String) v.value();
    }

    /** The string at {@code key}; throws {@link GgufFormatException} if absent or not a string. */
    public String requireString(String key) {
        String s = getString(key, null);
        if (s == null) {
            throw new GgufFormatException("missing metadata key '" + key + "'");
        }
        return s;
    }

    public int getInt(String key, int defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        long x = integerValue(key, v);
        if (x < Integer.MIN_VALUE || x > Integer.MAX_VALUE) {
            throw new GgufFormatException(
                    "metadata key '%s' holds %s, which does not fit in an int".formatted(key, describe(v)));
        }
        return (int) x;
    }

    /** The integer at {@code key}; throws {@link GgufFormatException} if absent or not an integer that fits. */
    public int requireInt(String key) {
        if (!values.containsKey(key)) {
            throw new GgufFormatException("missing metadata key '" + key + "'");
        }
        return getInt(key, 0);
    }

    public long getLong(String key, long defaultValue) {
        GgufValue v = values.get(key);
        return v == null ? defaultValue : integerValue(key, v);
    }

    public float getFloat(String key, float defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        return switch (v.type()) {
            case FLOAT32 -> (Float) v.value();
            // A FLOAT64 hyper-parameter is narrowed as llama.cpp's converters would have written it.
            case FLOAT64 -> (float) (double) (Double) v.value();
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                long x = integerValue(key, v);
                if ((long) (float) x != x) {
                    throw new GgufFormatException(
                            "metadata key '%s' holds %s, not exactly a float".formatted(key, describe(v)));
                }
                yield (float) x;
            }
            case BOOL, STRING, ARRAY -> throw mismatch(key, v, "a number");
        };
    }

    public double getDouble(String key, double defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        return switch (v.type()) {
            case FLOAT32 -> (Float) v.value();
            case FLOAT64 -> (Double) v.value();
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                long x = integerValue(key, v);
                if ((long) (double) x != x) {
                    throw new GgufFormatException(
                            "metadata key '%s' holds %s, not exactly a double".formatted(key, describe(v)));
                }
                yield (double) x;
            }
            case BOOL, STRING, ARRAY -> throw mismatch(key, v, "a number");
        };
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        if (v.type() != GgufValueType.BOOL) {
            throw mismatch(key, v, "BOOL");
        }
        return (Boolean) v.value();
    }

    /** The string array at {@code key} (unmodifiable), or an empty list when absent. */
    @SuppressWarnings("unchecked")
    public List<String> getStringArray(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            return List.of();
        }
        if (v.type() != GgufValueType.ARRAY || v.elementType() != GgufValueType.STRING) {
            throw mismatch(key, v, "an array of STRING");
        }
        return (List<String>) v.value();
    }

    /**
     * The integer array at {@code key} as ints, or an empty array when absent. Accepts any integer element type whose
     * every element fits in an int (UINT32 elements at or above 2<sup>31</sup> do not).
     */
    public int[] getIntArray(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            return new int[0];
        }
        if (v.type() != GgufValueType.ARRAY) {
            throw mismatch(key, v, "an integer array");
        }
        Object a = v.value();
        return switch (v.elementType()) {
            case INT32 -> ((int[]) a).clone();
            case UINT32 -> {
                int[] src = (int[]) a;
                for (int i = 0; i < src.length; i++) {
                    if (src[i] < 0) {
                        throw new GgufFormatException("metadata key '%s' element %d is %d, which does not fit in an int"
                                .formatted(key, i, Integer.toUnsignedLong(src[i])));
                    }
                }
                yield src.clone();
            }
            case INT8, UINT8 -> {
                byte[] src = (byte[]) a;
                boolean unsigned = v.elementType() == GgufValueType.UINT8;
                int[] out = new int[src.length];
                for (int i = 0; i < src.length; i++) {
                    out[i] = unsigned ? Byte.toUnsignedInt(src[i]) : src[i];
                }
                yield out;
            }
            case INT16, UINT16 -> {
                short[] src = (short[]) a;
                boolean unsigned = v.elementType() == GgufValueType.UINT16;
                int[] out = new int[src.length];
                for (int i = 0; i < src.length; i++) {
                    out[i] = unsigned ? Short.toUnsignedInt(src[i]) : src[i];
                }
                yield out;
            }
            case INT64, UINT64 -> {
                long[] src = (long[]) a;
                int[] out = new int[src.length];
                for (int i = 0; i < src.length; i++) {
                    if (src[i] < Integer.MIN_VALUE || src[i] > Integer.MAX_VALUE) {
                        throw new GgufFormatException(
                                "metadata key '%s' element %d does not fit in an int".formatted(key, i));
                    }
                    out[i] = (int) src[i];
                }
                yield out;
            }
            case FLOAT32, FLOAT64, BOOL, STRING, ARRAY -> throw mismatch(key, v, "an integer array");
        };
    }

    /** The FLOAT32 array at {@code key} (a copy), or an empty array when absent. */
    public float[] getFloatArray(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            return new float[0];
        }
        if (v.type() != GgufValueType.ARRAY || v.elementType() != GgufValueType.FLOAT32) {
            throw mismatch(key, v, "an array of FLOAT32");
        }
        return ((float[]) v.value()).clone();
    }

    private static long integerValue(String key, GgufValue v) {
        if (!v.type().isInteger()) {
            throw mismatch(key, v, "an integer");
        }
        long x = (Long) v.value();
        if (v.type() == GgufValueType.UINT64 && x < 0) {
            throw new GgufFormatException("metadata key '%s' holds UINT64 %s, which does not fit in a long"
                    .formatted(key, Long.toUnsignedString(x)));
        }
        return x;
    }

    private static GgufFormatException mismatch(String key, GgufValue v, String expected) {
        return new GgufFormatException("metadata key '%s' is %s, expected %s".formatted(key, describe(v), expected));
    }

    private static String describe(GgufValue v) {
        return switch (v.type()) {
            case ARRAY -> "an array of " + v.elementType();
            case STRING -> "a STRING";
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64, FLOAT32, FLOAT64, BOOL ->
                v.type() + " " + v.value();
        };
    }

    @Override
    public String toString() {
        return "GgufMetadata" + values.keySet();
    }
}
