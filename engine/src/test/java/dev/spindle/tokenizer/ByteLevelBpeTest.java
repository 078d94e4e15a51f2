package dev.spindle.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Byte-level BPE with the real Qwen3 and Llama 3 vocabularies (built from their tokenizer.json). */
class ByteLevelBpeTest {

    static final Tokenizer QWEN = HuggingFaceVocabularies.qwen3();
    static final Tokenizer LLAMA = HuggingFaceVocabularies.llama3();

    static List<String> texts(Tokenizer t, String s) {
        return Arrays.stream(t.encode(s, false, true)).mapToObj(t::tokenText).toList();
    }

    @Test
    void commonWordsAreSingleTokensWithTheirLeadingSpace() {
        assertArrayEquals(new int[] {9707, 1879}, QWEN.encode("Hello world", false, true));
        assertArrayEquals(new int[] {9906, 1917}, LLAMA.encode("Hello world", false, true));
        assertEquals(List.of("Hello", "Ġworld"), texts(LLAMA, "Hello world"));
    }

    @Test
    void qwenSplitsNumbersIntoDigitsAndLlamaIntoTriples() {
        assertEquals(List.of("1", "2", "3", "4", "5"), texts(QWEN, "12345"));
        assertEquals(List.of("123", "45"), texts(LLAMA, "12345"));
    }

    @Test
    void contractionsSplitCaseInsensitively() {
        assertEquals(List.of("I", "'M", "Ġhere"), texts(LLAMA, "I'M here"));
        assertEquals(List.of("we", "'ll"), texts(QWEN, "we'll"));
    }

    @Test
    void aRunOfSpacesLeavesItsLastSpaceToTheNextWord() {
        assertEquals(List.of("a", "Ġ", "Ġb"), texts(LLAMA, "a  b"));
        assertEquals(List.of("a", "ĠĠ"), texts(QWEN, "a  "));
        assertEquals(List.of("a", ".ĊĊ", "b"), texts(LLAMA, "a.\n\nb"));
    }

    @Test
    void controlTokensAreReadFromTextOnlyWhenAllowed() {
        int imStart = 151644;
        int[] parsed = QWEN.encode("<|im_start|>user", false, true);
        assertEquals(imStart, parsed[0]);
        assertEquals(List.of("<|im_start|>", "user"), texts(QWEN, "<|im_start|>user"));
        int[] plain = QWEN.encode("<|im_start|>user", false, false);
        assertFalse(Arrays.stream(plain).anyMatch(id -> id == imStart));
        assertEquals("<|im_start|>user", QWEN.decode(plain, true));
    }

    @Test
    void userDefinedTokensAreAlwaysReadFromText() {
        int think = 151667;
        assertEquals(TokenType.USER_DEFINED, QWEN.tokenType(think));
        assertEquals(think, QWEN.encode("<think>hi", false, false)[0]);
    }

    @Test
    void bosIsAddedOnlyWhereTheVocabularyAsksAndOnlyWithAddSpecial() {
        assertEquals(128000, LLAMA.encode("hi", true, false)[0]);
        assertEquals(1, LLAMA.encode("hi", false, false).length);
        assertArrayEquals(QWEN.encode("hi", false, false), QWEN.encode("hi", true, false));
    }

    @Test
    void decodingGivesBackTheTextIncludingSpecialTokens() {
        for (String s : List.of(
                "Hello world", "  two spaces", "tab\tnewline\n", "你好，世界 🦙 👩‍💻", "<|im_start|>x<|im_end|>", "")) {
            assertEquals(s, QWEN.decode(QWEN.encode(s, false, true), true), s);
            assertEquals(s, LLAMA.decode(LLAMA.encode(s, false, true), true), s);
        }
    }

    @Test
    void controlTokensRenderAsNothingUnlessAsked() {
        int[] ids = QWEN.encode("<|im_start|>hi<|im_end|>", false, true);
        assertEquals("hi", QWEN.decode(ids, false));
        assertEquals(0, QWEN.pieceBytes(151644, false).length);
        assertEquals("<|im_start|>", QWEN.piece(151644, true));
    }

    @Test
    void anEmojiSplitOverTokensDecodesOnlyWhole() {
        int[] ids = LLAMA.encode("🦙", false, true);
        assertTrue(ids.length > 1, "the llama emoji is several byte tokens in Llama 3");
        int total = 0;
        for (int id : ids) {
            total += LLAMA.pieceBytes(id, true).length;
        }
        assertEquals("🦙".getBytes(StandardCharsets.UTF_8).length, total);
    }

    @Test
    void loneSurrogatesAreEncodedAsQuestionMarks() {
        assertArrayEquals(QWEN.encode("a?b", false, true), QWEN.encode("a\uD800b", false, true));
    }

    @Test
    void endOfGenerationTokens() {
        assertTrue(QWEN.isEndOfGeneration(151645)); // <|im_end|>, the EOS
        assertTrue(QWEN.isEndOfGeneration(151643)); // <|endoftext|>
        assertTrue(LLAMA.isEndOfGeneration(128009)); // <|eot_id|>
        assertFalse(LLAMA.isEndOfGeneration(9906));
    }

    @Test
    @Timeout(20)
    void veryLongWordsMergeWithoutQuadraticRescans() {
        String word = "ab".repeat(100_000);
        int[] ids = QWEN.encode(word, false, true);
        assertEquals(word, QWEN.decode(ids, true));
        assertTrue(ids.length <= word.length() / 2, "merges shorten a long word");
        long start = System.nanoTime();
        LLAMA.encode("x".repeat(200_000), false, true);
        assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 10);
    }
}
