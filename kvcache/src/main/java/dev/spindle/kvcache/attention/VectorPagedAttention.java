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
 * <p>Each block's K (then V) is converted once into a float scratch array of a few KiB that stays in L1, however many
 * query heads share the KV head; the query heads are then processed in tiles of 8, 4, 2 and 1 so that each loaded
 * vector feeds as many fused multiply-adds as the tile has heads, with the tile's accumulators in registers.
 *
 * <p>No method here takes or returns a vector: every vector lives inside one loop of one method. C2 inlines small
 * methods only while its budgets allow, and a vector that crosses a call it did not inline is boxed on the heap, which
 * made whole configurations ten times slower depending on the order in which methods got compiled.
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
    /** See {@link #halvesToFloats}. */
    private static final int HALF_SIGN_AND_MAGNITUDE = 0x8FFF_FFFF;

    private static final float HALF_EXPONENT_BIAS_FIX = 0x1p112f;

    private final MemorySegment pool;
    private final KvType type;
    /** {@code [headDim][blockSize]}: the current block's K as floats, transposed as stored. */
    private final float[] keys;
    /** {@code [blockSize][headDim]}: the current block's V as floats (valid tokens only). */
    private final float[] values;
    /** {@code [headDim / 32][blockSize]}: the current Q8_0 K block's scales as floats. */
    private final float[] keyScales;

    VectorPagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        super(memory, queryHeads, scale);
        this.pool = memory.segment();
        this.type = layout.shape().type();
        this.keys = new float[headDim * blockSize];
        this.values = new float[blockSize * headDim];
        this.keyScales = new float[Math.max(1, headDim / Q8_BLOCK) * blockSize];
    }

    /** Lanes per float vector the kernels run with. */
    static int lanes() {
        return LANES;
    }

    @Override
    void score(int layer, int block, int kvHead) {
        long at = layout.keyOffset(layer, block, kvHead);
        int count = headDim * blockSize;
        switch (type) {
            case F32 -> MemorySegment.copy(pool, ValueLayout.JAVA_FLOAT_UNALIGNED, at, keys, 0, count);
            case F16 -> halvesToFloats(pool, at, keys, 0, count);
            case Q8_0 -> keysFromQ8(at);
        }
        int h = 0;
        for (; h + 8 <= group; h += 8) {
            scoreEight(h);
        }
        if (h + 4 <= group) {
            scoreFour(h);
            h += 4;
        }
        if (h + 2 <= group) {
            scoreTwo(h);
            h += 2;
        }
        if (h < group) {
            scoreOne(h);
        }
    }

    /** Q8_0 K: the scales of the head block to floats, then every quant times its token's scale of its group. */
    private void keysFromQ8(long at) {
        halvesToFloats(pool, at + layout.keyScalesOffset(), keyScales, 0, keyScales.length);
        int groups = headDim / Q8_BLOCK;
        int groupElements = Q8_BLOCK * blockSize;
        for (int g = 0; g < groups; g++) {
            int scaleRow = g * blockSize;
            int first = g * groupElements;
            // Element (d, t) of the group sits at d * blockSize + t; its scale at scaleRow + t.
            for (int i = 0, t = 0; i < groupElements; i += LANES, t = t + LANES == blockSize ? 0 : t + LANES) {
                int element = first + i;
                FloatVector quants = (FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, at + element, ORDER)
                        .convertShape(VectorOperators.B2F, FLOATS, 0);
                quants.mul(FloatVector.fromArray(FLOATS, keyScales, scaleRow + t))
                        .intoArray(keys, element);
            }
        }
    }

    private void scoreEight(int h) {
        int q = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector s4 = s0;
            FloatVector s5 = s0;
            FloatVector s6 = s0;
            FloatVector s7 = s0;
            for (int d = 0; d < headDim; d++) {
                FloatVector k = FloatVector.fromArray(FLOATS, keys, d * blockSize + c);
                s0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]).fma(k, s0);
                s1 = FloatVector.broadcast(FLOATS, scaledQuery[q + headDim + d]).fma(k, s1);
                s2 = FloatVector.broadcast(FLOATS, scaledQuery[q + 2 * headDim + d])
                        .fma(k, s2);
                s3 = FloatVector.broadcast(FLOATS, scaledQuery[q + 3 * headDim + d])
                        .fma(k, s3);
                s4 = FloatVector.broadcast(FLOATS, scaledQuery[q + 4 * headDim + d])
                        .fma(k, s4);
                s5 = FloatVector.broadcast(FLOATS, scaledQuery[q + 5 * headDim + d])
                        .fma(k, s5);
                s6 = FloatVector.broadcast(FLOATS, scaledQuery[q + 6 * headDim + d])
                        .fma(k, s6);
                s7 = FloatVector.broadcast(FLOATS, scaledQuery[q + 7 * headDim + d])
                        .fma(k, s7);
            }
            int w = h * blockSize + c;
            s0.intoArray(weights, w);
            s1.intoArray(weights, w + blockSize);
            s2.intoArray(weights, w + 2 * blockSize);
            s3.intoArray(weights, w + 3 * blockSize);
            s4.intoArray(weights, w + 4 * blockSize);
            s5.intoArray(weights, w + 5 * blockSize);
            s6.intoArray(weights, w + 6 * blockSize);
            s7.intoArray(weights, w + 7 * blockSize);
        }
    }

    private void scoreFour(int h) {
        int q = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int d = 0; d < headDim; d++) {
                FloatVector k = FloatVector.fromArray(FLOATS, keys, d * blockSize + c);
                s0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]).fma(k, s0);
                s1 = FloatVector.broadcast(FLOATS, scaledQuery[q + headDim + d]).fma(k, s1);
                s2 = FloatVector.broadcast(FLOATS, scaledQuery[q + 2 * headDim + d])
                        .fma(k, s2);
                s3 = FloatVector.broadcast(FLOATS, scaledQuery[q + 3 * headDim + d])
                        .fma(k, s3);
            }
            int w = h * blockSize + c;
            s0.intoArray(weights, w);
            s1.intoArray(weights, w + blockSize);
            s2.intoArray(weights, w + 2 * blockSize);
            s3.intoArray(weights, w + 3 * blockSize);
        }
    }

    private void scoreTwo(int h) {
        int q = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            for (int d = 0; d < headDim; d++) {
                FloatVector k = FloatVector.fromArray(FLOATS, keys, d * blockSize + c);
                s0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]).fma(k, s0);
                s1 = FloatVector.broadcast(FLOATS, scaledQuery[q + headDim + d]).fma(k, s1);
            }
            int w = h * blockSize + c;
            s0.intoArray(weights, w);
            s1.intoArray(weights, w + blockSize);
        }
    }

    private void scoreOne(int h) {
        int q = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            for (int d = 0; d < headDim; d++) {
                FloatVector k = FloatVector.fromArray(FLOATS, keys, d * blockSize + c);
                s0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]).fma(k, s0);
            }
            s0.intoArray(weights, h * blockSize + c);
        }
    }

    @Override
    float rowMax(int row) {
        FloatVector max = FloatVector.fromArray(FLOATS, weights, row);
        for (int c = LANES; c < blockSize; c += LANES) {
            max = max.max(FloatVector.fromArray(FLOATS, weights, row + c));
        }
        return max.reduceLanes(VectorOperators.MAX);
    }

    @Override
    void exponentiate(float[] maxima) {
        expMinus(weights, maxima, group, blockSize);
    }

    /**
     * Replaces each of the {@code rows} rows of {@code length} values (a multiple of the lanes) by {@code exp(value -
     * subtrahends[row])}, each lane exactly as {@link Exp#exp(float)} computes it: same constants, same operations.
     */
    static void expMinus(float[] values, float[] subtrahends, int rows, int length) {
        FloatVector minusLn2High = FloatVector.broadcast(FLOATS, -Exp.LN2_HIGH);
        FloatVector minusLn2Low = FloatVector.broadcast(FLOATS, -Exp.LN2_LOW);
        FloatVector c5 = FloatVector.broadcast(FLOATS, Exp.C5);
        FloatVector c4 = FloatVector.broadcast(FLOATS, Exp.C4);
        FloatVector c3 = FloatVector.broadcast(FLOATS, Exp.C3);
        FloatVector c2 = FloatVector.broadcast(FLOATS, Exp.C2);
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int row = 0; row < rows; row++) {
            float subtrahend = subtrahends[row];
            for (int i = row * length; i < (row + 1) * length; i += LANES) {
                FloatVector x = FloatVector.fromArray(FLOATS, values, i)
                        .sub(subtrahend)
                        .max(Exp.LOWEST)
                        .min(Exp.HIGHEST);
                FloatVector rounded = x.fma(Exp.LOG2_E, Exp.ROUNDER);
                FloatVector n = rounded.sub(Exp.ROUNDER);
                IntVector exponent = ((IntVector) rounded.reinterpretAsInts()).sub(Exp.ROUNDER_BITS);
                FloatVector r = n.fma(minusLn2High, x);
                r = n.fma(minusLn2Low, r);
                FloatVector p = r.fma(Exp.C7, Exp.C6);
                p = p.fma(r, c5);
                p = p.fma(r, c4);
                p = p.fma(r, c3);
                p = p.fma(r, c2);
                p = p.fma(r, one);
                p = p.fma(r, one);
                FloatVector twoToN = (FloatVector)
                        exponent.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
                p.mul(twoToN).intoArray(values, i);
            }
        }
    }

    @Override
    void foldSums(int row, float rescale) {
        FloatVector factor = FloatVector.broadcast(FLOATS, rescale);
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector.fromArray(FLOATS, sums, row + c)
                    .fma(factor, FloatVector.fromArray(FLOATS, weights, row + c))
                    .intoArray(sums, row + c);
        }
    }

    @Override
    void accumulate(int layer, int block, int kvHead, int valid) {
        long at = layout.valueOffset(layer, block, kvHead);
        int count = valid * headDim;
        switch (type) {
            case F32 -> MemorySegment.copy(pool, ValueLayout.JAVA_FLOAT_UNALIGNED, at, values, 0, count);
            case F16 -> halvesToFloats(pool, at, values, 0, count);
            case Q8_0 -> valuesFromQ8(at, valid);
        }
        int h = 0;
        for (; h + 8 <= group; h += 8) {
            accumulateEight(h, valid);
        }
        if (h + 4 <= group) {
            accumulateFour(h, valid);
            h += 4;
        }
        if (h + 2 <= group) {
            accumulateTwo(h, valid);
            h += 2;
        }
        if (h < group) {
            accumulateOne(h, valid);
        }
    }

    /**
     * Q8_0 V rows: each group of 32 quants times its F16 scale. The rows of a head block follow each other, so its
     * first {@code valid} rows are simply its first {@code valid * headDim / 32} Q8_0 blocks.
     */
    private void valuesFromQ8(long at, int valid) {
        int blocks = valid * headDim / Q8_BLOCK;
        for (int b = 0; b < blocks; b++) {
            long q8 = at + (long) b * Q8_BLOCK_BYTES;
            float scale = Float.float16ToFloat(pool.get(SHORT, q8));
            for (int c = 0; c < Q8_BLOCK; c += LANES) {
                FloatVector quants = (FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, q8 + 2 + c, ORDER)
                        .convertShape(VectorOperators.B2F, FLOATS, 0);
                quants.mul(scale).intoArray(values, b * Q8_BLOCK + c);
            }
        }
    }

    private void accumulateEight(int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c).mul(rescale[h]);
            FloatVector o1 =
                    FloatVector.fromArray(FLOATS, accumulator, a + headDim + c).mul(rescale[h + 1]);
            FloatVector o2 = FloatVector.fromArray(FLOATS, accumulator, a + 2 * headDim + c)
                    .mul(rescale[h + 2]);
            FloatVector o3 = FloatVector.fromArray(FLOATS, accumulator, a + 3 * headDim + c)
                    .mul(rescale[h + 3]);
            FloatVector o4 = FloatVector.fromArray(FLOATS, accumulator, a + 4 * headDim + c)
                    .mul(rescale[h + 4]);
            FloatVector o5 = FloatVector.fromArray(FLOATS, accumulator, a + 5 * headDim + c)
                    .mul(rescale[h + 5]);
            FloatVector o6 = FloatVector.fromArray(FLOATS, accumulator, a + 6 * headDim + c)
                    .mul(rescale[h + 6]);
            FloatVector o7 = FloatVector.fromArray(FLOATS, accumulator, a + 7 * headDim + c)
                    .mul(rescale[h + 7]);
            for (int t = 0; t < valid; t++) {
                FloatVector v = FloatVector.fromArray(FLOATS, values, t * headDim + c);
                o0 = FloatVector.broadcast(FLOATS, weights[w + t]).fma(v, o0);
                o1 = FloatVector.broadcast(FLOATS, weights[w + blockSize + t]).fma(v, o1);
                o2 = FloatVector.broadcast(FLOATS, weights[w + 2 * blockSize + t])
                        .fma(v, o2);
                o3 = FloatVector.broadcast(FLOATS, weights[w + 3 * blockSize + t])
                        .fma(v, o3);
                o4 = FloatVector.broadcast(FLOATS, weights[w + 4 * blockSize + t])
                        .fma(v, o4);
                o5 = FloatVector.broadcast(FLOATS, weights[w + 5 * blockSize + t])
                        .fma(v, o5);
                o6 = FloatVector.broadcast(FLOATS, weights[w + 6 * blockSize + t])
                        .fma(v, o6);
                o7 = FloatVector.broadcast(FLOATS, weights[w + 7 * blockSize + t])
                        .fma(v, o7);
            }
            o0.intoArray(accumulator, a + c);
            o1.intoArray(accumulator, a + headDim + c);
            o2.intoArray(accumulator, a + 2 * headDim + c);
            o3.intoArray(accumulator, a + 3 * headDim + c);
            o4.intoArray(accumulator, a + 4 * headDim + c);
            o5.intoArray(accumulator, a + 5 * headDim + c);
            o6.intoArray(accumulator, a + 6 * headDim + c);
            o7.intoArray(accumulator, a + 7 * headDim + c);
        }
    }

    private void accumulateFour(int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c).mul(rescale[h]);
            FloatVector o1 =
                    FloatVector.fromArray(FLOATS, accumulator, a + headDim + c).mul(rescale[h + 1]);
            FloatVector o2 = FloatVector.fromArray(FLOATS, accumulator, a + 2 * headDim + c)
                    .mul(rescale[h + 2]);
            FloatVector o3 = FloatVector.fromArray(FLOATS, accumulator, a + 3 * headDim + c)
                    .mul(rescale[h + 3]);
            for (int t = 0; t < valid; t++) {
                FloatVector v = FloatVector.fromArray(FLOATS, values, t * headDim + c);
                o0 = FloatVector.broadcast(FLOATS, weights[w + t]).fma(v, o0);
                o1 = FloatVector.broadcast(FLOATS, weights[w + blockSize + t]).fma(v, o1);
                o2 = FloatVector.broadcast(FLOATS, weights[w + 2 * blockSize + t])
                        .fma(v, o2);
                o3 = FloatVector.broadcast(FLOATS, weights[w + 3 * blockSize + t])
                        .fma(v, o3);
            }
            o0.intoArray(accumulator, a + c);
            o1.intoArray(accumulator, a + headDim + c);
            o2.intoArray(accumulator, a + 2 * headDim + c);
            o3.intoArray(accumulator, a + 3 * headDim + c);
        }
    }

    private void accumulateTwo(int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c).mul(rescale[h]);
            FloatVector o1 =
                    FloatVector.fromArray(FLOATS, accumulator, a + headDim + c).mul(rescale[h + 1]);
            for (int t = 0; t < valid; t++) {
                FloatVector v = FloatVector.fromArray(FLOATS, values, t * headDim + c);
                o0 = FloatVector.broadcast(FLOATS, weights[w + t]).fma(v, o0);
                o1 = FloatVector.broadcast(FLOATS, weights[w + blockSize + t]).fma(v, o1);
            }
            o0.intoArray(accumulator, a + c);
            o1.intoArray(accumulator, a + headDim + c);
        }
    }

    private void accumulateOne(int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c).mul(rescale[h]);
            for (int t = 0; t < valid; t++) {
                FloatVector v = FloatVector.fromArray(FLOATS, values, t * headDim + c);
                o0 = FloatVector.broadcast(FLOATS, weights[w + t]).fma(v, o0);
            }
            o0.intoArray(accumulator, a + c);
        }
    }

    /**
     * Converts {@code count} (a multiple of the lanes) F16 values at {@code offset} to floats in {@code out}, exactly
     * for every finite half (the write path stores no others). The sign-extended half shifted left by 13 has the sign
     * in bit 31, three copies of it in bits 30..28, then the 5-bit exponent and the 10-bit mantissa exactly where a
     * float keeps the low bits of its exponent and the top of its mantissa; clearing bits 30..28 and multiplying by
     * 2^112 rebiases the exponent (15 to 127). Subnormal halves land on subnormal floats and scale exactly too.
     */
    static void halvesToFloats(MemorySegment segment, long offset, float[] out, int at, int count) {
        for (int i = 0; i < count; i += LANES) {
            ShortVector halves = ShortVector.fromMemorySegment(HALVES, segment, offset + 2L * i, ORDER);
            IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0);
            bits = bits.lanewise(VectorOperators.LSHL, 13).and(HALF_SIGN_AND_MAGNITUDE);
            ((FloatVector) bits.reinterpretAsFloats())
                    .mul(HALF_EXPONENT_BIAS_FIX)
                    .intoArray(out, at + i);
        }
    }
}
