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
 * <p>K and V are converted in registers as they are loaded (F16 by integer shifts and a mask, Q8_0 by widening the
 * quants and multiplying by their scale), and the query heads are processed in tiles of 8, 4, 2 and 1 so that each
 * loaded and converted vector feeds as many fused multiply-adds as the tile has heads, with the tile's accumulators in
 * registers. (Converting each pair's F16 blocks once into float scratch with the hardware's half-to-float instruction
 * instead measured slower, session 4.)
 *
 * <p>No method here takes or returns a vector: every vector lives inside one loop of one method. C2 inlines small
 * methods only while its budgets allow, and a vector that crosses a call it did not inline is boxed on the heap, which
 * made whole configurations ten times slower depending on the order in which methods got compiled.
 */
final class VectorPagedAttention extends PagedAttention {

    /**
     * Float lanes per vector: 8 (256 bits) unless asked for 16 ({@code -Dspindle.attention.bits=512}) on hardware with
     * 512-bit vectors. One vector shape in the process: the products are 256-bit, and with 512-bit attention beside
     * them the Vector API's shared call sites see two shapes (FloatVector.fma's type profile was 74% Float256Vector),
     * which cost the Q4_0 decode of a TinyLlama-shaped file 40% (9.6 tok/s with 256-bit attention, 5.7 with 512).
     */
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512
                    && "512".equals(System.getProperty("spindle.attention.bits"))
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
    /** {@code [2][headDim / 32][blockSize]}: the current pair of Q8_0 K head blocks' scales as floats. */
    private final float[] keyScales;
    /** {@code [2 * blockSize][headDim / 32]}: the current pair of Q8_0 V head blocks' scales as floats. */
    private final float[] valueScales;
    /** Q8_0 blocks (scales) per V row. */
    private final int scalesPerRow;
    /** Bytes per V row of one token. */
    private final long rowBytes;

    VectorPagedAttention(HostKvMemory memory, int queryHeads, float scale) {
        super(memory, queryHeads, scale);
        this.pool = memory.segment();
        this.type = layout.shape().type();
        this.scalesPerRow = Math.max(1, headDim / Q8_BLOCK);
        this.keyScales = new float[2 * scalesPerRow * blockSize];
        this.valueScales = new float[2 * blockSize * scalesPerRow];
        this.rowBytes = layout.rowBytes();
    }

    /** Lanes per float vector the kernels run with. */
    static int lanes() {
        return LANES;
    }

    /** Sink for the prefetching loads, so that the JIT cannot drop them. */
    private long touched;

    /**
     * Touches one byte of every cache line of the next block's K and V head blocks. Java has no prefetch instruction;
     * these plain loads miss in the background while the current block is scored, since blocks of a paged sequence
     * lie anywhere and the hardware prefetcher cannot guess the next one. Measured: 10% (F16) to 20% (Q8_0) more
     * throughput when the KV does not fit in cache.
     */
    @Override
    void prefetch(int layer, int first, int second, int kvHead) {
        long k1 = layout.keyOffset(layer, first, kvHead);
        long v1 = layout.valueOffset(layer, first, kvHead);
        long k2 = layout.keyOffset(layer, second, kvHead);
        long v2 = layout.valueOffset(layer, second, kvHead);
        long bytes = layout.headBlockBytes();
        long sum = 0;
        for (long line = 0; line < bytes; line += 64) {
            sum += pool.get(ValueLayout.JAVA_BYTE, k1 + line)
                    + pool.get(ValueLayout.JAVA_BYTE, v1 + line)
                    + pool.get(ValueLayout.JAVA_BYTE, k2 + line)
                    + pool.get(ValueLayout.JAVA_BYTE, v2 + line);
        }
        touched += sum;
    }

    /**
     * Scores the tokens of a pair of blocks against every query head of the group. K is read straight from the pool
     * and converted in registers; vectors of {@code LANES} tokens are taken two at a time (two from one block when it
     * holds enough tokens, else one from each block), so that each query element broadcast feeds two fused
     * multiply-adds: a broadcast costs the core nearly as much as the multiply-add it feeds. For Q8_0 each quant is
     * multiplied by its token's scale first, which is exact (8-bit quant times 11-bit scale), so the products are the
     * scalar twin's.
     */
    @Override
    void scorePair(int layer, int first, int second, int kvHead) {
        long atA = layout.keyOffset(layer, first, kvHead);
        long atB = layout.keyOffset(layer, second, kvHead);
        int scales = scalesPerRow * blockSize;
        if (type == KvType.Q8_0) {
            halvesToFloats(pool, atA + layout.keyScalesOffset(), keyScales, 0, scales);
            halvesToFloats(pool, atB + layout.keyScalesOffset(), keyScales, scales, scales);
        }
        int perBlock = blockSize / LANES;
        int vectors = (second == first ? 1 : 2) * perBlock;
        for (int j = 0; j < vectors; j += 2) {
            int k = Math.min(j + 1, vectors - 1);
            int blockA = j / perBlock;
            int blockB = k / perBlock;
            int cA = (j % perBlock) * LANES;
            int cB = (k % perBlock) * LANES;
            long kA = blockA == 0 ? atA : atB;
            long kB = blockB == 0 ? atA : atB;
            int rowA = blockA * blockSize + cA;
            int rowB = blockB * blockSize + cB;
            int scalesA = blockA * scales;
            int scalesB = blockB * scales;
            int h = 0;
            for (; h + 8 <= group; h += 8) {
                scoreEight(kA, cA, rowA, scalesA, kB, cB, rowB, scalesB, h);
            }
            if (h + 4 <= group) {
                scoreFour(kA, cA, rowA, scalesA, kB, cB, rowB, scalesB, h);
                h += 4;
            }
            if (h + 2 <= group) {
                scoreTwo(kA, cA, rowA, scalesA, kB, cB, rowB, scalesB, h);
                h += 2;
            }
            if (h < group) {
                scoreOne(kA, cA, rowA, scalesA, kB, cB, rowB, scalesB, h);
            }
        }
    }

    private void scoreEight(long atA, int cA, int rowA, int scalesA, long atB, int cB, int rowB, int scalesB, int h) {
        int q = h * headDim;
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        FloatVector b4 = a0;
        FloatVector b5 = a0;
        FloatVector b6 = a0;
        FloatVector b7 = a0;
        for (int d = 0; d < headDim; d++) {
            int row = d * blockSize;
            int scaleRow = (d / Q8_BLOCK) * blockSize;
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (row + cA), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (row + cA), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atA + (row + cA), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesA + scaleRow + cA));
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (row + cB), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (row + cB), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atB + (row + cB), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesB + scaleRow + cB));
            };
            FloatVector q0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]);
            a0 = q0.fma(x, a0);
            b0 = q0.fma(y, b0);
            FloatVector q1 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + headDim]);
            a1 = q1.fma(x, a1);
            b1 = q1.fma(y, b1);
            FloatVector q2 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 2 * headDim]);
            a2 = q2.fma(x, a2);
            b2 = q2.fma(y, b2);
            FloatVector q3 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 3 * headDim]);
            a3 = q3.fma(x, a3);
            b3 = q3.fma(y, b3);
            FloatVector q4 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 4 * headDim]);
            a4 = q4.fma(x, a4);
            b4 = q4.fma(y, b4);
            FloatVector q5 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 5 * headDim]);
            a5 = q5.fma(x, a5);
            b5 = q5.fma(y, b5);
            FloatVector q6 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 6 * headDim]);
            a6 = q6.fma(x, a6);
            b6 = q6.fma(y, b6);
            FloatVector q7 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 7 * headDim]);
            a7 = q7.fma(x, a7);
            b7 = q7.fma(y, b7);
        }
        int wA = rowA + h * span;
        int wB = rowB + h * span;
        a0.intoArray(weights, wA);
        a1.intoArray(weights, wA + span);
        a2.intoArray(weights, wA + 2 * span);
        a3.intoArray(weights, wA + 3 * span);
        a4.intoArray(weights, wA + 4 * span);
        a5.intoArray(weights, wA + 5 * span);
        a6.intoArray(weights, wA + 6 * span);
        a7.intoArray(weights, wA + 7 * span);
        b0.intoArray(weights, wB);
        b1.intoArray(weights, wB + span);
        b2.intoArray(weights, wB + 2 * span);
        b3.intoArray(weights, wB + 3 * span);
        b4.intoArray(weights, wB + 4 * span);
        b5.intoArray(weights, wB + 5 * span);
        b6.intoArray(weights, wB + 6 * span);
        b7.intoArray(weights, wB + 7 * span);
    }

    private void scoreFour(long atA, int cA, int rowA, int scalesA, long atB, int cB, int rowB, int scalesB, int h) {
        int q = h * headDim;
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        for (int d = 0; d < headDim; d++) {
            int row = d * blockSize;
            int scaleRow = (d / Q8_BLOCK) * blockSize;
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (row + cA), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (row + cA), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atA + (row + cA), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesA + scaleRow + cA));
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (row + cB), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (row + cB), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atB + (row + cB), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesB + scaleRow + cB));
            };
            FloatVector q0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]);
            a0 = q0.fma(x, a0);
            b0 = q0.fma(y, b0);
            FloatVector q1 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + headDim]);
            a1 = q1.fma(x, a1);
            b1 = q1.fma(y, b1);
            FloatVector q2 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 2 * headDim]);
            a2 = q2.fma(x, a2);
            b2 = q2.fma(y, b2);
            FloatVector q3 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + 3 * headDim]);
            a3 = q3.fma(x, a3);
            b3 = q3.fma(y, b3);
        }
        int wA = rowA + h * span;
        int wB = rowB + h * span;
        a0.intoArray(weights, wA);
        a1.intoArray(weights, wA + span);
        a2.intoArray(weights, wA + 2 * span);
        a3.intoArray(weights, wA + 3 * span);
        b0.intoArray(weights, wB);
        b1.intoArray(weights, wB + span);
        b2.intoArray(weights, wB + 2 * span);
        b3.intoArray(weights, wB + 3 * span);
    }

    private void scoreTwo(long atA, int cA, int rowA, int scalesA, long atB, int cB, int rowB, int scalesB, int h) {
        int q = h * headDim;
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector a1 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        for (int d = 0; d < headDim; d++) {
            int row = d * blockSize;
            int scaleRow = (d / Q8_BLOCK) * blockSize;
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (row + cA), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (row + cA), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atA + (row + cA), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesA + scaleRow + cA));
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (row + cB), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (row + cB), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atB + (row + cB), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesB + scaleRow + cB));
            };
            FloatVector q0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]);
            a0 = q0.fma(x, a0);
            b0 = q0.fma(y, b0);
            FloatVector q1 = FloatVector.broadcast(FLOATS, scaledQuery[q + d + headDim]);
            a1 = q1.fma(x, a1);
            b1 = q1.fma(y, b1);
        }
        int wA = rowA + h * span;
        int wB = rowB + h * span;
        a0.intoArray(weights, wA);
        a1.intoArray(weights, wA + span);
        b0.intoArray(weights, wB);
        b1.intoArray(weights, wB + span);
    }

    private void scoreOne(long atA, int cA, int rowA, int scalesA, long atB, int cB, int rowB, int scalesB, int h) {
        int q = h * headDim;
        FloatVector a0 = FloatVector.zero(FLOATS);
        FloatVector b0 = a0;
        for (int d = 0; d < headDim; d++) {
            int row = d * blockSize;
            int scaleRow = (d / Q8_BLOCK) * blockSize;
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (row + cA), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (row + cA), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atA + (row + cA), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesA + scaleRow + cA));
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (row + cB), ORDER);
                case F16 ->
                    ((FloatVector) ((IntVector)
                                            ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (row + cB), ORDER)
                                                    .convertShape(VectorOperators.S2I, INTS, 0))
                                    .lanewise(VectorOperators.LSHL, 13)
                                    .and(HALF_SIGN_AND_MAGNITUDE)
                                    .reinterpretAsFloats())
                            .mul(HALF_EXPONENT_BIAS_FIX);
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(QUANTS, pool, atB + (row + cB), ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(FloatVector.fromArray(FLOATS, keyScales, scalesB + scaleRow + cB));
            };
            FloatVector q0 = FloatVector.broadcast(FLOATS, scaledQuery[q + d]);
            a0 = q0.fma(x, a0);
            b0 = q0.fma(y, b0);
        }
        int wA = rowA + h * span;
        int wB = rowB + h * span;
        a0.intoArray(weights, wA);
        b0.intoArray(weights, wB);
    }

    @Override
    float rowMax(int row) {
        FloatVector max = FloatVector.fromArray(FLOATS, weights, row);
        for (int c = LANES; c < span; c += LANES) {
            max = max.max(FloatVector.fromArray(FLOATS, weights, row + c));
        }
        return max.reduceLanes(VectorOperators.MAX);
    }

    /**
     * As the scalar form, a vector of heads at a time: each lane is {@link Exp#exp(float)}'s steps on the same
     * difference, so the factors are the scalar twin's bits. The arrays are padded to whole vectors; lanes past the
     * group compute factors nobody reads.
     */
    @Override
    void rescales() {
        FloatVector minusLn2High = FloatVector.broadcast(FLOATS, -Exp.LN2_HIGH);
        FloatVector minusLn2Low = FloatVector.broadcast(FLOATS, -Exp.LN2_LOW);
        FloatVector c5 = FloatVector.broadcast(FLOATS, Exp.C5);
        FloatVector c4 = FloatVector.broadcast(FLOATS, Exp.C4);
        FloatVector c3 = FloatVector.broadcast(FLOATS, Exp.C3);
        FloatVector c2 = FloatVector.broadcast(FLOATS, Exp.C2);
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int h = 0; h < group; h += LANES) {
            FloatVector previous = FloatVector.fromArray(FLOATS, previousMax, h);
            FloatVector x = previous.sub(FloatVector.fromArray(FLOATS, runningMax, h))
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
            p.mul(twoToN)
                    .blend(0f, previous.compare(VectorOperators.EQ, Float.NEGATIVE_INFINITY))
                    .intoArray(rescale, h);
        }
    }

    @Override
    void exponentiate(float[] maxima) {
        expMinus(weights, 0, maxima, group, span);
    }

    /**
     * Replaces each of the {@code rows} rows of {@code length} values (a multiple of the lanes) by {@code exp(value -
     * subtrahends[row])}, each lane exactly as {@link Exp#exp(float)} computes it: same constants, same operations.
     */
    static void expMinus(float[] values, int base, float[] subtrahends, int rows, int length) {
        // Exp.exp(FloatVector)'s steps, written out here rather than called: the forward pass calls that method with
        // 256-bit vectors, and a method C2 sees with two vector shapes is compiled without intrinsics and boxes.
        FloatVector minusLn2High = FloatVector.broadcast(FLOATS, -Exp.LN2_HIGH);
        FloatVector minusLn2Low = FloatVector.broadcast(FLOATS, -Exp.LN2_LOW);
        FloatVector c5 = FloatVector.broadcast(FLOATS, Exp.C5);
        FloatVector c4 = FloatVector.broadcast(FLOATS, Exp.C4);
        FloatVector c3 = FloatVector.broadcast(FLOATS, Exp.C3);
        FloatVector c2 = FloatVector.broadcast(FLOATS, Exp.C2);
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        for (int row = 0; row < rows; row++) {
            float subtrahend = subtrahends[row];
            for (int i = base + row * length; i < base + (row + 1) * length; i += LANES) {
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
        for (int c = 0; c < span; c += LANES) {
            FloatVector.fromArray(FLOATS, sums, row + c)
                    .fma(factor, FloatVector.fromArray(FLOATS, weights, row + c))
                    .intoArray(sums, row + c);
        }
    }

    /**
     * Adds the pair's weighted V rows to every query head's accumulator, V converted in registers as it is loaded (for
     * Q8_0, quant times its row's scale: exact, as for K). Vectors of the head dimension are taken two at a time so
     * that each weight broadcast feeds two fused multiply-adds; an odd last one is paired with itself (computed twice,
     * stored twice, the same bits).
     */
    @Override
    void accumulatePair(int layer, int first, int second, int kvHead, int valid) {
        long atA = layout.valueOffset(layer, first, kvHead);
        long atB = layout.valueOffset(layer, second, kvHead);
        int validA = Math.min(valid, blockSize);
        int validB = valid - validA;
        if (type == KvType.Q8_0) {
            for (int i = 0; i < validA * scalesPerRow; i++) {
                valueScales[i] = Float.float16ToFloat(pool.get(SHORT, atA + (long) i * Q8_BLOCK_BYTES));
            }
            for (int i = 0; i < validB * scalesPerRow; i++) {
                valueScales[blockSize * scalesPerRow + i] =
                        Float.float16ToFloat(pool.get(SHORT, atB + (long) i * Q8_BLOCK_BYTES));
            }
        }
        if (type == KvType.F16) {
            // V's halves are converted without their final multiplication by 2^112 (see halvesToFloats), so they are
            // V * 2^-112 exactly; the weights take the 2^112 instead (exactly: they lie in [1e-38, 1]), and each
            // product inside a fused multiply-add is the same real number as the scalar twin's.
            FloatVector boost = FloatVector.broadcast(FLOATS, HALF_EXPONENT_BIAS_FIX);
            for (int i = 0; i < group * span; i += LANES) {
                FloatVector.fromArray(FLOATS, weights, i).mul(boost).intoArray(weights, i);
            }
        }
        int vectors = headDim / LANES;
        for (int j = 0; j < vectors; j += 2) {
            int c1 = j * LANES;
            int c2 = Math.min(j + 1, vectors - 1) * LANES;
            int h = 0;
            for (; h + 8 <= group; h += 8) {
                accumulateEight(atA, validA, atB, validB, h, c1, c2);
            }
            if (h + 4 <= group) {
                accumulateFour(atA, validA, atB, validB, h, c1, c2);
                h += 4;
            }
            if (h + 2 <= group) {
                accumulateTwo(atA, validA, atB, validB, h, c1, c2);
                h += 2;
            }
            if (h < group) {
                accumulateOne(atA, validA, atB, validB, h, c1, c2);
            }
        }
    }

    private void accumulateEight(long atA, int validA, long atB, int validB, int h, int c1, int c2) {
        int w = h * span;
        int a = h * headDim;
        FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c1).mul(rescale[h]);
        FloatVector o1 =
                FloatVector.fromArray(FLOATS, accumulator, a + headDim + c1).mul(rescale[h + 1]);
        FloatVector o2 =
                FloatVector.fromArray(FLOATS, accumulator, a + 2 * headDim + c1).mul(rescale[h + 2]);
        FloatVector o3 =
                FloatVector.fromArray(FLOATS, accumulator, a + 3 * headDim + c1).mul(rescale[h + 3]);
        FloatVector o4 =
                FloatVector.fromArray(FLOATS, accumulator, a + 4 * headDim + c1).mul(rescale[h + 4]);
        FloatVector o5 =
                FloatVector.fromArray(FLOATS, accumulator, a + 5 * headDim + c1).mul(rescale[h + 5]);
        FloatVector o6 =
                FloatVector.fromArray(FLOATS, accumulator, a + 6 * headDim + c1).mul(rescale[h + 6]);
        FloatVector o7 =
                FloatVector.fromArray(FLOATS, accumulator, a + 7 * headDim + c1).mul(rescale[h + 7]);
        FloatVector p0 = FloatVector.fromArray(FLOATS, accumulator, a + c2).mul(rescale[h]);
        FloatVector p1 =
                FloatVector.fromArray(FLOATS, accumulator, a + headDim + c2).mul(rescale[h + 1]);
        FloatVector p2 =
                FloatVector.fromArray(FLOATS, accumulator, a + 2 * headDim + c2).mul(rescale[h + 2]);
        FloatVector p3 =
                FloatVector.fromArray(FLOATS, accumulator, a + 3 * headDim + c2).mul(rescale[h + 3]);
        FloatVector p4 =
                FloatVector.fromArray(FLOATS, accumulator, a + 4 * headDim + c2).mul(rescale[h + 4]);
        FloatVector p5 =
                FloatVector.fromArray(FLOATS, accumulator, a + 5 * headDim + c2).mul(rescale[h + 5]);
        FloatVector p6 =
                FloatVector.fromArray(FLOATS, accumulator, a + 6 * headDim + c2).mul(rescale[h + 6]);
        FloatVector p7 =
                FloatVector.fromArray(FLOATS, accumulator, a + 7 * headDim + c2).mul(rescale[h + 7]);
        for (int t = 0; t < validA; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
            FloatVector w1 = FloatVector.broadcast(FLOATS, weights[w + span + t]);
            o1 = w1.fma(x, o1);
            p1 = w1.fma(y, p1);
            FloatVector w2 = FloatVector.broadcast(FLOATS, weights[w + 2 * span + t]);
            o2 = w2.fma(x, o2);
            p2 = w2.fma(y, p2);
            FloatVector w3 = FloatVector.broadcast(FLOATS, weights[w + 3 * span + t]);
            o3 = w3.fma(x, o3);
            p3 = w3.fma(y, p3);
            FloatVector w4 = FloatVector.broadcast(FLOATS, weights[w + 4 * span + t]);
            o4 = w4.fma(x, o4);
            p4 = w4.fma(y, p4);
            FloatVector w5 = FloatVector.broadcast(FLOATS, weights[w + 5 * span + t]);
            o5 = w5.fma(x, o5);
            p5 = w5.fma(y, p5);
            FloatVector w6 = FloatVector.broadcast(FLOATS, weights[w + 6 * span + t]);
            o6 = w6.fma(x, o6);
            p6 = w6.fma(y, p6);
            FloatVector w7 = FloatVector.broadcast(FLOATS, weights[w + 7 * span + t]);
            o7 = w7.fma(x, o7);
            p7 = w7.fma(y, p7);
        }
        for (int t = 0; t < validB; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + blockSize + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
            FloatVector w1 = FloatVector.broadcast(FLOATS, weights[w + span + blockSize + t]);
            o1 = w1.fma(x, o1);
            p1 = w1.fma(y, p1);
            FloatVector w2 = FloatVector.broadcast(FLOATS, weights[w + 2 * span + blockSize + t]);
            o2 = w2.fma(x, o2);
            p2 = w2.fma(y, p2);
            FloatVector w3 = FloatVector.broadcast(FLOATS, weights[w + 3 * span + blockSize + t]);
            o3 = w3.fma(x, o3);
            p3 = w3.fma(y, p3);
            FloatVector w4 = FloatVector.broadcast(FLOATS, weights[w + 4 * span + blockSize + t]);
            o4 = w4.fma(x, o4);
            p4 = w4.fma(y, p4);
            FloatVector w5 = FloatVector.broadcast(FLOATS, weights[w + 5 * span + blockSize + t]);
            o5 = w5.fma(x, o5);
            p5 = w5.fma(y, p5);
            FloatVector w6 = FloatVector.broadcast(FLOATS, weights[w + 6 * span + blockSize + t]);
            o6 = w6.fma(x, o6);
            p6 = w6.fma(y, p6);
            FloatVector w7 = FloatVector.broadcast(FLOATS, weights[w + 7 * span + blockSize + t]);
            o7 = w7.fma(x, o7);
            p7 = w7.fma(y, p7);
        }
        o0.intoArray(accumulator, a + c1);
        o1.intoArray(accumulator, a + headDim + c1);
        o2.intoArray(accumulator, a + 2 * headDim + c1);
        o3.intoArray(accumulator, a + 3 * headDim + c1);
        o4.intoArray(accumulator, a + 4 * headDim + c1);
        o5.intoArray(accumulator, a + 5 * headDim + c1);
        o6.intoArray(accumulator, a + 6 * headDim + c1);
        o7.intoArray(accumulator, a + 7 * headDim + c1);
        p0.intoArray(accumulator, a + c2);
        p1.intoArray(accumulator, a + headDim + c2);
        p2.intoArray(accumulator, a + 2 * headDim + c2);
        p3.intoArray(accumulator, a + 3 * headDim + c2);
        p4.intoArray(accumulator, a + 4 * headDim + c2);
        p5.intoArray(accumulator, a + 5 * headDim + c2);
        p6.intoArray(accumulator, a + 6 * headDim + c2);
        p7.intoArray(accumulator, a + 7 * headDim + c2);
    }

    private void accumulateFour(long atA, int validA, long atB, int validB, int h, int c1, int c2) {
        int w = h * span;
        int a = h * headDim;
        FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c1).mul(rescale[h]);
        FloatVector o1 =
                FloatVector.fromArray(FLOATS, accumulator, a + headDim + c1).mul(rescale[h + 1]);
        FloatVector o2 =
                FloatVector.fromArray(FLOATS, accumulator, a + 2 * headDim + c1).mul(rescale[h + 2]);
        FloatVector o3 =
                FloatVector.fromArray(FLOATS, accumulator, a + 3 * headDim + c1).mul(rescale[h + 3]);
        FloatVector p0 = FloatVector.fromArray(FLOATS, accumulator, a + c2).mul(rescale[h]);
        FloatVector p1 =
                FloatVector.fromArray(FLOATS, accumulator, a + headDim + c2).mul(rescale[h + 1]);
        FloatVector p2 =
                FloatVector.fromArray(FLOATS, accumulator, a + 2 * headDim + c2).mul(rescale[h + 2]);
        FloatVector p3 =
                FloatVector.fromArray(FLOATS, accumulator, a + 3 * headDim + c2).mul(rescale[h + 3]);
        for (int t = 0; t < validA; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
            FloatVector w1 = FloatVector.broadcast(FLOATS, weights[w + span + t]);
            o1 = w1.fma(x, o1);
            p1 = w1.fma(y, p1);
            FloatVector w2 = FloatVector.broadcast(FLOATS, weights[w + 2 * span + t]);
            o2 = w2.fma(x, o2);
            p2 = w2.fma(y, p2);
            FloatVector w3 = FloatVector.broadcast(FLOATS, weights[w + 3 * span + t]);
            o3 = w3.fma(x, o3);
            p3 = w3.fma(y, p3);
        }
        for (int t = 0; t < validB; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + blockSize + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
            FloatVector w1 = FloatVector.broadcast(FLOATS, weights[w + span + blockSize + t]);
            o1 = w1.fma(x, o1);
            p1 = w1.fma(y, p1);
            FloatVector w2 = FloatVector.broadcast(FLOATS, weights[w + 2 * span + blockSize + t]);
            o2 = w2.fma(x, o2);
            p2 = w2.fma(y, p2);
            FloatVector w3 = FloatVector.broadcast(FLOATS, weights[w + 3 * span + blockSize + t]);
            o3 = w3.fma(x, o3);
            p3 = w3.fma(y, p3);
        }
        o0.intoArray(accumulator, a + c1);
        o1.intoArray(accumulator, a + headDim + c1);
        o2.intoArray(accumulator, a + 2 * headDim + c1);
        o3.intoArray(accumulator, a + 3 * headDim + c1);
        p0.intoArray(accumulator, a + c2);
        p1.intoArray(accumulator, a + headDim + c2);
        p2.intoArray(accumulator, a + 2 * headDim + c2);
        p3.intoArray(accumulator, a + 3 * headDim + c2);
    }

    private void accumulateTwo(long atA, int validA, long atB, int validB, int h, int c1, int c2) {
        int w = h * span;
        int a = h * headDim;
        FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c1).mul(rescale[h]);
        FloatVector o1 =
                FloatVector.fromArray(FLOATS, accumulator, a + headDim + c1).mul(rescale[h + 1]);
        FloatVector p0 = FloatVector.fromArray(FLOATS, accumulator, a + c2).mul(rescale[h]);
        FloatVector p1 =
                FloatVector.fromArray(FLOATS, accumulator, a + headDim + c2).mul(rescale[h + 1]);
        for (int t = 0; t < validA; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
            FloatVector w1 = FloatVector.broadcast(FLOATS, weights[w + span + t]);
            o1 = w1.fma(x, o1);
            p1 = w1.fma(y, p1);
        }
        for (int t = 0; t < validB; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + blockSize + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
            FloatVector w1 = FloatVector.broadcast(FLOATS, weights[w + span + blockSize + t]);
            o1 = w1.fma(x, o1);
            p1 = w1.fma(y, p1);
        }
        o0.intoArray(accumulator, a + c1);
        o1.intoArray(accumulator, a + headDim + c1);
        p0.intoArray(accumulator, a + c2);
        p1.intoArray(accumulator, a + headDim + c2);
    }

    private void accumulateOne(long atA, int validA, long atB, int validB, int h, int c1, int c2) {
        int w = h * span;
        int a = h * headDim;
        FloatVector o0 = FloatVector.fromArray(FLOATS, accumulator, a + c1).mul(rescale[h]);
        FloatVector p0 = FloatVector.fromArray(FLOATS, accumulator, a + c2).mul(rescale[h]);
        for (int t = 0; t < validA; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atA + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atA + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atA + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
        }
        for (int t = 0; t < validB; t++) {
            FloatVector x = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c1), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c1), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c1 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c1 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c1 / Q8_BLOCK]);
            };
            FloatVector y = switch (type) {
                case F32 -> FloatVector.fromMemorySegment(FLOATS, pool, atB + 4L * (t * headDim + c2), ORDER);
                case F16 ->
                    (FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(HALVES, pool, atB + 2L * (t * headDim + c2), ORDER)
                                            .convertShape(VectorOperators.S2I, INTS, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_SIGN_AND_MAGNITUDE)
                            .reinterpretAsFloats();
                case Q8_0 ->
                    ((FloatVector) ByteVector.fromMemorySegment(
                                            QUANTS,
                                            pool,
                                            atB + t * rowBytes + (c2 / Q8_BLOCK) * Q8_BLOCK_BYTES + 2 + c2 % Q8_BLOCK,
                                            ORDER)
                                    .convertShape(VectorOperators.B2F, FLOATS, 0))
                            .mul(valueScales[(t + blockSize) * scalesPerRow + c2 / Q8_BLOCK]);
            };
            FloatVector w0 = FloatVector.broadcast(FLOATS, weights[w + blockSize + t]);
            o0 = w0.fma(x, o0);
            p0 = w0.fma(y, p0);
        }
        o0.intoArray(accumulator, a + c1);
        p0.intoArray(accumulator, a + c2);
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
