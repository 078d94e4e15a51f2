package dev.spindle.kvcache.attention;

import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Paged attention with the Vector API. Lanes run along tokens when scoring (K is stored transposed, so one load is
 * one dimension of consecutive tokens and each query element is broadcast) and along the head dimension when
 * accumulating V, so no step needs a horizontal sum and every lane performs exactly the scalar twin's sequence of
 * operations.
 *
 * <p>Each block's K and V are first converted to floats in small scratch arrays (a few KiB, in L1), once per block,
 * however many query heads share the KV head; the query heads are then processed four at a time so that each loaded
 * K or V vector feeds four fused multiply-adds.
 */
final class VectorPagedAttention extends PagedAttention {

    /** Float lanes per vector: 16 where the hardware has 512-bit vectors, else 8. */
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
                    && !"256".equals(System.getProperty("spindle.attention.bits"))
            ? FloatVector.SPECIES_512
            : FloatVector.SPECIES_256;

    private static final int LANES = FLOATS.length();
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED.withShape(FLOATS.vectorShape());
    private static final VectorSpecies<Short> HALVES =
            ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(LANES * Short.SIZE));
    private static final VectorSpecies<Byte> QUANTS =
            ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(LANES * Byte.SIZE));
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int Q8_BLOCK = 32;
    private static final int Q8_BLOCK_BYTES = 34;
    private static final int HALF_SIGN_AND_MAGNITUDE = 0x8FFF_FFFF;
    private static final float HALF_EXPONENT_BIAS_FIX = 0x1p112f;

    private final MemorySegment pool;
    private final KvType type;
    /** {@code [headDim / 32][blockSize]}: the current Q8_0 K block's scales as floats. */
    private final float[] keyScales;

    VectorPagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        super(memory, queryHeads, scale);
        this.pool = memory.segment();
        this.type = layout.shape().type();
        this.keyScales = new float[Math.max(1, headDim / Q8_BLOCK) * blockSize];
    }

    /** Lanes per float vector the kernels run with. */
    static int lanes() {
        return LANES;
    }

    @Override
    void loadKeys(int layer, int block, int kvHead) {
        long at = layout.keyOffset(layer, block, kvHead);
        int count = headDim * blockSize;
        switch (type) {
            case F32 -> MemorySegment.copy(pool, ValueLayout.JAVA_FLOAT_UNALIGNED, at, keys, 0, count);
            case F16 -> {
                for (int i = 0; i < count; i += LANES) {
                    halfToFloat(ShortVector.fromMemorySegment(HALVES, pool, at + 2L * i, ORDER))
                            .intoArray(keys, i);
                }
            }
            case Q8_0 -> {
                long scales = at + layout.keyScalesOffset();
                for (int i = 0; i < keyScales.length; i += LANES) {
                    halfToFloat(ShortVector.fromMemorySegment(HALVES, pool, scales + 2L * i, ORDER))
                            .intoArray(keyScales, i);
                }
                for (int d = 0; d < headDim; d++) {
                    int scaleRow = (d / Q8_BLOCK) * blockSize;
                    for (int c = 0; c < blockSize; c += LANES) {
                        FloatVector quants = (FloatVector)
                                ByteVector.fromMemorySegment(QUANTS, pool, at + (long) d * blockSize + c, ORDER)
                                        .convertShape(VectorOperators.B2F, FLOATS, 0);
                        quants.mul(FloatVector.fromArray(FLOATS, keyScales, scaleRow + c))
                                .intoArray(keys, d * blockSize + c);
                    }
                }
            }
        }
    }

    @Override
    void loadValues(int layer, int block, int kvHead, int valid) {
        long at = layout.valueOffset(layer, block, kvHead);
        int count = valid * headDim;
        switch (type) {
            case F32 -> MemorySegment.copy(pool, ValueLayout.JAVA_FLOAT_UNALIGNED, at, values, 0, count);
            case F16 -> {
                for (int i = 0; i < count; i += LANES) {
                    halfToFloat(ShortVector.fromMemorySegment(HALVES, pool, at + 2L * i, ORDER))
                            .intoArray(values, i);
                }
            }
            case Q8_0 -> {
                long rowBytes = layout.rowBytes();
                for (int t = 0; t < valid; t++) {
                    for (int g = 0; g < headDim / Q8_BLOCK; g++) {
                        long q8 = at + t * rowBytes + (long) g * Q8_BLOCK_BYTES;
                        float scale = Float.float16ToFloat(pool.get(SHORT, q8));
                        for (int c = 0; c < Q8_BLOCK; c += LANES) {
                            FloatVector quants =
                                    (FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, q8 + 2 + c, ORDER)
                                            .convertShape(VectorOperators.B2F, FLOATS, 0);
                            quants.mul(scale).intoArray(values, t * headDim + g * Q8_BLOCK + c);
                        }
                    }
                }
            }
        }
    }

    @Override
    void score() {
        int h = 0;
        for (; h + 4 <= group; h += 4) {
            scoreFour(h);
        }
        for (; h < group; h++) {
            scoreOne(h);
        }
    }

    private void scoreFour(int h) {
        int q0 = h * headDim;
        int q1 = q0 + headDim;
        int q2 = q1 + headDim;
        int q3 = q2 + headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int d = 0; d < headDim; d++) {
                FloatVector k = FloatVector.fromArray(FLOATS, keys, d * blockSize + c);
                s0 = FloatVector.broadcast(FLOATS, scaledQuery[q0 + d]).fma(k, s0);
                s1 = FloatVector.broadcast(FLOATS, scaledQuery[q1 + d]).fma(k, s1);
                s2 = FloatVector.broadcast(FLOATS, scaledQuery[q2 + d]).fma(k, s2);
                s3 = FloatVector.broadcast(FLOATS, scaledQuery[q3 + d]).fma(k, s3);
            }
            s0.intoArray(weights, h * blockSize + c);
            s1.intoArray(weights, (h + 1) * blockSize + c);
            s2.intoArray(weights, (h + 2) * blockSize + c);
            s3.intoArray(weights, (h + 3) * blockSize + c);
        }
    }

    private void scoreOne(int h) {
        int q0 = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            for (int d = 0; d < headDim; d++) {
                FloatVector k = FloatVector.fromArray(FLOATS, keys, d * blockSize + c);
                s0 = FloatVector.broadcast(FLOATS, scaledQuery[q0 + d]).fma(k, s0);
            }
            s0.intoArray(weights, h * blockSize + c);
        }
    }

    @Override
    void exponentiate(int row, float max) {
        for (int c = 0; c < blockSize; c += LANES) {
            Exp.exp(FloatVector.fromArray(FLOATS, weights, row + c).sub(max)).intoArray(weights, row + c);
        }
    }

    @Override
    void accumulate(int valid) {
        int h = 0;
        for (; h + 4 <= group; h += 4) {
            accumulateFour(h, valid);
        }
        for (; h < group; h++) {
            accumulateOne(h, valid);
        }
    }

    private void accumulateFour(int h, int valid) {
        int w0 = h * blockSize;
        int w1 = w0 + blockSize;
        int w2 = w1 + blockSize;
        int w3 = w2 + blockSize;
        int a0 = h * headDim;
        int a1 = a0 + headDim;
        int a2 = a1 + headDim;
        int a3 = a2 + headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a0 + c).mul(rescale[h]);
            FloatVector o1 = FloatVector.fromArray(FLOATS, accumulator, a1 + c).mul(rescale[h + 1]);
            FloatVector o2 = FloatVector.fromArray(FLOATS, accumulator, a2 + c).mul(rescale[h + 2]);
            FloatVector o3 = FloatVector.fromArray(FLOATS, accumulator, a3 + c).mul(rescale[h + 3]);
            for (int t = 0; t < valid; t++) {
                FloatVector v = FloatVector.fromArray(FLOATS, values, t * headDim + c);
                o0 = FloatVector.broadcast(FLOATS, weights[w0 + t]).fma(v, o0);
                o1 = FloatVector.broadcast(FLOATS, weights[w1 + t]).fma(v, o1);
                o2 = FloatVector.broadcast(FLOATS, weights[w2 + t]).fma(v, o2);
                o3 = FloatVector.broadcast(FLOATS, weights[w3 + t]).fma(v, o3);
            }
            o0.intoArray(accumulator, a0 + c);
            o1.intoArray(accumulator, a1 + c);
            o2.intoArray(accumulator, a2 + c);
            o3.intoArray(accumulator, a3 + c);
        }
    }

    private void accumulateOne(int h, int valid) {
        int w0 = h * blockSize;
        int a0 = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a0 + c).mul(rescale[h]);
            for (int t = 0; t < valid; t++) {
                FloatVector v = FloatVector.fromArray(FLOATS, values, t * headDim + c);
                o0 = FloatVector.broadcast(FLOATS, weights[w0 + t]).fma(v, o0);
            }
            o0.intoArray(accumulator, a0 + c);
        }
    }

    /**
     * Exact F16 to F32 conversion of every finite half (the write path stores no others): the half's bits, shifted
     * into a float's layout with its 5-bit exponent in the low bits of the 8-bit one, read as a float and multiplied
     * by 2^112 to rebias the exponent (15 to 127). Subnormal halves land on subnormal floats and scale exactly too.
     */
    static FloatVector halfToFloat(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0);
        bits = bits.lanewise(VectorOperators.LSHL, 16)
                .lanewise(VectorOperators.ASHR, 3)
                .and(HALF_SIGN_AND_MAGNITUDE);
        return ((FloatVector) bits.reinterpretAsFloats()).mul(HALF_EXPONENT_BIAS_FIX);
    }
}
