package dev.spindle.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A weight matrix as it lies in memory (usually a view of a mapped model file): {@code rows} rows of {@code cols}
 * elements of {@code type}, row after row, each row a whole number of blocks. Products read the weights in place.
 *
 * <p>{@code out[t] = W · x[t]}: row {@code r} of the matrix dotted with the activations of token {@code t} lands in
 * {@code out[t * rows + r]}.
 *
 * <p>A matrix may instead be <em>interleaved</em>: a copy made once at load time ({@link #interleaved(Arena)}) that
 * stores groups of eight rows block by block side by side, the layout the format's fastest products read ({@link
 * InterleavedKernels}). Its products give the same bits as those of the rows as stored.
 *
 * @param data the rows, exactly {@code rows * type.bytesFor(cols)} bytes
 * @param interleaved whether {@code data} holds the format's interleaved layout rather than the rows as stored
 */
public record QuantizedMatrix(GgmlType type, int rows, int cols, MemorySegment data, boolean interleaved) {

    public QuantizedMatrix {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException("negative shape " + rows + " x " + cols);
        }
        long expected = rows * type.bytesFor(cols);
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("%d bytes for %d rows of %d %s elements (%d bytes)"
                    .formatted(data.byteSize(), rows, cols, type, expected));
        }
        if (interleaved && !canInterleave(type, rows, cols)) {
            throw new IllegalArgumentException(
                    "a %s matrix of %d x %d has no interleaved layout".formatted(type, rows, cols));
        }
    }

    /** The rows as stored (a view of a model file, usually). */
    public QuantizedMatrix(GgmlType type, int rows, int cols, MemorySegment data) {
        this(type, rows, cols, data, false);
    }

    private static boolean canInterleave(GgmlType type, int rows, int cols) {
        InterleavedKernels k = type.kernels().interleavedKernels();
        return k != null && k.accepts(rows, cols);
    }

    /**
     * This matrix in the layout its products read fastest: an interleaved copy allocated in {@code arena} where the
     * format has one for this shape (Q4_0 with a multiple of 8 rows, as llama.cpp repacks), else this matrix itself.
     *
     * @throws IllegalArgumentException if the weights hold something the interleaved products cannot take (a
     *     non-finite Q4_0 scale), named
     */
    public QuantizedMatrix interleaved(Arena arena) {
        if (interleaved || !canInterleave(type, rows, cols)) {
            return this;
        }
        MemorySegment copy = arena.allocate(data.byteSize(), 64);
        type.kernels().interleavedKernels().interleave(data, rows, cols, copy);
        return new QuantizedMatrix(type, rows, cols, copy, true);
    }

    /** Rows that products take together: a range of rows to multiply starts and ends on a multiple of it. */
    public int rowGroup() {
        return interleaved ? InterleavedKernels.ROWS : 1;
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return type.bytesFor(cols);
    }

    /** Writes row {@code row} as floats to {@code dst[dstOffset .. dstOffset + cols)} (an embedding lookup). */
    public void dequantizeRow(int row, float[] dst, int dstOffset) {
        if (interleaved) {
            type.kernels().interleavedKernels().dequantizeRow(data, cols, (int) checkRow(row), dst, dstOffset);
        } else {
            type.kernels().dequantize(data, checkRow(row) * rowBytes(), dst, dstOffset, cols);
        }
    }

    /**
     * Multiplies rows {@code [rowFrom, rowTo)} with every token of {@code x}: {@code out[t * rows + r]}. Each row is
     * read once for all tokens. {@code x} must hold the form of activations the type takes ({@link
     * TypeKernels#activationFormat()}, {@link Activations#prepare}). Threads may run disjoint row ranges at once, each
     * with its own {@code scratch}. The range starts and ends on multiples of {@link #rowGroup()}.
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
        if (!x.isPrepared(kernels.activationFormat())) {
            throw new IllegalStateException(
                    type + " multiplies activations of form " + kernels.activationFormat() + ": prepare them first");
        }
        if (interleaved) {
            kernels.interleavedKernels().multiply(data, cols, rowFrom, rowTo, x, out, rows, scratch);
        } else if (kernels instanceof KQuantKernels k) {
            KQuantProducts.multiplyRows(k, this, x.kquant(), out, rowFrom, rowTo, scratch.kquantLanes);
        } else if (kernels instanceof Q4_0Kernels q && !Q4_0Kernels.repacked(rows)) {
            q.multiplyUnpacked(data, rowBytes(), rowFrom, rowTo, x, out, rows, scratch);
        } else if (!Kernels.VECTOR) {
            scalarRows(kernels, x, out, rowFrom, rowTo, scratch.lanes);
        } else if (x.tokens() == 1) {
            vectorRows(kernels, x, out, rowFrom, rowTo, scratch.lanes);
        } else {
            if (scratch.maxCols() < cols) {
                throw new IllegalArgumentException("scratch holds rows of " + scratch.maxCols() + ", not " + cols);
            }
            kernels.multiplyTokens(data, rowBytes(), rowFrom, rowTo, x, out, rows, scratch);
        }
    }

    // One small method per path: C2 inlines a kernel into its caller, and a large caller plus a kernel exceed the
    // inlining budget (whatever is then not inlined passes its vectors boxed).

    private void scalarRows(TypeKernels kernels, Activations x, float[] out, int rowFrom, int rowTo, float[] lanes) {
        long rowBytes = rowBytes();
        for (int r = rowFrom; r < rowTo; r++) {
            for (int t = 0; t < x.tokens(); t++) {
                out[t * rows + r] = kernels.dotScalar(data, r * rowBytes, x, t, lanes);
            }
        }
    }

    private void vectorRows(TypeKernels kernels, Activations x, float[] out, int rowFrom, int rowTo, float[] lanes) {
        long rowBytes = rowBytes();
        for (int r = rowFrom; r < rowTo; r++) {
            out[r] = kernels.dotVector(data, r * rowBytes, x, 0, lanes);
        }
    }

    private long checkRow(int row) {
        if (row < 0 || row >= rows) {
            throw new IndexOutOfBoundsException("row " + row + " of " + rows);
        }
        return row;
    }
}
