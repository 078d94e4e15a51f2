package dev.spindle.model;

import dev.spindle.gguf.GgufFile;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * A model ready to run: its GGUF file mapped, its hyper-parameters read and every weight found and checked, and the
 * matrices whose format has a faster layout for products copied into it ({@link ModelWeights#interleaved}; Q4_0, as
 * llama.cpp repacks it). Immutable and shared by every forward pass over it; per-sequence state lives in the KV cache,
 * not here.
 */
public final class Model implements AutoCloseable {
    private final GgufFile file;
    private final Arena copies;
    private final ModelConfig config;
    private final ModelWeights weights;

    private Model(GgufFile file, Arena copies, ModelConfig config, ModelWeights weights) {
        this.file = file;
        this.copies = copies;
        this.config = config;
        this.weights = weights;
    }

    /**
     * Maps the GGUF file at {@code path} and checks that the engine can run it.
     *
     * @throws UnsupportedModelException naming the architecture, tensor, type or key the engine cannot handle
     */
    public static Model open(Path path) throws IOException {
        GgufFile file = GgufFile.open(path);
        Arena copies = Arena.ofShared();
        try {
            ModelConfig config = ModelConfig.read(file);
            ModelWeights weights;
            try {
                weights = ModelWeights.read(file, config).interleaved(copies);
            } catch (IllegalArgumentException e) {
                throw new UnsupportedModelException(e.getMessage());
            }
            return new Model(file, copies, config, weights);
        } catch (RuntimeException e) {
            copies.close();
            file.close();
            throw e;
        }
    }

    /** The mapped file, for its tokenizer and chat template. */
    public GgufFile file() {
        return file;
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    /** What this model's KV cache holds per token: its layers, KV heads and head size, in {@code type}. */
    public KvCacheShape kvCacheShape(KvType type, int blockSize) {
        return new KvCacheShape(config.layers(), config.kvHeads(), config.headDim(), blockSize, type);
    }

    /** Frees the weights' copies and unmaps the file: no forward pass over this model may run afterwards. */
    @Override
    public void close() {
        copies.close();
        file.close();
    }
}
