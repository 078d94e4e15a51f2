package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/** F16: IEEE half precision, two bytes an element. */
final class F16Kernels extends TypeKernels {

    F16Kernels() {
        super(GgmlType.F16);
    }

    /**
     * Eight halves as floats, exactly as {@link Float#float16ToFloat} converts them (the Vector API of JDK 25 has no
     * half-precision conversion). Exponent and mantissa move up 13 bits into a float whose exponent is then off by
     * {@code 127 - 15 = 112}; multiplying by 2^112 fixes it and turns half subnormals into float normals for free.
     * Infinities and NaNs (half exponent 31) get the float's all-ones exponent instead.
     */
    static FloatVector halvesToFloats(IntVector signExtendedHalves) {
        IntVector magnitude = signExtendedHalves.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7c00);
        IntVector bits = finite.blend(shifted.or(0x7f80_0000), special);
        return bits.or(signExtendedHalves.and(0x8000_0000)).reinterpretAsFloats();
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(src.get(LE_SHORT, offset + 2L * i));
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int i = 0;
        for (; i + N <= count; i += N) {
            load(src, offset, i).intoArray(dst, dstOffset + i);
        }
        for (; i < count; i++) {
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
        // The order of TokenDots.denseOne: two accumulators, so that FMAs do not wait on one another.
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * N <= count; i += 2 * N) {
            a0 = load(w, offset, i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = load(w, offset, i + N).fma(FloatVector.fromArray(F, x, xOffset + i + N), a1);
        }
        if (i + N <= count) {
            a0 = load(w, offset, i).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            i += N;
        }
        float sum = Lanes.sum(a0.add(a1), lanes);
        for (; i < count; i++) {
            sum += Float.float16ToFloat(w.get(LE_SHORT, offset + 2L * i)) * x[xOffset + i];
        }
        return sum;
    }

    private static FloatVector load(MemorySegment w, long offset, int i) {
        return halvesToFloats(Lanes.shorts(w, offset + 2L * i));
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
