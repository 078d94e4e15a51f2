package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.I;
import static dev.spindle.quant.Lanes.LE;
import static dev.spindle.quant.Lanes.N;
import static dev.spindle.quant.Lanes.S128;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * F16: IEEE half precision, two bytes an element.
 *
 * <p>The Vector API of JDK 25 has no half-precision conversion, so the vector kernels convert eight halves at a time
 * with integer operations, exactly as {@link Float#float16ToFloat} does. The sign-extended half shifted left by 13 has
 * the sign in bit 31, copies of it in bits 30..28, and the 5-bit exponent and 10-bit mantissa exactly where a float
 * keeps the low bits of its exponent and the top of its mantissa. Clearing bits 30..28 leaves a float whose exponent
 * is short by {@code 127 - 15 = 112}; multiplying by 2^112 fixes it, and turns half subnormals into float normals for
 * free. Infinities and NaNs (exponent 31) take the float's all-ones exponent before the multiply, which leaves an
 * infinity as it is and quiets a signalling NaN as {@link Float#float16ToFloat} does.
 *
 * <p>The vector kernels call nothing but the Vector API (see {@link F32Kernels}): the conversion is written out where
 * it is used. (Skipping the infinity lanes and redoing the rare row that has one measured slower: the check costs as
 * much as the blend.)
 */
final class F16Kernels extends TypeKernels {

    /** Bits kept of a sign-extended half shifted left by 13: the sign, the exponent and the mantissa. */
    private static final int SIGN_EXPONENT_MANTISSA = 0x8fff_e000;

    /** The half's exponent as it lies in those bits. */
    private static final int EXPONENT = 0x0f80_0000;

    private static final float EXPONENT_BIAS_FIX = 0x1p112f;

    F16Kernels() {
        super(GgmlType.F16);
    }

    /**
     * Whether products of rows of {@code cols} halves take the activations rounded to halves, as llama.cpp's do on
     * x86 with AVX2: tinyBLAS takes every F16 product whose row length is a multiple of 8, with float activations;
     * the others fall to {@code ggml_vec_dot_f16} on activations converted to F16 ({@link #dotHalves}).
     */
    static boolean roundsToHalves(int cols) {
        return cols % 8 != 0;
    }

    @Override
    public ActivationFormat activationFormat() {
        return ActivationFormat.F16;
    }

    /**
     * The product of a row of halves with {@code x[xOffset .. xOffset + count)} rounded to halves, in the order of
     * {@code ggml_vec_dot_f16} as llama.cpp's AVX2 build runs it (for row lengths that are not a multiple of 8; see
     * {@link #roundsToHalves}). Every product of two halves is exact in float, so only the additions round, and they
     * are ggml's: runs of 32 elements feed four 8-lane accumulators (accumulator {@code j} lane {@code l} takes
     * element {@code 32m + 8j + l}, one fused multiply-add each); after the last whole run the accumulators are added
     * lane-wise as {@code (a0 + a2) + (a1 + a3)}, the eight lanes as {@code ((l0 + l4) + (l1 + l5)) + ((l2 + l6) +
     * (l3 + l7))} (two horizontal adds); that float goes into a double, the remaining {@code count % 32} products are
     * added to it in double, and the double is rounded to float.
     *
     * <p>Scalar code, its own twin: only such odd row lengths (small models) take it. Allocates nothing: each of the
     * 32 accumulators is one chain ({@link #chain}) computed where the reduction needs it.
     */
    static float dotHalves(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        int whole = count & ~31;
        float l0 = lane(w, offset, x, xOffset, whole, 0);
        float l1 = lane(w, offset, x, xOffset, whole, 1);
        float l2 = lane(w, offset, x, xOffset, whole, 2);
        float l3 = lane(w, offset, x, xOffset, whole, 3);
        float l4 = lane(w, offset, x, xOffset, whole, 4);
        float l5 = lane(w, offset, x, xOffset, whole, 5);
        float l6 = lane(w, offset, x, xOffset, whole, 6);
        float l7 = lane(w, offset, x, xOffset, whole, 7);
        double sum = ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7));
        for (int i = whole; i < count; i++) {
            sum += Float.float16ToFloat(w.get(LE_SHORT, offset + 2L * i)) * half(x[xOffset + i]);
        }
        return (float) sum;
    }

    /** Lane {@code l} after ggml's lane-wise reduction of its four accumulators: {@code (a0 + a2) + (a1 + a3)}. */
    private static float lane(MemorySegment w, long offset, float[] x, int xOffset, int whole, int l) {
        return (chain(w, offset, x, xOffset, whole, l) + chain(w, offset, x, xOffset, whole, 16 + l))
                + (chain(w, offset, x, xOffset, whole, 8 + l) + chain(w, offset, x, xOffset, whole, 24 + l));
    }

    /** Accumulator slot {@code e} (accumulator {@code e / 8}, lane {@code e % 8}): elements {@code e, e + 32, ...}. */
    private static float chain(MemorySegment w, long offset, float[] x, int xOffset, int whole, int e) {
        float a = 0;
        for (int i = e; i < whole; i += 32) {
            a = Math.fma(Float.float16ToFloat(w.get(LE_SHORT, offset + 2L * i)), half(x[xOffset + i]), a);
        }
        return a;
    }

    private static float half(float x) {
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(src.get(LE_SHORT, offset + 2L * i));
        }
    }

    /**
     * The reference loop itself: C2 compiles a loop of {@link Float#float16ToFloat} to the hardware's conversion (x86
     * F16C {@code vcvtph2ps}, eight halves an instruction), which the Vector API cannot express. Measured 2.5x faster
     * than the integer conversion of {@link #dotVector}; it matters where rows are converted once for several tokens.
     */
    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(src.get(LE_SHORT, offset + 2L * i));
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        if (roundsToHalves(count)) {
            return dotHalves(w, offset, x, xOffset, count);
        }
        float sum = 0;
        for (int i = 0; i < count; i++) {
            sum += Float.float16ToFloat(w.get(LE_SHORT, offset + 2L * i)) * x[xOffset + i];
        }
        return sum;
    }

    @Override
    public float dotVector(
            MemorySegment w,
            long offset,
            float[] x,
            int xOffset,
            float[] sums,
            int sumsOffset,
            int count,
            float[] lanes) {
        if (roundsToHalves(count)) {
            return dotHalves(w, offset, x, xOffset, count);
        }
        // The order of TokenDots.denseOne: 8-lane chunks go to two accumulators in turn, so that FMAs do not wait on
        // one another.
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int bound = count - 2 * N + 1; // see TokenDots.denseOne
        int i = 0;
        for (; i < bound; i += 2 * N) {
            IntVector bits0 = ((IntVector) ShortVector.fromMemorySegment(S128, w, offset + 2L * i, LE)
                            .convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA);
            IntVector bits1 = ((IntVector) ShortVector.fromMemorySegment(S128, w, offset + 2L * (i + N), LE)
                            .convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA);
            bits0 = bits0.blend(bits0.or(0x7f80_0000), bits0.and(EXPONENT).compare(VectorOperators.EQ, EXPONENT));
            FloatVector w0 = ((FloatVector) bits0.reinterpretAsFloats()).mul(EXPONENT_BIAS_FIX);
            bits1 = bits1.blend(bits1.or(0x7f80_0000), bits1.and(EXPONENT).compare(VectorOperators.EQ, EXPONENT));
            FloatVector w1 = ((FloatVector) bits1.reinterpretAsFloats()).mul(EXPONENT_BIAS_FIX);
            a0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xOffset + i + N), a1);
        }
        if (i + N <= count) {
            // Rows of model matrices never end here (their lengths are multiples of 16): the chunk goes through lanes.
            for (int k = 0; k < N; k++) {
                lanes[k] = Float.float16ToFloat(w.get(LE_SHORT, offset + 2L * (i + k)));
            }
            a0 = FloatVector.fromArray(F, lanes, 0).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            i += N;
        }
        a0.add(a1).intoArray(lanes, 0);
        float sum = Lanes.sumStored(lanes);
        for (; i < count; i++) {
            sum += Float.float16ToFloat(w.get(LE_SHORT, offset + 2L * i)) * x[xOffset + i];
        }
        return sum;
    }

    /** Two rows at a time by four tokens: {@link TokenDots#denseRows}. */
    @Override
    void multiplyTokens(
            MemorySegment data,
            long rowBytes,
            int rowFrom,
            int rowTo,
            Activations x,
            float[] out,
            int outStride,
            RowScratch scratch) {
        int cols = x.cols();
        if (roundsToHalves(cols)) {
            // ggml's vec_dot order per (row, token), as one token alone computes it: batch invariance by construction.
            for (int r = rowFrom; r < rowTo; r++) {
                for (int t = 0; t < x.tokens(); t++) {
                    out[t * outStride + r] = dotHalves(data, r * rowBytes, x.x(), t * cols, cols);
                }
            }
            return;
        }
        TokenDots.denseRows(this, data, rowBytes, outStride, x, out, rowFrom, rowTo, scratch);
    }

    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        for (int i = 0; i < count; i++) {
            dst.set(LE_SHORT, dstOffset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
        }
    }
}
