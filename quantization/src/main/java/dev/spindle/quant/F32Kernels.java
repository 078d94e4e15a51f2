package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.LE;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * F32: IEEE single precision, little-endian, four bytes an element.
 *
 * <p>The vector kernel calls nothing but the Vector API, whose methods C2 always inlines: a vector passed to or
 * returned from one of our own methods is boxed on the heap whenever C2 leaves that call out of line, which depends
 * on the order in which it compiles them.
 */
final class F32Kernels extends TypeKernels {

    F32Kernels() {
        super(GgmlType.F32);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        for (int i = 0; i < count; i++) {
            dst[dstOffset + i] = src.get(LE_FLOAT, offset + 4L * i);
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        MemorySegment.copy(src, LE_FLOAT, offset, dst, dstOffset, count);
    }

    @Override
    public float dotScalar(MemorySegment w, long offset, float[] x, int xOffset, int count) {
        float sum = 0;
        for (int i = 0; i < count; i++) {
            sum += w.get(LE_FLOAT, offset + 4L * i) * x[xOffset + i];
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
            a0 = FloatVector.fromMemorySegment(F, w, offset + 4L * i, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = FloatVector.fromMemorySegment(F, w, offset + 4L * (i + N), LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i + N), a1);
        }
        if (i + N <= count) {
            a0 = FloatVector.fromMemorySegment(F, w, offset + 4L * i, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            i += N;
        }
        a0.add(a1).intoArray(lanes, 0);
        float sum = Lanes.sumStored(lanes);
        for (; i < count; i++) {
            sum += w.get(LE_FLOAT, offset + 4L * i) * x[xOffset + i];
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
        MemorySegment.copy(src, srcOffset, dst, LE_FLOAT, dstOffset, count);
    }
}
