package dev.spindle.quant;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes every kernel uses and the loads they share.
 *
 * <p>All kernels work on eight lanes of 32 bits (256-bit vectors). Quantized bytes are loaded eight at a time as a
 * 64-bit vector and widened straight to eight int lanes: measured on AVX2, this is twice as fast as loading 32 bytes
 * and converting the parts of a 256-bit byte vector (docs/ARCHITECTURE.md, quantization).
 */
final class Lanes {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_64;
    static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    static final VectorSpecies<Short> S128 = ShortVector.SPECIES_128;
    static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Lanes per vector. */
    static final int N = 8;

    private static final VectorSpecies<Integer> I128 = IntVector.SPECIES_128;

    /** Lane i takes the ints of lanes i mod 4: sixteen bytes seen twice. */
    private static final VectorShuffle<Integer> TWICE = VectorShuffle.fromValues(I, 0, 1, 2, 3, 0, 1, 2, 3);

    /**
     * Shifts that bring the low nibble of byte {@code m} of an int to the bottom in lanes 0..3 and its high nibble in
     * lanes 4..7: add {@code 8*m}. With {@link #twice16} this unpacks weights {@code 4i + m} of a block of 32 stored
     * as sixteen bytes of two nibbles (weight j low in byte j, weight j + 16 high) into lane {@code i}.
     */
    static final IntVector NIBBLE_SHIFTS = IntVector.fromArray(I, new int[] {0, 0, 0, 0, 4, 4, 4, 4}, 0);

    /** Lane i holds 4i: the bit of a block's 32-bit mask for weight 4i, add {@code m} for weight 4i + m. */
    static final IntVector FOUR_IOTA = IntVector.fromArray(I, new int[] {0, 4, 8, 12, 16, 20, 24, 28}, 0);

    private Lanes() {}

    /**
     * The sum of the lanes in a fixed order: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)). Not {@code
     * reduceLanes(ADD)}, which may add in any order, and does: compiled and interpreted code differ in the last bit,
     * which would make a token's result depend on the JIT's progress, not only on the token.
     */
    static float sum(FloatVector v, float[] lanes) {
        // Through memory: one store, where extracting eight lanes adds to the kernel's size enough to stop C2
        // inlining it whole (and a vector passed to a call that is not inlined is boxed on the heap).
        v.intoArray(lanes, 0);
        return sumStored(lanes);
    }

    /** The sum of {@code lanes[0..8)} in the order of {@link #sum}: an accumulator already stored. */
    static float sumStored(float[] lanes) {
        return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
    }

    /** Eight signed bytes from {@code offset}, as eight floats. */
    static FloatVector signedBytesToFloats(MemorySegment seg, long offset) {
        return (FloatVector) ByteVector.fromMemorySegment(B64, seg, offset, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /** Eight unsigned bytes from {@code offset}, as eight ints in 0..255. */
    static IntVector unsignedBytes(MemorySegment seg, long offset) {
        return (IntVector)
                ByteVector.fromMemorySegment(B64, seg, offset, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /** Sixteen bytes from {@code offset}, to be widened eight at a time by {@link #unsignedPart}. */
    static ByteVector bytes16(MemorySegment seg, long offset) {
        return ByteVector.fromMemorySegment(B128, seg, offset, LE);
    }

    /**
     * Bytes {@code 8*part .. 8*part + 7} of sixteen, as eight ints in 0..255. One 16-byte load and two widenings
     * measured about 20% faster in the K-quant kernels than two 8-byte loads: each load from a segment carries
     * bounds and liveness checks.
     */
    static IntVector unsignedPart(ByteVector bytes16, int part) {
        return (IntVector) bytes16.convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
    }

    /** Eight ints as floats. */
    static FloatVector toFloats(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    /** Eight 16-bit values from {@code offset}, sign-extended to eight ints. */
    static IntVector shorts(MemorySegment seg, long offset) {
        return (IntVector) ShortVector.fromMemorySegment(S128, seg, offset, LE).convertShape(VectorOperators.S2I, I, 0);
    }

    /** Thirty-two bytes from {@code offset} as eight little-endian ints: lane {@code i} holds bytes 4i .. 4i+3. */
    static IntVector ints(MemorySegment seg, long offset) {
        return IntVector.fromMemorySegment(I, seg, offset, LE);
    }

    /** Sixteen bytes from {@code offset} as four little-endian ints, in lanes 0..3 and again in lanes 4..7. */
    static IntVector twice16(MemorySegment seg, long offset) {
        IntVector four = IntVector.fromMemorySegment(I128, seg, offset, LE);
        return ((IntVector) four.reinterpretShape(I, 0)).rearrange(TWICE);
    }

    /** The half-precision number at {@code offset}. */
    static float half(MemorySegment seg, long offset) {
        return Float.float16ToFloat(seg.get(TypeKernels.LE_SHORT, offset));
    }
}
