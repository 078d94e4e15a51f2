package dev.spindle.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.quant.GgmlType;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Reading a real GGUF file: llama.cpp's conversion of Karpathy's stories260K. */
class GgufFileTest {

    static Path stories() {
        return Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");
    }

    @Test
    void readsTheHeaderOfStories260K() throws IOException {
        try (GgufFile f = GgufFile.open(stories())) {
            assertEquals(3, f.version());
            assertEquals(32, f.alignment());
            assertEquals(1_185_376, f.fileSize());
            assertEquals(0, f.dataOffset() % 32);
            GgufMetadata m = f.metadata();
            assertEquals(19, m.size());
            assertEquals("llama", m.requireString("general.architecture"));
            assertEquals("llama", m.getString("tokenizer.ggml.model", null));
            assertEquals(2048, m.getInt("llama.context_length", 0));
            assertEquals(64, m.getInt("llama.embedding_length", 0));
            assertEquals(172, m.getInt("llama.feed_forward_length", 0));
            assertEquals(5, m.getInt("llama.block_count", 0));
            assertEquals(8, m.getInt("llama.attention.head_count", 0));
            assertEquals(4, m.getInt("llama.attention.head_count_kv", 0));
            assertEquals(8, m.getInt("llama.rope.dimension_count", 0));
            assertEquals(1e-5f, m.getFloat("llama.attention.layer_norm_rms_epsilon", 0));
            assertEquals(1, m.getInt("tokenizer.ggml.bos_token_id", -1));
            assertEquals(2, m.getInt("tokenizer.ggml.eos_token_id", -1));
            assertEquals(0xFFFF_FFFFL, m.getLong("tokenizer.ggml.padding_token_id", 0));
            assertThrows(GgufFormatException.class, () -> m.getInt("tokenizer.ggml.padding_token_id", 0));
            assertEquals(GgufValueType.UINT32, m.typeOf("llama.block_count"));
            assertFalse(m.contains("general.alignment"));

            List<String> tokens = m.getStringArray("tokenizer.ggml.tokens");
            assertEquals(512, tokens.size());
            assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
            assertEquals("<0xFF>", tokens.get(258));
            assertEquals(512, m.getFloatArray("tokenizer.ggml.scores").length);
            int[] types = m.getIntArray("tokenizer.ggml.token_type");
            assertEquals(512, types.length);
            assertEquals(3, types[1], "<s> is a control token");
            assertEquals(6, types[3], "<0x00> is a byte token");
            assertEquals(1, types[300], "a normal piece");
        }
    }

    @Test
    void describesEveryTensorOfStories260K() throws IOException {
        try (GgufFile f = GgufFile.open(stories())) {
            assertEquals(3 + 5 * 9, f.tensors().size());
            GgufTensor embd = f.tensor("token_embd.weight");
            assertEquals(GgmlType.F32, embd.type());
            assertArrayEquals(new long[] {64, 512}, embd.shape());
            assertEquals(64, embd.rowLength());
            assertEquals(512, embd.rows());
            assertEquals(64 * 512, embd.elementCount());
            assertEquals(64 * 512 * 4, embd.byteSize());
            assertEquals(embd.byteSize(), embd.data().byteSize());
            assertEquals(0, embd.offset());

            assertArrayEquals(
                    new long[] {172, 64}, f.tensor("blk.0.ffn_down.weight").shape());
            assertArrayEquals(
                    new long[] {64, 172}, f.tensor("blk.4.ffn_up.weight").shape());
            assertArrayEquals(
                    new long[] {64, 32}, f.tensor("blk.2.attn_k.weight").shape());
            assertArrayEquals(
                    new long[] {64}, f.tensor("blk.3.attn_norm.weight").shape());
            assertEquals(1, f.tensor("output_norm.weight").rows());
            assertTrue(f.findTensor("output.weight").isPresent());
            assertTrue(f.findTensor("blk.5.attn_q.weight").isEmpty());
            GgufFormatException missing = assertThrows(GgufFormatException.class, () -> f.tensor("rope_freqs.weight"));
            assertTrue(missing.getMessage().contains("'rope_freqs.weight'"), missing.getMessage());

            long total = 0;
            for (GgufTensor t : f.tensors()) {
                assertEquals(GgmlType.F32, t.type(), t.name());
                assertEquals(0, t.offset() % f.alignment(), t.name());
                total += t.byteSize();
            }
            assertEquals(
                    f.fileSize() - f.dataOffset(), total, "F32 tensors of 32-byte multiples fill the data section");
        }
    }

    @Test
    void tensorDataIsAViewOfTheFileBytes() throws IOException {
        byte[] file = Files.readAllBytes(stories());
        try (GgufFile f = GgufFile.open(stories())) {
            for (GgufTensor t : f.tensors()) {
                int start = (int) (f.dataOffset() + t.offset());
                for (long i : new long[] {0, t.elementCount() / 2, t.elementCount() - 1}) {
                    float expected = java.nio.ByteBuffer.wrap(file, start + (int) i * 4, 4)
                            .order(ByteOrder.LITTLE_ENDIAN)
                            .getFloat();
                    assertEquals(
                            expected,
                            t.data()
                                    .getAtIndex(
                                            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i));
                }
            }
            // The norm weights of a trained model are near 1, the embeddings small: a sanity check of the decoding.
            float norm = f.tensor("output_norm.weight").data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
            assertTrue(norm > 0.1f && norm < 10f, "norm weight " + norm);
        }
    }

    @Test
    void tensorViewsAreReadableFromOtherThreadsAndDieWithTheFile() throws Exception {
        GgufFile f = GgufFile.open(stories());
        GgufTensor t = f.tensor("token_embd.weight");
        try (var pool = Executors.newFixedThreadPool(2)) {
            Future<Float> sum = pool.submit(() -> {
                float s = 0;
                for (long i = 0; i < t.elementCount(); i++) {
                    s += t.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                }
                return s;
            });
            assertTrue(Float.isFinite(sum.get()));
        }
        f.close();
        assertThrows(IllegalStateException.class, () -> t.data().get(ValueLayout.JAVA_BYTE, 0));
        f.close(); // twice is harmless
    }
}
