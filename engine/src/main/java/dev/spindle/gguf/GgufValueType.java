package dev.spindle.gguf;

/**
 * The value types of GGUF metadata, with the numbers the file stores. Integers are little-endian; {@code STRING} is a
 * {@code uint64} byte length followed by UTF-8 bytes; {@code ARRAY} is an element type, a {@code uint64} count and the
 * elements.
 */
public enum GgufValueType {
    UINT8(0, 1),
    INT8(1, 1),
    UINT16(2, 2),
    INT16(3, 2),
    UINT32(4, 4),
    INT32(5, 4),
    FLOAT32(6, 4),
    BOOL(7, 1),
    STRING(8, 8),
    ARRAY(9, 12),
    UINT64(10, 8),
    INT64(11, 8),
    FLOAT64(12, 8);

    private static final GgufValueType[] BY_ID = new GgufValueType[13];

    static {
        for (GgufValueType type : values()) {
            BY_ID[type.id] = type;
        }
    }

    private final int id;
    private final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    /** The type's number in GGUF files. */
    public int id() {
        return id;
    }

    /**
     * The fewest bytes a value of this type occupies in a file: its exact size for scalars, the length field alone for
     * strings, the element type and count for arrays. Used to reject counts that could not fit in the file.
     */
    int minBytes() {
        return minBytes;
    }

    /** Whether the type is one of the eight integer types. */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            case FLOAT32, FLOAT64, BOOL, STRING, ARRAY -> false;
        };
    }

    /** The type with GGUF number {@code id}, or {@code null} if there is none. */
    public static GgufValueType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
