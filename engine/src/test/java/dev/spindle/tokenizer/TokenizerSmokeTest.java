package dev.spindle.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

class TokenizerSmokeTest {
    @Test
    void helloWorld() {
        assertArrayEquals(
                new int[] {9707, 1879}, HuggingFaceVocabularies.qwen3().encode("Hello world", false, true));
        assertArrayEquals(
                new int[] {9906, 1917}, HuggingFaceVocabularies.llama3().encode("Hello world", false, true));
        assertArrayEquals(
                new int[] {128000, 9906, 1917}, HuggingFaceVocabularies.llama3().encode("Hello world", true, true));
    }
}
