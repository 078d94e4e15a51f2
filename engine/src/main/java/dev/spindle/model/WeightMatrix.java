package dev.spindle.model;

import dev.spindle.quant.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * A weight matrix as it lies in the mapped model file: {@code rows} rows of {@code cols} elements of {@code type}, row
 * after row. A matrix-vector product {@code W x} dots every row with {@code x}; a GGUF shape {@code [cols, rows]}
 * lists the row length first.
 *
 * @param name the tensor's name in the file, for messages
 * @param data the rows, {@code rows * type.bytesFor(cols)} bytes, a view of the mapped file
 */
public record WeightMatrix(String name, GgmlType type, int rows, int cols, MemorySegment data) {

    public WeightMatrix {
        if (data.byteSize() != rows * type.bytesFor(cols)) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + " rows of " + cols
                    + " " + type + " elements");
        }
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return type.bytesFor(cols);
    }
}
