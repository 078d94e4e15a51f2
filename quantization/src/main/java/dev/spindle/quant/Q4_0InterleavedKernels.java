package dev.spindle.quant;

import static dev.spindle.quant.Lanes.F;
import static dev.spindle.quant.Lanes.I;
import static dev.spindle.quant.Lanes.LE;
import static dev.spindle.quant.Lanes.S128;
import static dev.spindle.quant.Lanes.S256;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_0 matrices interleaved eight rows at a time, one lane per row: the products of {@link Q4_0Kernels} (per (row,
 * token), block after block, the exact integer sum {@code isum = sum_j (q_j - 8) * x_j}, then {@code acc = fma(isum,
 * d_w*d_x, acc)}, as llama.cpp's repacked Q4_0 products compute), with no sum across lanes and no shuffle: lane
 * {@code r} of every vector belongs to row {@code r} of the group. The block sums are exact integers in any order.
 *
 * <p>Group {@code g} (rows {@code 8g .. 8g+7}) of a matrix of {@code blocks} blocks per row takes {@code 144 *
 * blocks} bytes from byte {@code 144 * blocks * g}, block after block, each block's quants then its scales: one
 * stream the hardware prefetcher follows (scales in a run of their own at the group's end cost a single-token pass a
 * fifth of its speed from memory).
 *
 * <pre>
 * offset            size  field
 *     144b + 32c      32  chunk c (0..3) of block b: row r's quant bytes 4c .. 4c+3 at 4r
 *     144b + 128      16  block b's scales: row r's half-precision d at 2r
 * </pre>
 *
 * Read as eight ints, a chunk gives lane {@code r} four bytes of row {@code r}: byte {@code k} holds weight {@code
 * 4c + k} of the block in its low nibble and weight {@code 4c + k + 16} in its high one.
 *
 * <p>One token ({@link #oneToken}) multiplies in 16-bit integers, sixteen products an instruction. Four and eight
 * tokens ({@link #fourTokens}, {@link #eightTokens}) are compute-bound: each nibble is taken out once as a float
 * vector and meets every token's broadcast quant in an FMA.
 *
 * <p>The kernels are written out long-hand (the nibbles of a chunk one by one, the widening of the scales from their
 * halves' bits in place): a vector passed to or returned from a method that C2 does not inline is boxed on the heap,
 * C2 stops inlining past a certain size of method, and it neither unrolls a loop over the nibbles nor shifts by a
 * loop variable for free.
 */
final class Q4_0InterleavedKernels extends InterleavedKernels {

    /** Bytes of one block of eight rows. */
    static final int GROUP_BYTES = ROWS * Q4_0Kernels.BYTES;

    private static final int BLOCK = 32;
    private static final ValueLayout.OfShort LE_SHORT = TypeKernels.LE_SHORT;
    private static final ValueLayout.OfInt LE_INT = TypeKernels.LE_INT;

    /** Bits kept of a sign-extended half shifted left by 13 ({@link F16Kernels}): sign, exponent, mantissa. */
    private static final int SIGN_EXPONENT_MANTISSA = 0x8fff_e000;

    private static final float EXPONENT_BIAS_FIX = 0x1p112f;

    @Override
    boolean accepts(int rows, int cols) {
        return rows % ROWS == 0 && cols % BLOCK == 0;
    }

    /**
     * Rearranges the rows and checks every scale: the vector kernels widen the eight halves of a group block with
     * integer operations that are exact for every finite half, so a scale that is infinite or NaN (no trained model
     * has one) is refused here rather than read wrong.
     */
    @Override
    void interleave(MemorySegment src, int rows, int cols, MemorySegment dst) {
        if (!accepts(rows, cols)) {
            throw new IllegalArgumentException("a Q4_0 matrix of " + rows + " x " + cols + " cannot be interleaved");
        }
        int blocks = cols / BLOCK;
        long rowBytes = (long) blocks * Q4_0Kernels.BYTES;
        if (src.byteSize() != rows * rowBytes || dst.byteSize() != src.byteSize()) {
            throw new IllegalArgumentException("Q4_0 matrix of " + rows + " x " + cols + " is " + rows * rowBytes
                    + " bytes, not " + src.byteSize() + " and " + dst.byteSize());
        }
        for (int row = 0; row < rows; row++) {
            long group = groupOffset(blocks, row);
            for (int b = 0; b < blocks; b++) {
                long from = row * rowBytes + (long) b * Q4_0Kernels.BYTES;
                short d = src.get(LE_SHORT, from);
                if (!Float.isFinite(Float.float16ToFloat(d))) {
                    throw new IllegalArgumentException(
                            "Q4_0 row " + row + " block " + b + " has a scale that is not a finite number");
                }
                dst.set(LE_SHORT, scaleOffset(group, blocks, row, b), d);
                for (int c = 0; c < 4; c++) {
                    dst.set(LE_INT, quantOffset(group, blocks, row, b, 4 * c), src.get(LE_INT, from + 2 + 4L * c));
                }
            }
        }
    }

    private static long groupOffset(int blocks, int row) {
        return (long) (row / ROWS) * blocks * GROUP_BYTES;
    }

    private static long scaleOffset(long group, int blocks, int row, int b) {
        return group + (long) GROUP_BYTES * b + 128 + 2L * (row % ROWS);
    }

    /** Where row {@code row}'s quant byte {@code i} (0..15) of block {@code b} lies. */
    private static long quantOffset(long group, int blocks, int row, int b, int i) {
        return group + (long) GROUP_BYTES * b + 32L * (i / 4) + 4L * (row % ROWS) + i % 4;
    }

    @Override
    void dequantizeRow(MemorySegment data, int cols, int row, float[] dst, int dstOffset) {
        int blocks = cols / BLOCK;
        long group = groupOffset(blocks, row);
        for (int b = 0; b < blocks; b++) {
            float d = Float.float16ToFloat(data.get(LE_SHORT, scaleOffset(group, blocks, row, b)));
            for (int i = 0; i < 16; i++) {
                int q = data.get(ValueLayout.JAVA_BYTE, quantOffset(group, blocks, row, b, i)) & 0xff;
                dst[dstOffset + b * BLOCK + i] = ((q & 15) - 8) * d;
                dst[dstOffset + b * BLOCK + i + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    @Override
    void multiply(
            MemorySegment data,
            int cols,
            int rowFrom,
            int rowTo,
            Activations x,
            float[] out,
            int outStride,
            RowScratch scratch) {
        if (rowFrom % ROWS != 0 || rowTo % ROWS != 0) {
            throw new IllegalArgumentException(
                    "rows [" + rowFrom + ", " + rowTo + ") are not whole groups of " + ROWS + " interleaved rows");
        }
        if (!Kernels.VECTOR) {
            for (int r = rowFrom; r < rowTo; r++) {
                for (int t = 0; t < x.tokens(); t++) {
                    out[t * outStride + r] = dotScalar(data, cols, r, x, t);
                }
            }
            return;
        }
        if (scratch.maxCols() < cols) {
            throw new IllegalArgumentException("scratch holds rows of " + scratch.maxCols() + ", not " + cols);
        }
        int blocks = cols / BLOCK;
        int tokens = x.tokens();
        for (int g = rowFrom / ROWS; g < rowTo / ROWS; g++) {
            long group = (long) g * blocks * GROUP_BYTES;
            int t = 0;
            // Eight tokens per pass over the group, each nibble taken out once for the eight.
            for (; t + 8 <= tokens; t += 8) {
                eightTokens(data, group, blocks, x, t / 8, out, t * outStride + g * ROWS, outStride);
            }
            for (; t + 4 <= tokens; t += 4) {
                fourTokens(data, group, blocks, x, t / 8, t % 8, out, t * outStride + g * ROWS, outStride);
            }
            for (; t < tokens; t++) {
                oneToken(data, group, blocks, x, t, out, t * outStride + g * ROWS);
            }
        }
    }

    /**
     * The definition, one (row, token) at a time: per block the exact integer sum of {@code (q - 8) * x} over the
     * block's 32 weights, then one FMA with {@code d_w * d_x}.
     */
    static float dotScalar(MemorySegment data, int cols, int row, Activations x, int token) {
        int blocks = cols / BLOCK;
        long group = groupOffset(blocks, row);
        float[] q8 = x.q8();
        float[] dx = x.q8Scales();
        float acc = 0;
        for (int b = 0; b < blocks; b++) {
            int xo = token * cols + b * BLOCK;
            int sum = 0;
            for (int i = 0; i < 16; i++) {
                int q = data.get(ValueLayout.JAVA_BYTE, quantOffset(group, blocks, row, b, i)) & 0xff;
                // Element j of a block of activations lies at 8 * (j % 4) + j / 4 (Activations' lane order).
                int j = i;
                int k = i + 16;
                sum += ((q & 15) - 8) * (int) q8[xo + 8 * (j % 4) + j / 4];
                sum += ((q >>> 4) - 8) * (int) q8[xo + 8 * (k % 4) + k / 4];
            }
            float d = Float.float16ToFloat(data.get(LE_SHORT, scaleOffset(group, blocks, row, b)));
            acc = Math.fma((float) sum, d * dx[token * blocks + b], acc);
        }
        return acc;
    }

    /**
     * The products of a group with tokens {@code 8e .. 8e+7} in one pass, the block sums kept in registers: per block
     * and token the exact {@code isum} (32 FMAs of nibbles with broadcast activation quants, plus {@code -8 * sum(x)}),
     * then {@code acc = fma(isum, d_w * d_x, acc)}, the operations of {@link #oneToken}. The eight tokens'
     * activations lie side by side ({@link Activations#q8ChunksByToken()}), so that the eight broadcasts of a nibble
     * are constant displacements from one index; one flat loop of 32 steps per block, a nibble a step.
     */
    private static void eightTokens(
            MemorySegment data, long group, int blocks, Activations x, int e, float[] out, int outAt, int outStride) {
        float[] xs = x.q8ChunksByToken();
        float[] dx = x.q8ScalesByToken();
        float[] offsets = x.q8NegatedEightSumsByToken();
        int cols = blocks * BLOCK;
        int xo = e * cols * 8;
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F);
        FloatVector c4 = FloatVector.zero(F);
        FloatVector c5 = FloatVector.zero(F);
        FloatVector c6 = FloatVector.zero(F);
        FloatVector c7 = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            FloatVector a4 = FloatVector.zero(F);
            FloatVector a5 = FloatVector.zero(F);
            FloatVector a6 = FloatVector.zero(F);
            FloatVector a7 = FloatVector.zero(F);
            long chunks = group + (long) GROUP_BYTES * b;
            int xb = xo + 256 * b;
            for (int k = 0; k < 32; k += 2) {
                // Byte k/2 of every lane's four, read in place: a load from one to three bytes on, so that each lane
                // starts at its byte (its upper bytes, the next row's, are masked off; past a block's last chunk lie
                // its scales). A shift by a count that changes from step to step cost a third of the kernel's speed.
                IntVector q = IntVector.fromMemorySegment(I, data, chunks + 32L * (k >>> 3) + ((k & 7) >>> 1), LE);
                FloatVector v = Lanes.toFloats(q.and(15));
                FloatVector w =
                        Lanes.toFloats(q.lanewise(VectorOperators.LSHR, 4).and(15));
                int p = xb + 8 * k;
                a0 = v.fma(FloatVector.broadcast(F, xs[p]), a0);
                a1 = v.fma(FloatVector.broadcast(F, xs[p + 1]), a1);
                a2 = v.fma(FloatVector.broadcast(F, xs[p + 2]), a2);
                a3 = v.fma(FloatVector.broadcast(F, xs[p + 3]), a3);
                a4 = v.fma(FloatVector.broadcast(F, xs[p + 4]), a4);
                a5 = v.fma(FloatVector.broadcast(F, xs[p + 5]), a5);
                a6 = v.fma(FloatVector.broadcast(F, xs[p + 6]), a6);
                a7 = v.fma(FloatVector.broadcast(F, xs[p + 7]), a7);
                a0 = w.fma(FloatVector.broadcast(F, xs[p + 8]), a0);
                a1 = w.fma(FloatVector.broadcast(F, xs[p + 9]), a1);
                a2 = w.fma(FloatVector.broadcast(F, xs[p + 10]), a2);
                a3 = w.fma(FloatVector.broadcast(F, xs[p + 11]), a3);
                a4 = w.fma(FloatVector.broadcast(F, xs[p + 12]), a4);
                a5 = w.fma(FloatVector.broadcast(F, xs[p + 13]), a5);
                a6 = w.fma(FloatVector.broadcast(F, xs[p + 14]), a6);
                a7 = w.fma(FloatVector.broadcast(F, xs[p + 15]), a7);
            }
            IntVector bits = ((IntVector) ShortVector.fromMemorySegment(S128, data, chunks + 128, LE)
                            .convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA);
            FloatVector d = ((FloatVector) bits.reinterpretAsFloats()).mul(EXPONENT_BIAS_FIX);
            int o = (e * blocks + b) * 8;
            c0 = a0.add(offsets[o]).fma(d.mul(dx[o]), c0);
            c1 = a1.add(offsets[o + 1]).fma(d.mul(dx[o + 1]), c1);
            c2 = a2.add(offsets[o + 2]).fma(d.mul(dx[o + 2]), c2);
            c3 = a3.add(offsets[o + 3]).fma(d.mul(dx[o + 3]), c3);
            c4 = a4.add(offsets[o + 4]).fma(d.mul(dx[o + 4]), c4);
            c5 = a5.add(offsets[o + 5]).fma(d.mul(dx[o + 5]), c5);
            c6 = a6.add(offsets[o + 6]).fma(d.mul(dx[o + 6]), c6);
            c7 = a7.add(offsets[o + 7]).fma(d.mul(dx[o + 7]), c7);
        }
        c0.intoArray(out, outAt);
        c1.intoArray(out, outAt + outStride);
        c2.intoArray(out, outAt + 2 * outStride);
        c3.intoArray(out, outAt + 3 * outStride);
        c4.intoArray(out, outAt + 4 * outStride);
        c5.intoArray(out, outAt + 5 * outStride);
        c6.intoArray(out, outAt + 6 * outStride);
        c7.intoArray(out, outAt + 7 * outStride);
    }

    /**
     * {@link #eightTokens} for four tokens, {@code 8e + first .. 8e + first + 3}: batches of four to seven.
     */
    private static void fourTokens(
            MemorySegment data,
            long group,
            int blocks,
            Activations x,
            int e,
            int first,
            float[] out,
            int outAt,
            int outStride) {
        float[] xs = x.q8ChunksByToken();
        float[] dx = x.q8ScalesByToken();
        float[] offsets = x.q8NegatedEightSumsByToken();
        int cols = blocks * BLOCK;
        int xo = e * cols * 8;
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            long chunks = group + (long) GROUP_BYTES * b;
            int xb = xo + 256 * b;
            for (int k = 0; k < 32; k += 2) {
                // Byte k/2 of every lane in place, as in eightTokens.
                IntVector q = IntVector.fromMemorySegment(I, data, chunks + 32L * (k >>> 3) + ((k & 7) >>> 1), LE);
                FloatVector v = Lanes.toFloats(q.and(15));
                FloatVector w =
                        Lanes.toFloats(q.lanewise(VectorOperators.LSHR, 4).and(15));
                int p = xb + 8 * k + first;
                a0 = v.fma(FloatVector.broadcast(F, xs[p]), a0);
                a1 = v.fma(FloatVector.broadcast(F, xs[p + 1]), a1);
                a2 = v.fma(FloatVector.broadcast(F, xs[p + 2]), a2);
                a3 = v.fma(FloatVector.broadcast(F, xs[p + 3]), a3);
                a0 = w.fma(FloatVector.broadcast(F, xs[p + 8]), a0);
                a1 = w.fma(FloatVector.broadcast(F, xs[p + 9]), a1);
                a2 = w.fma(FloatVector.broadcast(F, xs[p + 10]), a2);
                a3 = w.fma(FloatVector.broadcast(F, xs[p + 11]), a3);
            }
            IntVector bits = ((IntVector) ShortVector.fromMemorySegment(S128, data, chunks + 128, LE)
                            .convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA);
            FloatVector d = ((FloatVector) bits.reinterpretAsFloats()).mul(EXPONENT_BIAS_FIX);
            int o = (e * blocks + b) * 8 + first;
            c0 = a0.add(offsets[o]).fma(d.mul(dx[o]), c0);
            c1 = a1.add(offsets[o + 1]).fma(d.mul(dx[o + 1]), c1);
            c2 = a2.add(offsets[o + 2]).fma(d.mul(dx[o + 2]), c2);
            c3 = a3.add(offsets[o + 3]).fma(d.mul(dx[o + 3]), c3);
        }
        c0.intoArray(out, outAt);
        c1.intoArray(out, outAt + outStride);
        c2.intoArray(out, outAt + 2 * outStride);
        c3.intoArray(out, outAt + 3 * outStride);
    }

    /**
     * The products of a group with one token in 16-bit integers: a chunk read as sixteen shorts holds in lane {@code
     * 2r} quant bytes {@code 4c, 4c+1} of row {@code r} and in lane {@code 2r+1} bytes {@code 4c+2, 4c+3}, four
     * nibbles each; a nibble times a quant is at most {@code 15 * 127}, and the sixteen a lane takes per block at most
     * 30,480, so a block's sums are exact in shorts ({@code vpmullw}, {@code vpaddw}: sixteen products an instruction,
     * twice the float FMA's eight). Each nibble meets a pair of activation quants broadcast as one int ({@link
     * Activations#q8Pairs()}). Per block the two lanes of a row are added as ints, {@code -8 * sum(x)} added, and
     * {@code acc = fma(isum, d_w * d_x, acc)}: the exact integer, and the order of operations the other kernels keep.
     */
    private static void oneToken(
            MemorySegment data, long group, int blocks, Activations x, int t, float[] out, int outAt) {
        int[] pairs = x.q8Pairs();
        float[] dx = x.q8Scales();
        float[] offsets = x.q8NegatedEightSums();
        int po = t * blocks * 16;
        int so = t * blocks;
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            ShortVector s = ShortVector.zero(S256);
            long chunks = group + (long) GROUP_BYTES * b;
            for (int c = 0; c < 4; c++) {
                ShortVector q = IntVector.fromMemorySegment(I, data, chunks + 32L * c, LE)
                        .reinterpretAsShorts();
                int p = po + 16 * b + 4 * c;
                s = s.add(q.and((short) 15).mul(IntVector.broadcast(I, pairs[p]).reinterpretAsShorts()));
                s = s.add(q.lanewise(VectorOperators.LSHR, 4)
                        .and((short) 15)
                        .mul(IntVector.broadcast(I, pairs[p + 1]).reinterpretAsShorts()));
                s = s.add(q.lanewise(VectorOperators.LSHR, 8)
                        .and((short) 15)
                        .mul(IntVector.broadcast(I, pairs[p + 2]).reinterpretAsShorts()));
                s = s.add(q.lanewise(VectorOperators.LSHR, 12)
                        .mul(IntVector.broadcast(I, pairs[p + 3]).reinterpretAsShorts()));
            }
            IntVector lanes = s.reinterpretAsInts();
            IntVector rows = lanes.lanewise(VectorOperators.LSHL, 16)
                    .lanewise(VectorOperators.ASHR, 16)
                    .add(lanes.lanewise(VectorOperators.ASHR, 16));
            FloatVector isum = Lanes.toFloats(rows).add(offsets[so + b]);
            IntVector bits = ((IntVector) ShortVector.fromMemorySegment(S128, data, chunks + 128, LE)
                            .convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13)
                    .and(SIGN_EXPONENT_MANTISSA);
            FloatVector d = ((FloatVector) bits.reinterpretAsFloats()).mul(EXPONENT_BIAS_FIX);
            acc = isum.fma(d.mul(dx[so + b]), acc);
        }
        acc.intoArray(out, outAt);
    }
}
