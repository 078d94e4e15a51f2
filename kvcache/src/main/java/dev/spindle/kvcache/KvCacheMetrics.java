package dev.spindle.kvcache;

/**
 * A snapshot of the KV cache's occupancy and prefix-cache effectiveness.
 *
 * @param totalBlocks blocks in the pool
 * @param usedBlocks blocks referenced by at least one sequence
 * @param cachedBlocks blocks findable by prefix hash, whether in use or free (evictable)
 * @param bytesPerBlock bytes one block takes over all layers, K and V
 * @param prefixQueryTokens prompt tokens of admitted requests, looked up in the prefix cache
 * @param prefixHitTokens of those, tokens whose KV was found cached (prefill skipped)
 * @param evictedBlocks cached blocks evicted so far to make room
 */
public record KvCacheMetrics(
        int totalBlocks,
        int usedBlocks,
        int cachedBlocks,
        long bytesPerBlock,
        long prefixQueryTokens,
        long prefixHitTokens,
        long evictedBlocks) {

    /** Blocks not referenced by any sequence (some of them cached). */
    public int freeBlocks() {
        return totalBlocks - usedBlocks;
    }

    /** Fraction of blocks in use, 0 to 1. */
    public double usage() {
        return (double) usedBlocks / totalBlocks;
    }

    /** Bytes held by blocks in use. */
    public long usedBytes() {
        return usedBlocks * bytesPerBlock;
    }

    /** Fraction of looked-up prompt tokens found cached, 0 when none was looked up. */
    public double prefixHitRate() {
        return prefixQueryTokens == 0 ? 0 : (double) prefixHitTokens / prefixQueryTokens;
    }
}
