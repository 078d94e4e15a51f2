package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufTensor;
import dev.spindle.gguf.GgufWriter;
import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.memory.KvType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every hyper-parameter comes from the file; what the engine cannot run fails at load time, naming the culprit. */
class ModelLoadingTest {
    @TempDir
    Path dir;

    @Test
    void readsStories260KsHyperParameters() throws IOException {
        try (Model model = Model.open(StoriesForwardTest.stories())) {
            ModelConfig c = model.config();
            assertEquals(Architecture.LLAMA, c.architecture());
            assertEquals(64, c.dim());
            assertEquals(5, c.layers());
            assertEquals(172, c.ffnDim());
            assertEquals(8, c.heads());
            assertEquals(4, c.kvHeads());
            assertEquals(2, c.groupSize());
            assertEquals(8, c.headDim());
            assertEquals(512, c.vocabSize());
            assertEquals(2048, c.contextLength());
            assertEquals(1e-5f, c.rmsNormEps(), 1e-12);
            assertEquals(RopeStyle.NORMAL, c.ropeStyle());
            assertEquals(8, c.ropeDims());
            assertEquals(10000f, c.ropeFreqBase());
            assertEquals(1f, c.ropeFreqScale());
            assertTrue(!model.weights().tiedEmbeddings());
            assertNull(model.weights().ropeFreqFactors());
            assertNull(model.weights().layers().getFirst().qBias());
        }
    }

    /** Rewrites stories260K with its metadata edited and the tensors {@code keep} accepts. */
    private Path rewrite(String name, Consumer<GgufWriter> edit, Predicate<String> keep) throws IOException {
        Path out = dir.resolve(name + ".gguf");
        try (GgufFile source = GgufFile.open(StoriesForwardTest.stories())) {
            GgufWriter writer = new GgufWriter().putAll(source.metadata());
            for (GgufTensor t : source.tensors()) {
                if (keep.test(t.name())) {
                    writer.addTensor(t.name(), t.type(), t.shape(), t.data());
                }
            }
            edit.accept(writer);
            writer.write(out);
        }
        return out;
    }

    private static String loadError(Path file) {
        Exception e =
                assertThrows(RuntimeException.class, () -> Model.open(file).close());
        return e.getMessage();
    }

    @Test
    void anUnsupportedArchitectureIsNamed() throws IOException {
        Path file = rewrite("gpt2", w -> w.putString("general.architecture", "gpt2"), t -> true);
        String message = loadError(file);
        assertTrue(message.contains("unsupported architecture 'gpt2'"), message);
    }

    @Test
    void aMissingTensorIsNamed() throws IOException {
        Path file = rewrite("missing", w -> {}, t -> !t.equals("blk.3.ffn_up.weight"));
        String message = loadError(file);
        assertTrue(message.contains("blk.3.ffn_up.weight"), message);
    }

    @Test
    void anUnsupportedRopeScalingIsNamed() throws IOException {
        Path file = rewrite("yarn", w -> w.putString("llama.rope.scaling.type", "yarn"), t -> true);
        String message = loadError(file);
        assertTrue(message.contains("'yarn'"), message);
    }

    @Test
    void anUnsupportedTensorTypeIsNamed() throws IOException {
        Path file = rewrite("q2k", w -> {}, t -> true);
        // turn the type of blk.0.attn_q.weight into GGML's Q2_K (10), which Spindle does not read
        byte[] bytes = Files.readAllBytes(file);
        byte[] name = "blk.0.attn_q.weight".getBytes(StandardCharsets.UTF_8);
        int at = indexOf(bytes, name) + name.length;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int dims = b.getInt(at);
        b.putInt(at + 4 + 8 * dims, 10);
        Files.write(file, bytes);
        String message = loadError(file);
        assertTrue(message.contains("blk.0.attn_q.weight") && message.contains("10"), message);
    }

    @Test
    void withoutAnOutputMatrixTheEmbeddingsAreTied() throws IOException {
        Path file = rewrite("tied", w -> {}, t -> !t.equals("output.weight"));
        try (Model model = Model.open(file)) {
            assertTrue(model.weights().tiedEmbeddings());
            assertSame(model.weights().tokenEmbedding(), model.weights().output());
            ReferenceTransformer reference = new ReferenceTransformer(model);
            try (KvCache cache = TestCaches.cache(model, 1, KvType.F32);
                    ForwardPass forward = new ForwardPass(model, cache, 16, 1, 1)) {
                ForwardBatch batch = new ForwardBatch(16, 1);
                int[] tokens = {1, 403, 407, 261, 378};
                batch.add(new int[] {0}, 0, tokens, 0, tokens.length, true);
                float[] logits = forward.forward(batch);
                double[] expected = reference.logits(tokens);
                for (int i = 0; i < expected.length; i++) {
                    assertEquals(expected[i], logits[i], 1e-3);
                }
                assertNotNull(logits);
            }
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
