package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.N;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0: blocks of 32 weights, {@code w = d * (q - 8)} with 4-bit {@code q}; products on {@link
 * ActivationFormat#Q8_0} activations ({@link Block32Kernels}).
 *
 * <pre>
 * offset  size  field
 *      0     2  d       half-precision scale
 *      2    16  qs[16]  weight j in the low nibble of qs[j], weight j + 16 in its high nibble
 * </pre>
 */
final class Q4_0Kernels extends Block32Kernels {

    static final int BYTES = 18;

    Q4_0Kernels() {
        super(GgmlType.Q4_0, ActivationFormat.Q8_0);
    }

    @Override
    public void dequantizeScalar(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            float d = Lanes.half(src, o);
            int to = dstOffset + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int q = src.get(BYTE, o + 2 + j) & 0xff;
                dst[to + j] = ((q & 15) - 8) * d;
                dst[to + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    @Override
    public void dequantizeVector(MemorySegment src, long offset, float[] dst, int dstOffset, int count) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            FloatVector d = FloatVector.broadcast(F, Lanes.half(src, o));
            int to = dstOffset + b * BLOCK;
            IntVector v0 = Lanes.unsignedBytes(src, o + 2);
            IntVector v1 = Lanes.unsignedBytes(src, o + 10);
            Lanes.toFloats(v0.and(15).sub(8)).mul(d).intoArray(dst, to);
            Lanes.toFloats(v1.and(15).sub(8)).mul(d).intoArray(dst, to + 8);
            Lanes.toFloats(v0.lanewise(VectorOperators.LSHR, 4).sub(8)).mul(d).intoArray(dst, to + 16);
            Lanes.toFloats(v1.lanewise(VectorOperators.LSHR, 4).sub(8)).mul(d).intoArray(dst, to + 24);
        }
    }

    @Override
    int quant(MemorySegment w, long o, int j) {
        int q = w.get(BYTE, o + 2 + (j & 15)) & 0xff;
        return (j < 16 ? q & 15 : q >>> 4) - 8;
    }

    /**
     * The signed quants of weights {@code 4i + m} in lane {@code i}, from the block's sixteen bytes read as four ints
     * twice ({@link Lanes#twice16}): lanes 0..3 take the low nibbles (weights 0..15), lanes 4..7 the high ones.
     */
    static IntVector nibbles(IntVector twice, int m) {
        return twice.lanewise(VectorOperators.LSHR, Lanes.NIBBLE_SHIFTS.add(8 * m))
                .and(15);
    }

    @Override
    public float dotVector(MemorySegment w, long offset, Activations x, int token, float[] lanes) {
        int cols = x.cols();
        int blocks = blocks(cols);
        float[] q8 = x.q8();
        float[] dx = x.q8Scales();
        float[] offsets = x.q8Offsets();
        int xo = token * cols;
        int so = token * blocks;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            int at = xo + b * BLOCK;
            IntVector twice = Lanes.twice16(w, o + 2);
            // sum((q - 8) * x) as -8 * sum(x) + sum(q * x): the -8 comes with the activations, once per block.
            FloatVector s = FloatVector.fromArray(F, offsets, (so + b) * N);
            for (int m = 0; m < 4; m++) {
                s = Lanes.toFloats(nibbles(twice, m)).fma(FloatVector.fromArray(F, q8, at + N * m), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Lanes.half(w, o) * dx[so + b]), acc);
        }
        return Lanes.sum(acc, lanes);
    }

    @Override
    void decodeQ8(
            MemorySegment w,
            long offset,
            int count,
            float[] q,
            int qOffset,
            float[] scales,
            float[] minimums,
            int sOffset) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * BYTES;
            IntVector twice = Lanes.twice16(w, o + 2);
            for (int m = 0; m < 4; m++) {
                Lanes.toFloats(nibbles(twice, m).sub(8)).intoArray(q, qOffset + b * BLOCK + N * m);
            }
            scales[sOffset + b] = Lanes.half(w, o);
        }
    }

    /** llama.cpp's {@code quantize_row_q4_0_ref}: the largest magnitude maps to -8. */
    @Override
    public void quantize(float[] src, int srcOffset, int count, MemorySegment dst, long dstOffset) {
        int blocks = blocks(count);
        for (int b = 0; b < blocks; b++) {
            int from = srcOffset + b * BLOCK;
            long o = dstOffset + (long) b * BYTES;
            float amax = 0;
            float max = 0;
            for (int j = 0; j < BLOCK; j++) {
                float v = src[from + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            dst.set(LE_SHORT, o, Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                int q0 = Math.min(15, (int) (src[from + j] * id + 8.5f));
                int q1 = Math.min(15, (int) (src[from + j + 16] * id + 8.5f));
                dst.set(BYTE, o + 2 + j, (byte) (q0 | (q1 << 4)));
            }
        }
    }
}
