package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** BF16: the upper half of an IEEE single, two bytes an element. */
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
        int i = 0;
        for (; i + N <= count; i += N) {
            load(src, offset, i).intoArray(dst, dstOffset + i);
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
            sum += toFloat(w.get(LE_SHORT, offset + 2L * i)) * x[xOffset + i];
        }
        return sum;
    }

    private static FloatVector load(MemorySegment w, long offset, int i) {
        return Lanes.shorts(w, offset + 2L * i)
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    @Override
    void decode(MemorySegment w, long offset, int count, RowScratch row) {
        dequantizeVector(w, offset, row.q, 0, count);
        row.blockLength = 0;
    }

    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        for (int i = 0; i < count; i++) {
            dst.set(LE_SHORT, dstOffset + 2L * i, fromFloat(src[srcOffset + i]));
        }
    }
}
