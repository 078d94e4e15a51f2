package dev.spindle.model;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufTensor;
import dev.spindle.quant.GgmlType;
import dev.spindle.quant.QuantizedMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * All weights of a model in their stored types: as {@link #read} finds them, views of the mapped GGUF file, nothing
 * copied or converted; after {@link #interleaved}, with the matrices whose format has a faster layout for products
 * copied into it once (Q4_0, {@link QuantizedMatrix#interleaved}).
 *
 * @param tokenEmbedding {@code [vocab][dim]} one row per token
 * @param outputNorm {@code [dim]} the final RMSNorm scale
 * @param output {@code [vocab][dim]} the language-model head; the same matrix as {@code tokenEmbedding} when the
 *     embeddings are tied (the file has no {@code output.weight})
 * @param ropeFreqFactors {@code [ropeDims / 2]} Llama 3 RoPE frequency divisors ({@code rope_freqs.weight}), or null
 * @param layers the transformer blocks, in order
 * @param tiedEmbeddings whether the output head is the token embedding matrix (as stored; the head may be an
 *     interleaved copy of it)
 */
public record ModelWeights(
        QuantizedMatrix tokenEmbedding,
        MemorySegment outputNorm,
        QuantizedMatrix output,
        MemorySegment ropeFreqFactors,
        List<LayerWeights> layers,
        boolean tiedEmbeddings) {

    public ModelWeights {
        layers = List.copyOf(layers);
    }

    /**
     * These weights with every matrix that products read in the layout they read fastest ({@link
     * QuantizedMatrix#interleaved}): copies allocated in {@code arena}, which must outlive every forward pass over
     * them. The token embedding is looked up by row and stays as stored.
     *
     * @throws IllegalArgumentException naming a weight the interleaved products cannot take (a non-finite Q4_0 scale)
     */
    public ModelWeights interleaved(Arena arena) {
        List<LayerWeights> copies = new ArrayList<>(layers.size());
        for (LayerWeights l : layers) {
            copies.add(l.interleaved(arena));
        }
        return new ModelWeights(
                tokenEmbedding, outputNorm, output.interleaved(arena), ropeFreqFactors, copies, tiedEmbeddings);
    }

    /**
     * Finds every weight of {@code config}'s model in {@code file} and checks its shape and type.
     *
     * @throws UnsupportedModelException naming the tensor that is missing, misshapen or of an unsupported type
     */
    public static ModelWeights read(GgufFile file, ModelConfig config) {
        Reader r = new Reader(file);
        int dim = config.dim();
        QuantizedMatrix embedding = r.matrix("token_embd.weight", config.vocabSize(), dim);
        QuantizedMatrix output = file.findTensor("output.weight").isEmpty()
                ? embedding
                : r.matrix("output.weight", config.vocabSize(), dim);
        MemorySegment ropeFreqs = file.findTensor("rope_freqs.weight").isEmpty()
                ? null
                : r.vector("rope_freqs.weight", config.ropeDims() / 2);
        List<LayerWeights> layers = new ArrayList<>(config.layers());
        Architecture arch = config.architecture();
        for (int i = 0; i < config.layers(); i++) {
            String b = "blk." + i + ".";
            boolean bias =
                    arch.requiresQkvBias() || file.findTensor(b + "attn_q.bias").isPresent();
            layers.add(new LayerWeights(
                    r.vector(b + "attn_norm.weight", dim),
                    r.matrix(b + "attn_q.weight", config.qDim(), dim),
                    r.matrix(b + "attn_k.weight", config.kvDim(), dim),
                    r.matrix(b + "attn_v.weight", config.kvDim(), dim),
                    bias ? r.vector(b + "attn_q.bias", config.qDim()) : null,
                    bias ? r.vector(b + "attn_k.bias", config.kvDim()) : null,
                    bias ? r.vector(b + "attn_v.bias", config.kvDim()) : null,
                    arch.hasQkNorm() ? r.vector(b + "attn_q_norm.weight", config.headDim()) : null,
                    arch.hasQkNorm() ? r.vector(b + "attn_k_norm.weight", config.headDim()) : null,
                    r.matrix(b + "attn_output.weight", dim, config.qDim()),
                    r.vector(b + "ffn_norm.weight", dim),
                    r.matrix(b + "ffn_gate.weight", config.ffnDim(), dim),
                    r.matrix(b + "ffn_up.weight", config.ffnDim(), dim),
                    r.matrix(b + "ffn_down.weight", dim, config.ffnDim())));
        }
        return new ModelWeights(
                embedding, r.vector("output_norm.weight", dim), output, ropeFreqs, layers, output == embedding);
    }

    private record Reader(GgufFile file) {
        GgufTensor tensor(String name) {
            return file.findTensor(name)
                    .orElseThrow(() -> new UnsupportedModelException("the file has no tensor " + name));
        }

        QuantizedMatrix matrix(String name, int rows, int cols) {
            GgufTensor t = tensor(name);
            long[] shape = t.shape();
            if (shape.length != 2 || shape[0] != cols || shape[1] != rows) {
                throw new UnsupportedModelException(name + " has shape " + java.util.Arrays.toString(shape)
                        + ", expected [" + cols + ", " + rows + "]");
            }
            // every type GgufFile accepts is a GgmlType, and every GgmlType has kernels
            return new QuantizedMatrix(t.type(), rows, cols, t.data());
        }

        MemorySegment vector(String name, int length) {
            GgufTensor t = tensor(name);
            long[] shape = t.shape();
            if (shape.length != 1 || shape[0] != length) {
                throw new UnsupportedModelException(
                        name + " has shape " + java.util.Arrays.toString(shape) + ", expected [" + length + "]");
            }
            if (t.type() != GgmlType.F32) {
                throw new UnsupportedModelException(
                        name + " has tensor type " + t.type() + "; Spindle reads vectors in F32 only");
            }
            return t.data();
        }
    }
}
