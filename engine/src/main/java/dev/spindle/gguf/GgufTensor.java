package dev.spindle.gguf;

import dev.spindle.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * One tensor of a GGUF file: its description and a zero-copy view of its bytes in the file's mapping.
 *
 * <p>The shape is in GGML order: {@code shape[0]} is the row length, the contiguous dimension; a matrix with
 * {@code shape = [n, m]} is {@code m} rows of {@code n} elements, the layout of PyTorch's {@code [m, n]} weight. Each
 * row is {@code shape[0] / type.blockSize()} blocks.
 *
 * @param name the tensor's name, e.g. {@code blk.0.attn_q.weight}
 * @param type the storage type
 * @param shape dimensions, innermost first (1 to 4 of them, each at least 1)
 * @param offset the data's offset from the start of the file's data section
 * @param data the tensor's bytes, a slice of the file mapping: valid until its {@link GgufFile} closes
 */
public record GgufTensor(String name, GgmlType type, long[] shape, long offset, MemorySegment data) {

    public GgufTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        shape = shape.clone();
    }

    /** The dimensions, innermost first (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code i}, innermost first. */
    public long dim(int i) {
        return shape[i];
    }

    /** Total number of elements. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Bytes the tensor occupies: whole blocks of its type. */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }

    /** Elements per row: {@code shape[0]}. */
    public long rowLength() {
        return shape[0];
    }

    /** Number of rows: the product of {@code shape[1..]} (1 for a vector). */
    public long rows() {
        long n = 1;
        for (int i = 1; i < shape.length; i++) {
            n *= shape[i];
        }
        return n;
    }

    /** Bytes per row. */
    public long rowBytes() {
        return type.bytesFor(shape[0]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t
                && name.equals(t.name)
                && type == t.type
                && Arrays.equals(shape, t.shape)
                && offset == t.offset
                && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, Arrays.hashCode(shape), offset);
    }

    @Override
    public String toString() {
        return "%s %s %s".formatted(name, type, Arrays.toString(shape));
    }
}
