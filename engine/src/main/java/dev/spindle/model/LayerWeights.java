package dev.spindle.model;

import dev.spindle.quant.QuantizedMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The weights of one transformer block in their stored types: views of the mapped file, or interleaved copies of
 * its matrices ({@link ModelWeights#interleaved}). Vectors are F32 segments;
 * matrices are {@code [rows][cols]}.
 *
 * @param attnNorm {@code [dim]} RMSNorm scale before attention
 * @param wq {@code [qDim][dim]} query projection
 * @param wk {@code [kvDim][dim]} key projection
 * @param wv {@code [kvDim][dim]} value projection
 * @param qBias {@code [qDim]} or null (qwen2)
 * @param kBias {@code [kvDim]} or null (qwen2)
 * @param vBias {@code [kvDim]} or null (qwen2)
 * @param qNorm {@code [headDim]} per-head RMSNorm scale of Q, or null (qwen3)
 * @param kNorm {@code [headDim]} per-head RMSNorm scale of K, or null (qwen3)
 * @param wo {@code [dim][qDim]} attention output projection
 * @param ffnNorm {@code [dim]} RMSNorm scale before the feed-forward network
 * @param wGate {@code [ffnDim][dim]} SwiGLU gate projection
 * @param wUp {@code [ffnDim][dim]} SwiGLU up projection
 * @param wDown {@code [dim][ffnDim]} down projection
 */
public record LayerWeights(
        MemorySegment attnNorm,
        QuantizedMatrix wq,
        QuantizedMatrix wk,
        QuantizedMatrix wv,
        MemorySegment qBias,
        MemorySegment kBias,
        MemorySegment vBias,
        MemorySegment qNorm,
        MemorySegment kNorm,
        QuantizedMatrix wo,
        MemorySegment ffnNorm,
        QuantizedMatrix wGate,
        QuantizedMatrix wUp,
        QuantizedMatrix wDown) {

    /** These weights with their matrices in the layout products read fastest ({@link ModelWeights#interleaved}). */
    LayerWeights interleaved(Arena arena) {
        return new LayerWeights(
                attnNorm,
                wq.interleaved(arena),
                wk.interleaved(arena),
                wv.interleaved(arena),
                qBias,
                kBias,
                vBias,
                qNorm,
                kNorm,
                wo.interleaved(arena),
                ffnNorm,
                wGate.interleaved(arena),
                wUp.interleaved(arena),
                wDown.interleaved(arena));
    }
}
