package dev.spindle.quant;

import java.lang.foreign.MemorySegment;

/**
 * Products over a format's <em>interleaved</em> layout: a copy of a matrix made at load time in which groups of
 * {@link #ROWS} rows are stored block by block side by side, so that a vector holds one element of each of eight
 * rows and a product needs no sum across lanes ({@link QuantizedMatrix#interleaved(java.lang.foreign.Arena)}).
 * llama.cpp repacks weights the same way when it loads them (its "extra" CPU buffer types), for the same reason.
 *
 * <p>A format offers one through {@link TypeKernels#interleavedKernels()}. The products give the same bits as the
 * format's products over the rows as stored.
 */
abstract class InterleavedKernels {

    /** Rows per group. */
    static final int ROWS = 8;

    /** Whether a matrix of {@code rows} rows of {@code cols} elements can be interleaved. */
    abstract boolean accepts(int rows, int cols);

    /**
     * Writes the interleaved form of the {@code rows x cols} matrix {@code src} (rows as stored) to {@code dst}, which
     * has the same size.
     *
     * @throws IllegalArgumentException if the weights hold something the interleaved products cannot take, named
     */
    abstract void interleave(MemorySegment src, int rows, int cols, MemorySegment dst);

    /** Row {@code row} of the interleaved {@code data} as floats, to {@code dst[dstOffset ..]}. */
    abstract void dequantizeRow(MemorySegment data, int cols, int row, float[] dst, int dstOffset);

    /**
     * Rows {@code [rowFrom, rowTo)} (whole groups) of the interleaved matrix {@code data} times every token of {@code
     * x}: {@code out[t * outStride + r]}, with the calling thread's {@code scratch}. The scalar twin when {@link
     * Kernels#VECTOR} is off.
     */
    abstract void multiply(
            MemorySegment data,
            int cols,
            int rowFrom,
            int rowTo,
            Activations x,
            float[] out,
            int outStride,
            RowScratch scratch);
}
