package dev.spindle.kvcache;

/**
 * The chained hash that names a full block for prefix caching: a block's hash mixes its parent's hash (so, through
 * the chain, every earlier token and the request's cache key) with its own tokens. The cache key covers whatever else
 * changes the KV content for the same tokens, such as an adapter id.
 *
 * <p>A 64-bit hash only finds candidates; {@link BlockPool} confirms a hit by comparing tokens, cache key and the
 * parent block itself, so a collision costs a comparison and never a wrong hit.
 */
public final class PrefixHash {

    private static final long SEED = 0x5350_494E_444C_4521L;

    private PrefixHash() {}

    /** The hash that the first block of a request with cache key {@code cacheKey} chains from. */
    public static long root(long cacheKey) {
        return mix(SEED ^ mix(cacheKey));
    }

    /** The hash of a block holding {@code tokens[from .. from + count)} whose parent (or root) hash is {@code parent}. */
    public static long block(long parent, int[] tokens, int from, int count) {
        long h = parent ^ (count * 0xC2B2_AE3D_27D4_EB4FL);
        for (int i = 0; i < count; i++) {
            h = Long.rotateLeft((h ^ tokens[from + i]) * 0x9E37_79B9_7F4A_7C15L, 29);
        }
        return mix(h);
    }

    /** A bijective 64-bit finaliser (the variant from SplitMix64): every input bit affects every output bit. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
