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
 * <p>K and V are converted to floats as they are loaded, once per block however many query heads share the KV head:
 * query heads are processed in tiles of 8, 4, 2 and 1 so that each converted K or V vector feeds as many fused
 * multiply-adds as there are heads in the tile, with the tile's accumulators held in registers.
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
    private final long rowBytes;
    private final long keyScales;
    /** Dimensions sharing one K scale: 32 for Q8_0; the whole head for the float types, which have none. */
    private final int scaleGroup;

    VectorPagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        super(memory, queryHeads, scale);
        this.pool = memory.segment();
        this.type = layout.shape().type();
        this.rowBytes = layout.rowBytes();
        this.keyScales = layout.keyScalesOffset();
        this.scaleGroup = type == KvType.Q8_0 ? Q8_BLOCK : headDim;
    }

    /** Lanes per float vector the kernels run with. */
    static int lanes() {
        return LANES;
    }

    @Override
    void score(int layer, int block, int kvHead) {
        long at = layout.keyOffset(layer, block, kvHead);
        int h = 0;
        for (; h + 8 <= group; h += 8) {
            scoreEight(at, h);
        }
        if (h + 4 <= group) {
            scoreFour(at, h);
            h += 4;
        }
        if (h + 2 <= group) {
            scoreTwo(at, h);
            h += 2;
        }
        if (h < group) {
            scoreOne(at, h);
        }
    }

    private void scoreEight(long at, int h) {
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
            for (int g = 0; g < headDim; g += scaleGroup) {
                FloatVector scale = keyScale(at, g, c);
                for (int d = g; d < g + scaleGroup; d++) {
                    FloatVector k = keyChunk(at, d, c, scale);
                    s0 = broadcast(q + d).fma(k, s0);
                    s1 = broadcast(q + headDim + d).fma(k, s1);
                    s2 = broadcast(q + 2 * headDim + d).fma(k, s2);
                    s3 = broadcast(q + 3 * headDim + d).fma(k, s3);
                    s4 = broadcast(q + 4 * headDim + d).fma(k, s4);
                    s5 = broadcast(q + 5 * headDim + d).fma(k, s5);
                    s6 = broadcast(q + 6 * headDim + d).fma(k, s6);
                    s7 = broadcast(q + 7 * headDim + d).fma(k, s7);
                }
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

    private void scoreFour(long at, int h) {
        int q = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int g = 0; g < headDim; g += scaleGroup) {
                FloatVector scale = keyScale(at, g, c);
                for (int d = g; d < g + scaleGroup; d++) {
                    FloatVector k = keyChunk(at, d, c, scale);
                    s0 = broadcast(q + d).fma(k, s0);
                    s1 = broadcast(q + headDim + d).fma(k, s1);
                    s2 = broadcast(q + 2 * headDim + d).fma(k, s2);
                    s3 = broadcast(q + 3 * headDim + d).fma(k, s3);
                }
            }
            int w = h * blockSize + c;
            s0.intoArray(weights, w);
            s1.intoArray(weights, w + blockSize);
            s2.intoArray(weights, w + 2 * blockSize);
            s3.intoArray(weights, w + 3 * blockSize);
        }
    }

    private void scoreTwo(long at, int h) {
        int q = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            for (int g = 0; g < headDim; g += scaleGroup) {
                FloatVector scale = keyScale(at, g, c);
                for (int d = g; d < g + scaleGroup; d++) {
                    FloatVector k = keyChunk(at, d, c, scale);
                    s0 = broadcast(q + d).fma(k, s0);
                    s1 = broadcast(q + headDim + d).fma(k, s1);
                }
            }
            int w = h * blockSize + c;
            s0.intoArray(weights, w);
            s1.intoArray(weights, w + blockSize);
        }
    }

    private void scoreOne(long at, int h) {
        int q = h * headDim;
        for (int c = 0; c < blockSize; c += LANES) {
            FloatVector s0 = FloatVector.zero(FLOATS);
            for (int g = 0; g < headDim; g += scaleGroup) {
                FloatVector scale = keyScale(at, g, c);
                for (int d = g; d < g + scaleGroup; d++) {
                    s0 = broadcast(q + d).fma(keyChunk(at, d, c, scale), s0);
                }
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
    void exponentiate(int row, float max) {
        for (int c = 0; c < blockSize; c += LANES) {
            Exp.exp(FloatVector.fromArray(FLOATS, weights, row + c).sub(max)).intoArray(weights, row + c);
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
        int h = 0;
        for (; h + 8 <= group; h += 8) {
            accumulateEight(at, h, valid);
        }
        if (h + 4 <= group) {
            accumulateFour(at, h, valid);
            h += 4;
        }
        if (h + 2 <= group) {
            accumulateTwo(at, h, valid);
            h += 2;
        }
        if (h < group) {
            accumulateOne(at, h, valid);
        }
    }

    private void accumulateEight(long at, int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = rescaled(a, c, h);
            FloatVector o1 = rescaled(a + headDim, c, h + 1);
            FloatVector o2 = rescaled(a + 2 * headDim, c, h + 2);
            FloatVector o3 = rescaled(a + 3 * headDim, c, h + 3);
            FloatVector o4 = rescaled(a + 4 * headDim, c, h + 4);
            FloatVector o5 = rescaled(a + 5 * headDim, c, h + 5);
            FloatVector o6 = rescaled(a + 6 * headDim, c, h + 6);
            FloatVector o7 = rescaled(a + 7 * headDim, c, h + 7);
            for (int t = 0; t < valid; t++) {
                FloatVector v = valueChunk(at, t, c);
                o0 = weight(w + t).fma(v, o0);
                o1 = weight(w + blockSize + t).fma(v, o1);
                o2 = weight(w + 2 * blockSize + t).fma(v, o2);
                o3 = weight(w + 3 * blockSize + t).fma(v, o3);
                o4 = weight(w + 4 * blockSize + t).fma(v, o4);
                o5 = weight(w + 5 * blockSize + t).fma(v, o5);
                o6 = weight(w + 6 * blockSize + t).fma(v, o6);
                o7 = weight(w + 7 * blockSize + t).fma(v, o7);
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

    private void accumulateFour(long at, int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = rescaled(a, c, h);
            FloatVector o1 = rescaled(a + headDim, c, h + 1);
            FloatVector o2 = rescaled(a + 2 * headDim, c, h + 2);
            FloatVector o3 = rescaled(a + 3 * headDim, c, h + 3);
            for (int t = 0; t < valid; t++) {
                FloatVector v = valueChunk(at, t, c);
                o0 = weight(w + t).fma(v, o0);
                o1 = weight(w + blockSize + t).fma(v, o1);
                o2 = weight(w + 2 * blockSize + t).fma(v, o2);
                o3 = weight(w + 3 * blockSize + t).fma(v, o3);
            }
            o0.intoArray(accumulator, a + c);
            o1.intoArray(accumulator, a + headDim + c);
            o2.intoArray(accumulator, a + 2 * headDim + c);
            o3.intoArray(accumulator, a + 3 * headDim + c);
        }
    }

    private void accumulateTwo(long at, int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = rescaled(a, c, h);
            FloatVector o1 = rescaled(a + headDim, c, h + 1);
            for (int t = 0; t < valid; t++) {
                FloatVector v = valueChunk(at, t, c);
                o0 = weight(w + t).fma(v, o0);
                o1 = weight(w + blockSize + t).fma(v, o1);
            }
            o0.intoArray(accumulator, a + c);
            o1.intoArray(accumulator, a + headDim + c);
        }
    }

    private void accumulateOne(long at, int h, int valid) {
        int w = h * blockSize;
        int a = h * headDim;
        for (int c = 0; c < headDim; c += LANES) {
            FloatVector o0 = rescaled(a, c, h);
            for (int t = 0; t < valid; t++) {
                o0 = weight(w + t).fma(valueChunk(at, t, c), o0);
            }
            o0.intoArray(accumulator, a + c);
        }
    }

    private FloatVector broadcast(int queryIndex) {
        return FloatVector.broadcast(FLOATS, scaledQuery[queryIndex]);
    }

    private FloatVector weight(int index) {
        return FloatVector.broadcast(FLOATS, weights[index]);
    }

    private FloatVector rescaled(int row, int c, int head) {
        return FloatVector.fromArray(FLOATS, accumulator, row + c).mul(rescale[head]);
    }

    /** The scales of K dimensions {@code g .. g + scaleGroup} for tokens {@code c ..}: ones for the float types. */
    private FloatVector keyScale(long at, int g, int c) {
        return switch (type) {
            case F32, F16 -> FloatVector.broadcast(FLOATS, 1f);
            case Q8_0 ->
                halfToFloat(ShortVector.fromMemorySegment(
                        HALVES, pool, at + keyScales + 2L * ((g / Q8_BLOCK) * blockSize + c), ORDER));
        };
    }

    /** K dimension {@code d} of tokens {@code c .. c + LANES} as floats. */
    private FloatVector keyChunk(long at, int d, int c, FloatVector scale) {
        long element = (long) d * blockSize + c;
        return switch (type) {
            case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, at + 4 * element, ORDER);
            case F16 -> halfToFloat(ShortVector.fromMemorySegment(HALVES, pool, at + 2 * element, ORDER));
            case Q8_0 ->
                quantsToFloat(ByteVector.fromMemorySegment(QUANTS, pool, at + element, ORDER))
                        .mul(scale);
        };
    }

    /** V dimensions {@code c .. c + LANES} of token {@code t} as floats. */
    private FloatVector valueChunk(long at, int t, int c) {
        long row = at + t * rowBytes;
        return switch (type) {
            case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, row + 4L * c, ORDER);
            case F16 -> halfToFloat(ShortVector.fromMemorySegment(HALVES, pool, row + 2L * c, ORDER));
            case Q8_0 -> {
                long q8 = row + (long) (c / Q8_BLOCK) * Q8_BLOCK_BYTES;
                float scale = Float.float16ToFloat(pool.get(SHORT, q8));
                yield quantsToFloat(ByteVector.fromMemorySegment(QUANTS, pool, q8 + 2 + c % Q8_BLOCK, ORDER))
                        .mul(scale);
            }
        };
    }

    private static FloatVector quantsToFloat(ByteVector quants) {
        return (FloatVector) quants.convertShape(VectorOperators.B2F, FLOATS, 0);
    }

    /**
     * Exact F16 to F32 conversion of every finite half (the write path stores no others). The sign-extended half
     * shifted left by 13 has the sign in bit 31, three copies of it in bits 30..28, then the 5-bit exponent and the
     * 10-bit mantissa exactly where a float keeps the low bits of its exponent and the top of its mantissa; clearing
     * bits 30..28 and multiplying by 2^112 rebiases the exponent (15 to 127). Subnormal halves land on subnormal floats
     * and scale exactly too.
     */
    static FloatVector halfToFloat(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, INTS, 0);
        bits = bits.lanewise(VectorOperators.LSHL, 13).and(HALF_SIGN_AND_MAGNITUDE);
        return ((FloatVector) bits.reinterpretAsFloats()).mul(HALF_EXPONENT_BIAS_FIX);
    }
}
