package dev.spindle.quant;

/**
 * One weight row decoded for a product with several tokens: each row is read from memory and unpacked once, then
 * reused for every token. One per thread; sized at construction, so products allocate nothing.
 *
 * <p>A quantized row becomes its quants as integer-valued floats ({@code q}, before scaling), one scale per block
 * of {@link #blockLength} quants, the element where each block starts (the order in which a format's fused kernel
 * takes its blocks), and per group of 16 the coefficient of the activation sum that the kernel subtracts at the end.
 * The multi-token kernels ({@link TokenDots}) replay the fused single-token kernel's operations on this
 * representation in the same order, so a token's result is bit for bit the same whatever the batch it is in. A
 * dense row (F32, F16, BF16) becomes plain floats.
 *
 * <p>The formats with 8-bit activations ({@link Block32Kernels}) decode two rows at a time: row {@code k}'s signed
 * quants at {@code q[k * maxCols ..]} in the lane order of {@link Activations}, its scales at {@code scales[k *
 * maxCols / 32 ..]} and its minimums at {@code coefficients[k * maxCols / 32 ..]}.
 */
public final class RowScratch {

    final float[] q; // [2][maxCols] quants as floats, in block order; dense rows: the weights
    final float[] scales; // [blocks]
    final int[]
            starts; // [blocks] element of the row where each block starts: b * 32 for blocks of 32, Q6_K's order for 16
    final float[] coefficients; // [cols / 16] subtracted: coefficient[g] * sum of x over group g
    final float[] lanes = new float[TypeKernels.LANE_SCRATCH]; // the lanes of an accumulator, summed in a fixed order
    final float[] kquantLanes = new float[KQuantKernels.SCRATCH]; // accumulators of the K-quant kernels
    final float[] tileLanes = new float[8 * Lanes.N]; // [8][lanes] the accumulators of a tile of TokenDots
    final float[] tileMinimums = new float[8]; // their m*s sums
    int blockLength; // 16 or 32; 0 for a dense row
    int blocks;
    boolean corrected; // whether coefficients are used

    private final int maxCols;

    /** Room for rows of up to {@code maxCols} elements. */
    public RowScratch(int maxCols) {
        this.maxCols = maxCols;
        q = new float[2 * maxCols];
        int groups = TypeKernels.groupCount(maxCols);
        scales = new float[groups];
        starts = new int[groups];
        coefficients = new float[groups];
    }

    /** The longest row this scratch holds. */
    public int maxCols() {
        return maxCols;
    }
}
