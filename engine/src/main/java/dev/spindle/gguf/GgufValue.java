package dev.spindle.gguf;

import java.util.List;
import java.util.Objects;

/**
 * One typed GGUF metadata value, as read from a file or to be written to one.
 *
 * <p>How each type is held in {@link #value()}:
 *
 * <table>
 *   <caption>Java representation of GGUF values</caption>
 *   <tr><th>GGUF type</th><th>scalar</th><th>array ({@code type == ARRAY}, by {@link #elementType()})</th></tr>
 *   <tr><td>UINT8, INT8</td><td>{@code Long}</td><td>{@code byte[]}</td></tr>
 *   <tr><td>UINT16, INT16</td><td>{@code Long}</td><td>{@code short[]}</td></tr>
 *   <tr><td>UINT32, INT32</td><td>{@code Long}</td><td>{@code int[]}</td></tr>
 *   <tr><td>UINT64, INT64</td><td>{@code Long}</td><td>{@code long[]}</td></tr>
 *   <tr><td>FLOAT32</td><td>{@code Float}</td><td>{@code float[]}</td></tr>
 *   <tr><td>FLOAT64</td><td>{@code Double}</td><td>{@code double[]}</td></tr>
 *   <tr><td>BOOL</td><td>{@code Boolean}</td><td>{@code boolean[]}</td></tr>
 *   <tr><td>STRING</td><td>{@code String}</td><td>{@code List<String>} (unmodifiable)</td></tr>
 * </table>
 *
 * <p>Integer scalars are widened to {@code Long} holding the value itself; a {@code UINT64} at or above 2<sup>63</sup>
 * is held as its two's-complement bits (negative). Unsigned array elements are held as raw bits in the signed array of
 * their width ({@code 255} as a UINT8 element reads as {@code (byte) -1}). Arrays of arrays do not exist here: GGML
 * rejects them and so does Spindle's reader.
 *
 * @param type the value's type
 * @param elementType the element type when {@code type == ARRAY}, else {@code null}
 * @param value the value, represented as the table above says
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type == GgufValueType.ARRAY) {
            Objects.requireNonNull(elementType, "elementType");
            if (elementType == GgufValueType.ARRAY) {
                throw new IllegalArgumentException("arrays of arrays are not supported");
            }
            Class<?> expected = arrayClass(elementType);
            if (elementType == GgufValueType.STRING ? !(value instanceof List<?>) : value.getClass() != expected) {
                throw new IllegalArgumentException("an array of %s must be held as %s, not %s"
                        .formatted(
                                elementType,
                                expected.getSimpleName(),
                                value.getClass().getSimpleName()));
            }
        } else {
            if (elementType != null) {
                throw new IllegalArgumentException("a scalar " + type + " has no element type");
            }
            Class<?> expected = scalarClass(type);
            if (value.getClass() != expected) {
                throw new IllegalArgumentException("a %s must be held as %s, not %s"
                        .formatted(
                                type, expected.getSimpleName(), value.getClass().getSimpleName()));
            }
            if (type.isInteger()) {
                checkRange(type, (Long) value);
            }
        }
    }

    private static Class<?> scalarClass(GgufValueType type) {
        return switch (type) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case FLOAT64 -> Double.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case ARRAY -> throw new IllegalArgumentException("ARRAY is not a scalar type");
        };
    }

    private static Class<?> arrayClass(GgufValueType elementType) {
        return switch (elementType) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case UINT64, INT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> List.class;
            case ARRAY -> throw new IllegalArgumentException("arrays of arrays are not supported");
        };
    }

    private static void checkRange(GgufValueType type, long v) {
        boolean fits = switch (type) {
            case UINT8 -> v >= 0 && v <= 0xFF;
            case INT8 -> v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE;
            case UINT16 -> v >= 0 && v <= 0xFFFF;
            case INT16 -> v >= Short.MIN_VALUE && v <= Short.MAX_VALUE;
            case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
            case INT32 -> v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
            // UINT64 holds raw bits: every long is some uint64.
            case UINT64, INT64 -> true;
            case FLOAT32, FLOAT64, BOOL, STRING, ARRAY -> false;
        };
        if (!fits) {
            throw new IllegalArgumentException(v + " does not fit in " + type);
        }
    }

    /** Number of elements of an array value. */
    public int length() {
        if (type != GgufValueType.ARRAY) {
            throw new IllegalStateException("a " + type + " is not an array");
        }
        return switch (value) {
            case List<?> list -> list.size();
            default -> java.lang.reflect.Array.getLength(value);
        };
    }

    public static GgufValue uint8(int v) {
        return new GgufValue(GgufValueType.UINT8, null, (long) v);
    }

    public static GgufValue int8(int v) {
        return new GgufValue(GgufValueType.INT8, null, (long) v);
    }

    public static GgufValue uint16(int v) {
        return new GgufValue(GgufValueType.UINT16, null, (long) v);
    }

    public static GgufValue int16(int v) {
        return new GgufValue(GgufValueType.INT16, null, (long) v);
    }

    public static GgufValue uint32(long v) {
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue int32(int v) {
        return new GgufValue(GgufValueType.INT32, null, (long) v);
    }

    /** A UINT64 from its bits: values at or above 2<sup>63</sup> are passed as negative longs. */
    public static GgufValue uint64(long bits) {
        return new GgufValue(GgufValueType.UINT64, null, bits);
    }

    public static GgufValue int64(long v) {
        return new GgufValue(GgufValueType.INT64, null, v);
    }

    public static GgufValue float32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue float64(double v) {
        return new GgufValue(GgufValueType.FLOAT64, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue string(String v) {
        return new GgufValue(GgufValueType.STRING, null, v);
    }

    /** An array of strings; the list is copied. */
    public static GgufValue stringArray(List<String> v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, List.copyOf(v));
    }

    /** An INT32 array; the array is not copied, so it must not change until written. */
    public static GgufValue int32Array(int[] v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, v);
    }

    /** A FLOAT32 array; the array is not copied, so it must not change until written. */
    public static GgufValue float32Array(float[] v) {
        return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, v);
    }

    /** An array of any element type, held as the class table above says; the array is not copied. */
    public static GgufValue array(GgufValueType elementType, Object elements) {
        return new GgufValue(GgufValueType.ARRAY, elementType, elements);
    }

    /** Equal when type, element type and contents (arrays element by element) are equal. */
    @Override
    public boolean equals(Object o) {
        return o instanceof GgufValue other
                && type == other.type
                && elementType == other.elementType
                && Objects.deepEquals(value, other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, elementType, java.util.Arrays.deepHashCode(new Object[] {value}));
    }

    @Override
    public String toString() {
        if (type != GgufValueType.ARRAY) {
            return type + ":" + value;
        }
        return "ARRAY<" + elementType + ">[" + length() + "]";
    }
}
