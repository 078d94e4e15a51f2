package dev.spindle.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The real chat templates of the shared test tokenizers ({@code tokenizer_config.json}'s {@code chat_template}). */
final class SharedTemplates {

    private SharedTemplates() {}

    static String source(String folder) {
        Path config = Path.of(System.getProperty("spindle.shared"), "tokenizers", folder, "tokenizer_config.json");
        try {
            return new ObjectMapper()
                    .readTree(config.toFile())
                    .get("chat_template")
                    .asText();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ChatTemplate qwen3() {
        return ChatTemplate.of("qwen3", source("qwen3"), "", "<|im_end|>");
    }

    static ChatTemplate llama3() {
        return ChatTemplate.of("llama3", source("llama3"), "<|begin_of_text|>", "<|end_of_text|>");
    }
}
