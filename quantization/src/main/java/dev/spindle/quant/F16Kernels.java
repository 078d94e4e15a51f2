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
        TokenDots.denseRows(this, data, rowBytes, outStride, x, out, rowFrom, rowTo, scratch);
    }

    @Override
    void decode(MemorySegment w, long offset, int count, RowScratch row) {
        dequantizeVector(w, offset, row.q, 0, count);
        row.blockLength = 0;
    }

    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        for (int i = 0; i < count; i++) {
            dst.set(LE_SHORT, dstOffset + 2L * i, Float.floatToFloat16(src[srcOffset + i]));
        }
    }
}
