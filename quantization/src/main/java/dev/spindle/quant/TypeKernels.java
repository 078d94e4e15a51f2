package dev.spindle.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The kernels of one tensor format: a scalar reference dequantizer, a vector dequantizer, a fused dequantize-and-dot
 * product with its scalar twin, and a quantizer where the format has one. {@link GgmlType#kernels()} finds them.
 *
 * <p>Every method works on whole blocks of the format, straight on the weight bytes in a {@link MemorySegment}
 * (mapped from a file, never copied to the heap), starting at any byte offset: GGUF aligns tensors but a block
 * inside a row lies wherever the block size puts it. Activations are plain {@code float[]}.
 *
 * <p>The dot products take, beside the activations {@code x}, the sums of {@code x} over each run of
 * {@value #SUM_GROUP} elements ({@link #groupSums}). Formats that store {@code q - offset} or {@code d*q + m} use
 * them to take the offset or the minimum out of the inner loop: {@code sum(d*(q - 8)*x) = d*sum(q*x) - 8*d*sum(x)}.
 * The scalar twins ignore them and compute the plain definition.
 */
public abstract class TypeKernels {

    /**
     * Floats of scratch ({@code lanes}) a kernel may need: the K-quant kernels keep four accumulators and a
     * super-block's lane sums there.
     */
    public static final int LANE_SCRATCH = 12 * Lanes.N;

    /** Elements per activation sum: the smallest sub-block of any format (Q6_K's 16). */
    public static final int SUM_GROUP = 16;

    protected static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    protected static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    protected static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    protected static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    private final GgmlType type;

    protected TypeKernels(GgmlType type) {
        this.type = type;
    }

    /** The format these kernels read and write. */
    public final GgmlType type() {
        return type;
    }

    /**
     * Reference dequantizer: writes the {@code count} elements stored from byte {@code offset} of {@code src} to
     * {@code dst[dstOffset ..]}. Plain scalar code, the definition of the format.
     */
    public abstract void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count);

    /** The same as {@link #dequantizeScalar} on the Vector API; the results are identical. */
    public abstract void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count);

    /**
     * Scalar twin of {@link #dotVector}: the dot product of the {@code count} weights stored from byte {@code offset}
     * with {@code x[xOffset ..]}, element by element as the format defines it.
     */
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        throw floatActivations();
    }

    /**
     * Fused dequantize-and-dot on the Vector API. {@code sums[sumsOffset + g]} must hold the sum of
     * {@code x[xOffset + 16*g .. xOffset + 16*g + 15]} ({@link #groupSums}); formats that need no sums ignore them.
     * {@code lanes} is scratch of at least {@value Lanes#N} floats for the final sum of the vector lanes (one per
     * thread: a kernel allocates nothing).
     */
    public float dotVector(
            MemorySegment w,
            long offset,
            float[] x,
            int xOffset,
            float[] sums,
            int sumsOffset,
            int count,
            float[] lanes) {
        throw floatActivations();
    }

    /** {@link #dotVector(MemorySegment, long, float[], int, float[], int, int, float[])} with its own lane scratch. */
    public final float dotVector(
            MemorySegment w, long offset, float[] x, int xOffset, float[] sums, int sumsOffset, int count) {
        return dotVector(w, offset, x, xOffset, sums, sumsOffset, count, new float[Lanes.N]);
    }

    private UnsupportedOperationException floatActivations() {
        return new UnsupportedOperationException(
                type + " multiplies activations of form " + activationFormat() + ", not plain floats");
    }

    /**
     * The form its products take the activations in ({@link ActivationFormat}): llama.cpp's {@code vec_dot_type} of
     * the format. Plain floats unless the format says otherwise.
     */
    public ActivationFormat activationFormat() {
        return ActivationFormat.FLOAT;
    }

    /**
     * Scalar twin of {@link #dotVector(MemorySegment, long, Activations, int, float[])}: the same bits. {@code lanes}
     * is scratch of at least {@value Lanes#N} floats.
     */
    public float dotScalar(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        return dotScalar(w, offset, x.x(), token * x.cols(), x.cols());
    }

    /**
     * The product of the row of {@code x.cols()} weights stored from byte {@code offset} with token {@code token} of
     * {@code x}, which must hold {@link #activationFormat()} ({@link Activations#prepare}). {@code lanes} is scratch
     * of at least {@value Lanes#N} floats (one per thread: a kernel allocates nothing).
     */
    public float dotVector(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        return dotVector(w, offset, x.x(), token * x.cols(), x.sums(), token * x.groups(), x.cols(), lanes);
    }

    /**
     * {@code out[t * outStride + r]} = row {@code r} of the rows of {@code rowBytes} bytes in {@code data} times
     * token {@code t} of {@code x}, for rows {@code [rowFrom, rowTo)} and every token: each row read once for all of
     * them, with results bit for bit those of {@link #dotVector(MemorySegment, long, Activations, int, float[])}.
     */
    void multiplyTokens(
            MemorySegment data,
            long rowBytes,
            int rowFrom,
            int rowTo,
            Activations x,
            float[] out,
            int outStride,
            RowScratch scratch) {
        // Every format with its own batches overrides this; K-quant batches run in KQuantProducts.
        throw new UnsupportedOperationException(type + " multiplies batches elsewhere");
    }

    /**
     * The products over this format's interleaved layout ({@link QuantizedMatrix#interleaved}), or null where the
     * format has none and products read the rows as stored.
     */
    InterleavedKernels interleavedKernels() {
        return null;
    }

    /** Whether {@link #quantize} is implemented for this format. */
    public boolean canQuantize() {
        return true;
    }

    /**
     * Quantizes {@code src[srcOffset .. srcOffset + count)} into {@code dst} from byte {@code dstOffset}, as llama.cpp's
     * reference quantizer ({@code quantize_row_*_ref}) does, so files we write behave like theirs.
     *
     * @throws UnsupportedOperationException if the format has no quantizer ({@link #canQuantize()} is false)
     */
    public abstract void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset);

    /** Dequantizes with the kernels {@link Kernels} selects: vector unless forced scalar. */
    public final void dequantize(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        if (Kernels.VECTOR) {
            dequantizeVector(src, offset, dst, dstOffset, count);
        } else {
            dequantizeScalar(src, offset, dst, dstOffset, count);
        }
    }

    /** The dot product with the kernel {@link Kernels} selects. */
    public final float dot(
            MemorySegment w, long offset, float[] x, int xOffset, float[] sums, int sumsOffset, int count) {
        return Kernels.VECTOR
                ? dotVector(w, offset, x, xOffset, sums, sumsOffset, count)
                : dotScalar(w, offset, x, xOffset, count);
    }

    /**
     * Fills {@code sums[sumsOffset + g]} with the sum of {@code x} over each run of {@value #SUM_GROUP} elements of
     * {@code x[xOffset .. xOffset + count)}; a last partial run is summed as far as it goes.
     */
    public static void groupSums(float[] x, int xOffset, int count, float[] sums, int sumsOffset) {
        int groups = (count + SUM_GROUP - 1) / SUM_GROUP;
        for (int g = 0; g < groups; g++) {
            int from = xOffset + g * SUM_GROUP;
            int to = Math.min(from + SUM_GROUP, xOffset + count);
            float s = 0;
            for (int i = from; i < to; i++) {
                s += x[i];
            }
            sums[sumsOffset + g] = s;
        }
    }

    /** Number of sums {@link #groupSums} writes for {@code count} elements. */
    public static int groupCount(int count) {
        return (count + SUM_GROUP - 1) / SUM_GROUP;
    }

    /** Checks that {@code count} is a whole number of blocks. */
    protected final int blocks(int count) {
        int size = type.blockSize();
        if (count < 0 || count % size != 0) {
            throw new IllegalArgumentException(
                    "%d elements are not a whole number of %s blocks of %d".formatted(count, type, size));
        }
        return count / size;
    }
}
