package dev.spindle.quant;

/**
 * Rows decoded for a product with several tokens, so that each row is read from memory and unpacked once, then
 * reused for every token; and the per-thread scratch of the product kernels. One per thread; sized at construction,
 * so products allocate nothing.
 *
 * <p>The formats with 8-bit activations ({@link Block32Kernels}) decode two rows at a time: row {@code k}'s signed
 * quants as integer-valued floats at {@code q[k * maxCols ..]} in the lane order of {@link Activations}, its scales at
 * {@code scales[k * maxCols / 32 ..]} and its minimums at {@code coefficients[k * maxCols / 32 ..]}. Dense rows (F32,
 * F16, BF16) become plain floats ({@link TokenDots#denseRows}).
 */
public final class RowScratch {

    final float[] q; // [2][maxCols] quants as floats, in lane order; dense rows: the weights
    final float[] scales; // [blocks]
    final float[] coefficients; // [2][blocks] the minimums of rows with one (Q4_1, Q5_1)
    final float[] lanes = new float[TypeKernels.LANE_SCRATCH]; // the lanes of an accumulator, summed in a fixed order
    final float[] kquantLanes = new float[KQuantKernels.SCRATCH]; // accumulators of the K-quant kernels
    final float[] tileLanes = new float[8 * Lanes.N]; // [8][lanes] the accumulators of a tile of TokenDots
    final float[] tileMinimums = new float[8]; // their m*s sums

    private final int maxCols;

    /** Room for rows of up to {@code maxCols} elements. */
    public RowScratch(int maxCols) {
        this.maxCols = maxCols;
        q = new float[2 * maxCols];
        int groups = TypeKernels.groupCount(maxCols);
        scales = new float[groups];
        coefficients = new float[groups];
    }

    /** The longest row this scratch holds. */
    public int maxCols() {
        return maxCols;
    }
}
