package dev.spindle.quant;

/**
 * The GGML tensor types Spindle reads, with their block geometry and their kernels: the one table of formats.
 *
 * <p>A tensor row of {@code n} elements of type {@code t} occupies {@code n / t.blockSize()} blocks of {@code
 * t.bytesPerBlock()} bytes. The numeric {@link #id()} is the value stored in GGUF files. {@link #kernels()} gives the
 * type's dequantizers, dot products and quantizer; the switch that builds them has no default, so a new type does not
 * compile until it has kernels.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 2 + 16),
    Q4_1(3, 32, 2 + 2 + 16),
    Q5_0(6, 32, 2 + 4 + 16),
    Q5_1(7, 32, 2 + 2 + 4 + 16),
    Q8_0(8, 32, 2 + 32),
    Q4_K(12, 256, 2 + 2 + 12 + 128),
    Q5_K(13, 256, 2 + 2 + 12 + 32 + 128),
    Q6_K(14, 256, 128 + 64 + 16 + 2),
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int bytesPerBlock;

    GgmlType(int id, int blockSize, int bytesPerBlock) {
        this.id = id;
        this.blockSize = blockSize;
        this.bytesPerBlock = bytesPerBlock;
    }

    /** The type's number in GGUF files. */
    public int id() {
        return id;
    }

    /** Elements per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int bytesPerBlock() {
        return bytesPerBlock;
    }

    /** Whether the type stores blocks of quantized values, as opposed to plain floats. */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /**
     * Bytes taken by {@code elements} elements of this type.
     *
     * @throws IllegalArgumentException if {@code elements} is negative or not a whole number of blocks
     */
    public long bytesFor(long elements) {
        if (elements < 0 || elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    "%d elements are not a whole number of %s blocks of %d".formatted(elements, this, blockSize));
        }
        return Math.multiplyExact(elements / blockSize, (long) bytesPerBlock);
    }

    /** The kernels of this type: scalar and vector dequantizers, dot products, quantizer. */
    public TypeKernels kernels() {
        return KernelTable.BY_ORDINAL[ordinal()];
    }

    /** The type with GGUF number {@code id}, or {@code null} when Spindle does not know it. */
    public static GgmlType byId(int id) {
        for (GgmlType type : values()) {
            if (type.id == id) {
                return type;
            }
        }
        return null;
    }

    /** Built on first use: the kernel classes refer back to this enum. */
    private static final class KernelTable {
        static final TypeKernels[] BY_ORDINAL = build();

        private static TypeKernels[] build() {
            GgmlType[] types = values();
            TypeKernels[] table = new TypeKernels[types.length];
            for (GgmlType type : types) {
                table[type.ordinal()] = switch (type) {
                    case F32 -> new F32Kernels();
                    case F16 -> new F16Kernels();
                    case BF16 -> new Bf16Kernels();
                    case Q8_0 -> new Q8_0Kernels();
                    case Q4_0 -> new Q4_0Kernels();
                    case Q4_1 -> new Q4_1Kernels();
                    case Q5_0 -> new Q5_0Kernels();
                    case Q5_1 -> new Q5_1Kernels();
                    case Q4_K -> new Q4_KKernels();
                    case Q5_K -> new Q5_KKernels();
                    case Q6_K -> new Q6_KKernels();
                };
            }
            return table;
        }
    }
}
