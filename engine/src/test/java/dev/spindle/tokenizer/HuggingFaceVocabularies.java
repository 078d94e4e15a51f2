package dev.spindle.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds {@link TokenizerSpec}s from the Hugging Face {@code tokenizer.json} files in the shared test data, the way
 * llama.cpp's converter lays them out in GGUF: vocabulary entries are normal tokens; added tokens are control tokens
 * when marked special or when they look special ({@code <|...|>}), user-defined otherwise.
 */
final class HuggingFaceVocabularies {

    private static final ConcurrentHashMap<String, TokenizerSpec> SPECS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    private HuggingFaceVocabularies() {}

    static Path sharedDir() {
        String shared = System.getProperty("spindle.shared");
        if (shared == null) {
            throw new IllegalStateException("system property spindle.shared is not set (run through Maven)");
        }
        return Path.of(shared);
    }

    /** The Qwen3 vocabulary (pre-tokenizer {@code qwen2}). */
    static Tokenizer qwen3() {
        return TOKENIZERS.computeIfAbsent("qwen3", k -> Tokenizer.create(spec("qwen3", "qwen2", -1, 151645, 151643)));
    }

    /** The Llama 3 vocabulary (pre-tokenizer {@code llama-bpe}). */
    static Tokenizer llama3() {
        return TOKENIZERS.computeIfAbsent(
                "llama3", k -> Tokenizer.create(spec("llama3", "llama-bpe", 128000, 128001, -1)));
    }

    static TokenizerSpec spec(String folder, String pre, int bos, int eos, int pad) {
        return SPECS.computeIfAbsent(folder, f -> read(f, pre, bos, eos, pad));
    }

    private static TokenizerSpec read(String folder, String pre, int bos, int eos, int pad) {
        try {
            JsonNode root = new ObjectMapper()
                    .readTree(sharedDir()
                            .resolve("tokenizers")
                            .resolve(folder)
                            .resolve("tokenizer.json")
                            .toFile());
            JsonNode model = root.get("model");
            JsonNode vocab = model.get("vocab");
            JsonNode added = root.get("added_tokens");
            int size = vocab.size();
            for (JsonNode a : added) {
                size = Math.max(size, a.get("id").asInt() + 1);
            }
            String[] tokens = new String[size];
            int[] types = new int[size];
            Arrays.fill(types, TokenType.NORMAL.code());
            vocab.fields().forEachRemaining(e -> tokens[e.getValue().asInt()] = e.getKey());
            for (JsonNode a : added) {
                int id = a.get("id").asInt();
                String text = a.get("content").asText();
                tokens[id] = text;
                boolean looksSpecial = text.startsWith("<|") && text.endsWith("|>");
                types[id] = a.get("special").asBoolean() || looksSpecial
                        ? TokenType.CONTROL.code()
                        : TokenType.USER_DEFINED.code();
            }
            for (int i = 0; i < size; i++) {
                if (tokens[i] == null) {
                    tokens[i] = "[PAD" + i + "]";
                    types[i] = TokenType.UNUSED.code();
                }
            }
            List<String> merges = new ArrayList<>();
            for (JsonNode m : model.get("merges")) {
                merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
            }
            return TokenizerSpec.of("gpt2", pre, List.of(tokens), null, types, merges)
                    .withSpecialIds(bos, eos, -1, pad);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
