package dev.spindle.kvcache.memory;

import dev.spindle.quant.GgmlType;

/**
 * The element types the KV cache stores K and V in. Each names the GGML format whose geometry it uses, so block sizes
 * come from the one table of formats; switches over this enum are exhaustive, so a new type breaks the build until
 * every kernel handles it.
 *
 * <p>F16 halves the memory of F32 and Q8_0 (blocks of 32 signed bytes along the head dimension with one F16 scale)
 * roughly quarters it. The attention kernel reads all three directly.
 */
public enum KvType {
    F32(GgmlType.F32),
    F16(GgmlType.F16),
    Q8_0(GgmlType.Q8_0);

    private final GgmlType ggmlType;

    KvType(GgmlType ggmlType) {
        this.ggmlType = ggmlType;
    }

    /** The GGML format whose element and block geometry this type uses. */
    public GgmlType ggmlType() {
        return ggmlType;
    }

    /** Bytes one vector of {@code headDim} elements takes (one token, one KV head, K or V). */
    public long bytesFor(int headDim) {
        return ggmlType.bytesFor(headDim);
    }

    /** Parses a type name as given on the command line ({@code f32}, {@code f16}, {@code q8_0}), ignoring case. */
    public static KvType parse(String name) {
        for (KvType type : values()) {
            if (type.name().equalsIgnoreCase(name.strip())) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown KV cache type '%s' (expected f32, f16 or q8_0)".formatted(name));
    }
}
