package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.I;
import static dev.spindle.quant.Lanes.LE;
import static dev.spindle.quant.Lanes.N;
import static dev.spindle.quant.Lanes.S128;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * BF16: the upper half of an IEEE single, two bytes an element.
 *
 * <p>The vector kernels call nothing but the Vector API (see {@link F32Kernels}): the conversion is written out where
 * it is used.
 */
final class Bf16Kernels extends TypeKernels {

    Bf16Kernels() {
        super(GgmlType.BF16);
    }

    static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    /** Rounds to nearest even as ggml does; a NaN stays a (quiet) NaN. */
    static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fff_ffff) > 0x7f80_0000) {
            return (short) ((bits >>> 16) | 64);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = toFloat(src.get(LE_SHORT, offset + 2L * i));
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int bound = count - N + 1; // see TokenDots.denseOne
        int i = 0;
        for (; i < bound; i += N) {
            ShortVector halves = ShortVector.fromMemorySegment(S128, src, offset + 2L * i, LE);
            halves.convertShape(VectorOperators.S2I, I, 0)
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats()
                    .intoArray(dst, dstOffset + i);
        }
        for (; i < count; i++) {
            dst[dstOffset + i] = toFloat(src.get(LE_SHORT, offset + 2L * i));
        }
    }

    @Override
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        float sum = 0;
        for (int i = 0; i < count; i++) {
            sum += toFloat(w.get(LE_SHORT, offset + 2L * i)) * x[xOffset + i];
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
            ShortVector h0 = ShortVector.fromMemorySegment(S128, w, offset + 2L * i, LE);
            ShortVector h1 = ShortVector.fromMemorySegment(S128, w, offset + 2L * (i + N), LE);
            FloatVector w0 = (FloatVector) h0.convertShape(VectorOperators.S2I, I, 0)
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            FloatVector w1 = (FloatVector) h1.convertShape(VectorOperators.S2I, I, 0)
                    .lanewise(VectorOperators.LSHL, 16)
                    .reinterpretAsFloats();
            a0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xOffset + i + N), a1);
        }
        if (i + N <= count) {
            // Rows of model matrices never end here (their lengths are multiples of 16): the chunk goes through lanes.
            for (int k = 0; k < N; k++) {
                lanes[k] = toFloat(w.get(LE_SHORT, offset + 2L * (i + k)));
            }
            a0 = FloatVector.fromArray(F, lanes, 0).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            i += N;
        }
        a0.add(a1).intoArray(lanes, 0);
        float sum = Lanes.sumStored(lanes);
        for (; i < count; i++) {
            sum += toFloat(w.get(LE_SHORT, offset + 2L * i)) * x[xOffset + i];
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
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        for (int i = 0; i < count; i++) {
            dst.set(LE_SHORT, dstOffset + 2L * i, fromFloat(src[srcOffset + i]));
        }
    }
}
