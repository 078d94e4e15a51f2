package dev.spindle.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.tokenizer.TokenType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading Hugging Face tokenizer folders into what GGUF stores, by llama.cpp's converter's rules. */
class HfTokenizerTest {

    static final Path SHARED = Path.of(System.getProperty("spindle.shared"));

    @TempDir
    Path dir;

    @Test
    void qwen3() throws IOException {
        HfTokenizer t = HfTokenizer.load(SHARED.resolve("tokenizers/qwen3"));
        assertEquals(151_669, t.size());
        assertEquals("qwen2", t.detectPre());
        assertEquals(151_387, t.merges().size());
        assertEquals("Ġ Ġ", t.merges().getFirst(), "pairs joined by a space");
        assertEquals(Map.of("eos", 151_645, "pad", 151_643), t.specialIds());
        assertEquals(false, t.addBos());
        assertNull(t.addEos());
        assertTrue(t.chatTemplate().contains("<|im_start|>"));
        assertEquals("<think>", t.tokens().get(151_667));
        assertEquals(TokenType.USER_DEFINED.code(), t.tokenTypes()[151_667]);
        assertEquals(TokenType.CONTROL.code(), t.tokenTypes()[151_644]);
        assertEquals(TokenType.NORMAL.code(), t.tokenTypes()[1000]);
    }

    @Test
    void llama3() throws IOException {
        HfTokenizer t = HfTokenizer.load(SHARED.resolve("tokenizers/llama3"));
        assertEquals(128_256, t.size());
        assertEquals("llama-bpe", t.detectPre());
        assertEquals(280_147, t.merges().size());
        assertEquals(Map.of("bos", 128_000, "eos", 128_001), t.specialIds());
        assertNull(t.addBos());
        assertEquals("<|reserved_special_token_250|>", t.tokens().get(128_255));
    }

    /** A small tokenizer with a hole in its ids, a TemplateProcessing post-processor and named templates. */
    @Test
    void holesPostProcessorAndNamedTemplates() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
                           "merges": ["a b"]},
                 "added_tokens": [
                   {"id": 5, "content": "<s>", "special": true},
                   {"id": 6, "content": "</s>", "special": true},
                   {"id": 7, "content": "\u2581hi", "special": false},
                   {"id": 8, "content": "<|tool|>", "special": false}],
                 "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\\\s+"}},
                 "post_processor": {"type": "TemplateProcessing",
                   "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}}
                """);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": {"content": "<s>"}, "eos_token": "</s>", "unk_token": "<unk>",
                 "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]}
                """);
        HfTokenizer t = HfTokenizer.load(dir);
        assertEquals(List.of("a", "b", "ab", "[PAD3]", "[PAD4]", "<s>", "</s>", " hi", "<|tool|>"), t.tokens());
        int[] types = t.tokenTypes();
        assertEquals(TokenType.UNUSED.code(), types[3]);
        assertEquals(TokenType.CONTROL.code(), types[5]);
        assertEquals(TokenType.USER_DEFINED.code(), types[7]);
        assertEquals(TokenType.CONTROL.code(), types[8], "looks special");
        assertEquals(Map.of("bos", 5, "eos", 6), t.specialIds(), "<unk> is not an added token");
        assertEquals(true, t.addBos());
        assertEquals(false, t.addEos());
        assertEquals("D", t.chatTemplate());
        assertEquals(Map.of("tool_use", "T"), t.namedChatTemplates());
        assertEquals("\\s+", t.preTokenizerRegex());
        assertNull(t.detectPre());
    }

    @Test
    void refusesWhatItCannotRead() throws IOException {
        assertThrows(IOException.class, () -> HfTokenizer.load(dir));
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
        JsonException e = assertThrows(JsonException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().contains("only BPE"), e.getMessage());
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": ");
        e = assertThrows(JsonException.class, () -> HfTokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        assertFalse(e.getMessage().isEmpty());
    }
}
