package dev.spindle.model;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufTensor;

/**
 * A model's hyper-parameters, all read from its GGUF file.
 *
 * @param architecture the architecture and its variations
 * @param dim the width of the residual stream ({@code embedding_length})
 * @param layers the number of transformer blocks ({@code block_count})
 * @param ffnDim the hidden width of the feed-forward network ({@code feed_forward_length})
 * @param heads query heads ({@code attention.head_count})
 * @param kvHeads key/value heads ({@code attention.head_count_kv}); {@code heads / kvHeads} query heads share each
 * @param headDim the width of one head ({@code attention.key_length}, by default {@code dim / heads})
 * @param vocabSize tokens in the vocabulary (rows of {@code token_embd.weight})
 * @param contextLength the context the model was trained for ({@code context_length})
 * @param rmsNormEps the epsilon under the square root of RMSNorm ({@code attention.layer_norm_rms_epsilon})
 * @param ropeStyle which dimensions RoPE rotates together
 * @param ropeDims how many leading dimensions of each head RoPE rotates ({@code rope.dimension_count})
 * @param ropeFreqBase the base θ of RoPE's frequencies ({@code rope.freq_base})
 * @param ropeFreqScale positions are multiplied by this before rotation: {@code 1 / rope.scaling.factor} for linear
 *     scaling, else 1
 */
public record ModelConfig(
        Architecture architecture,
        int dim,
        int layers,
        int ffnDim,
        int heads,
        int kvHeads,
        int headDim,
        int vocabSize,
        int contextLength,
        float rmsNormEps,
        RopeStyle ropeStyle,
        int ropeDims,
        float ropeFreqBase,
        float ropeFreqScale) {

    public ModelConfig {
        positive("dim", dim);
        positive("layers", layers);
        positive("ffnDim", ffnDim);
        positive("heads", heads);
        positive("kvHeads", kvHeads);
        positive("headDim", headDim);
        positive("vocabSize", vocabSize);
        positive("contextLength", contextLength);
        if (heads % kvHeads != 0) {
            throw new UnsupportedModelException(
                    "head count " + heads + " is not a multiple of the key/value head count " + kvHeads);
        }
        if (ropeDims <= 0 || ropeDims > headDim || ropeDims % 2 != 0) {
            throw new UnsupportedModelException(
                    "rope dimension count " + ropeDims + " must be even and in (0, head size " + headDim + "]");
        }
        if (!(rmsNormEps > 0) || !(ropeFreqBase > 0) || !(ropeFreqScale > 0)) {
            throw new UnsupportedModelException("rmsNormEps, ropeFreqBase and ropeFreqScale must be > 0, got "
                    + rmsNormEps + ", " + ropeFreqBase + ", " + ropeFreqScale);
        }
    }

    private static void positive(String name, int value) {
        if (value <= 0) {
            throw new UnsupportedModelException(name + " must be > 0, got " + value);
        }
    }

    /** Width of all query heads together. */
    public int qDim() {
        return heads * headDim;
    }

    /** Width of all key (or value) heads together. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** How many query heads share one key/value head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /**
     * Reads the hyper-parameters of {@code file}.
     *
     * @throws UnsupportedModelException naming what the engine does not support, or a missing key
     */
    public static ModelConfig read(GgufFile file) {
        var md = file.metadata();
        String archName = md.getString("general.architecture", null);
        if (archName == null) {
            throw new UnsupportedModelException("the file has no general.architecture");
        }
        Architecture arch = Architecture.fromGguf(archName);
        String p = arch.ggufName() + ".";
        int dim = required(md.getInt(p + "embedding_length", -1), p + "embedding_length");
        int layers = required(md.getInt(p + "block_count", -1), p + "block_count");
        int ffnDim = required(md.getInt(p + "feed_forward_length", -1), p + "feed_forward_length");
        int heads = required(md.getInt(p + "attention.head_count", -1), p + "attention.head_count");
        int kvHeads = md.getInt(p + "attention.head_count_kv", heads);
        int headDim = md.getInt(p + "attention.key_length", dim / heads);
        int valueDim = md.getInt(p + "attention.value_length", headDim);
        if (valueDim != headDim) {
            throw new UnsupportedModelException(
                    "key length " + headDim + " differs from value length " + valueDim + ": not supported");
        }
        float eps = md.getFloat(p + "attention.layer_norm_rms_epsilon", Float.NaN);
        if (Float.isNaN(eps)) {
            throw new UnsupportedModelException("the file has no " + p + "attention.layer_norm_rms_epsilon");
        }
        GgufTensor embedding = file.findTensor("token_embd.weight")
                .orElseThrow(() -> new UnsupportedModelException("the file has no tensor token_embd.weight"));
        int vocab = md.getInt(p + "vocab_size", (int) embedding.shape()[1]);
        int context = md.getInt(p + "context_length", 4096);
        int ropeDims = md.getInt(p + "rope.dimension_count", headDim);
        float freqBase = md.getFloat(p + "rope.freq_base", 10000f);
        String scaling = md.getString(p + "rope.scaling.type", "none");
        float freqScale = switch (scaling) {
            case "none" -> 1f / md.getFloat(p + "rope.scale_linear", 1f);
            case "linear" -> 1f / md.getFloat(p + "rope.scaling.factor", 1f);
            default ->
                throw new UnsupportedModelException("unsupported RoPE scaling type '" + scaling
                        + "' (" + p + "rope.scaling.type): Spindle supports none, linear and Llama 3's"
                        + " frequency factors (rope_freqs.weight)");
        };
        return new ModelConfig(
                arch,
                dim,
                layers,
                ffnDim,
                heads,
                kvHeads,
                headDim,
                vocab,
                context,
                eps,
                arch.ropeStyle(),
                ropeDims,
                freqBase,
                freqScale);
    }

    private static int required(int value, String key) {
        if (value < 0) {
            throw new UnsupportedModelException("the file has no " + key);
        }
        return value;
    }
}
