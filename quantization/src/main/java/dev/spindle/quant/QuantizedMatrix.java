package dev.spindle.quant;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix as it lies in memory (usually a view of a mapped model file): {@code rows} rows of {@code cols}
 * elements of {@code type}, row after row, each row a whole number of blocks. Products read the weights in place.
 *
 * <p>{@code out[t] = W · x[t]}: row {@code r} of the matrix dotted with the activations of token {@code t} lands in
 * {@code out[t * rows + r]}.
 *
 * @param data the rows, exactly {@code rows * type.bytesFor(cols)} bytes
 */
public record QuantizedMatrix(GgmlType type, int rows, int cols, MemorySegment data) {

    public QuantizedMatrix {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative shape " + rows + " x " + cols);
        }
        long expected = rows * type.bytesFor(cols);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("%d bytes for %d rows of %d %s elements (%d bytes)"
                    .formatted(data.byteSize(), rows, cols, type, expected));
        }
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return type.bytesFor(cols);
    }

    /** Writes row {@code row} as floats to {@code dst[dstOffset .. dstOffset + cols)} (an embedding lookup). */
    public void dequantizeRow(int row, float[] dst, int dstOffset) {
        type.kernels().dequantize(data, checkRow(row) * rowBytes(), dst, dstOffset, cols);
    }

    /**
     * Multiplies rows {@code [rowFrom, rowTo)} with every token of {@code x}: {@code out[t * rows + r]}. Each row is
     * read once for all tokens. Threads may run disjoint row ranges at once, each with its own {@code scratch}.
     */
    public void multiplyRows(Activations x, float[] out, int rowFrom, int rowTo, RowScratch scratch) {
        if (x.cols() != cols) {
            throw new IllegalArgumentException("activations have " + x.cols() + " columns, the matrix " + cols);
        }
        if (rowFrom < 0 || rowTo > rows || rowFrom > rowTo) {
            throw new IndexOutOfBoundsException("rows [" + rowFrom + ", " + rowTo + ") of " + rows);
        }
        if (out.length < x.tokens() * rows) {
            throw new IllegalArgumentException("out holds " + out.length + " floats, not " + x.tokens() + " x " + rows);
        }
        TypeKernels kernels = type.kernels();
        if (!Kernels.VECTOR) {
            scalarRows(kernels, x, out, rowFrom, rowTo);
        } else if (x.tokens() == 1) {
            vectorRows(kernels, x, out, rowFrom, rowTo, scratch.lanes);
        } else {
            if (scratch.maxCols() < cols) {
                throw new IllegalArgumentException("scratch holds rows of " + scratch.maxCols() + ", not " + cols);
            }
            if (type.isQuantized()) {
                decodedRows(kernels, x, out, rowFrom, rowTo, scratch);
            } else {
                TokenDots.denseRows(kernels, data, rowBytes(), rows, x, out, rowFrom, rowTo, scratch);
            }
        }
    }

    // One small method per path: C2 inlines a kernel into its caller, and a large caller plus a kernel exceed the
    // inlining budget (whatever is then not inlined passes its vectors boxed).

    private void scalarRows(TypeKernels kernels, Activations x, float[] out, int rowFrom, int rowTo) {
        long rowBytes = rowBytes();
        float[] in = x.x();
        for (int r = rowFrom; r < rowTo; r++) {
            for (int t = 0; t < x.tokens(); t++) {
                out[t * rows + r] = kernels.dotScalar(data, r * rowBytes, in, t * cols, cols);
            }
        }
    }

    private void vectorRows(TypeKernels kernels, Activations x, float[] out, int rowFrom, int rowTo, float[] lanes) {
        long rowBytes = rowBytes();
        float[] in = x.x();
        float[] sums = x.sums();
        for (int r = rowFrom; r < rowTo; r++) {
            out[r] = kernels.dotVector(data, r * rowBytes, in, 0, sums, 0, cols, lanes);
        }
    }

    private void decodedRows(
            TypeKernels kernels, Activations x, float[] out, int rowFrom, int rowTo, RowScratch scratch) {
        long rowBytes = rowBytes();
        for (int r = rowFrom; r < rowTo; r++) {
            kernels.decode(data, r * rowBytes, cols, scratch);
            TokenDots.multiply(scratch, x, out, r, rows);
        }
    }

    private long checkRow(int row) {
        if (row < 0 || row >= rows) {
            throw new IndexOutOfBoundsException("row " + row + " of " + rows);
        }
        return row;
    }
}
