package dev.spindle.hf;

import dev.spindle.tokenizer.TokenType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level BPE tokenizer as a Hugging Face folder describes it ({@code tokenizer.json}, optionally
 * {@code tokenizer_config.json} and {@code chat_template.jinja}), read into the terms GGUF stores: tokens by id, token
 * types, merges, special-token ids, BOS/EOS flags and chat templates. The rules are those of llama.cpp's converter
 * ({@code convert_hf_to_gguf.py} with gguf-py's {@code SpecialVocab}), so a file built from this matches one converted
 * from the real model:
 *
 * <ul>
 *   <li>Tokens are the vocabulary and the added tokens, by id; ids no entry names become {@code [PAD<id>]} of type
 *       UNUSED.
 *   <li>Token types: NORMAL (1) for vocabulary entries; for added tokens CONTROL (3) when marked special or when they
 *       look special ({@code <|...|>}, {@code <pad>}, {@code <mask>}, ...), else USER_DEFINED (4).
 *   <li>Merges become {@code "left right"} strings, whichever of the two JSON forms the file uses.
 *   <li>Special ids ({@code bos}, {@code eos}, {@code unk}, {@code sep}, {@code pad}, {@code cls}, {@code mask}) come
 *       from {@code <name>_token} in {@code tokenizer_config.json} (a string or {@code {"content": ...}}), looked up
 *       among the added tokens.
 *   <li>{@code add_bos}/{@code add_eos} come from the post-processor when it is a {@code TemplateProcessing} that
 *       starts with BOS or ends with EOS, overridden by {@code add_bos_token}/{@code add_eos_token} in the config;
 *       absent when neither says (llama.cpp then uses its default for the pre-tokenizer).
 * </ul>
 *
 * <p>The model's {@code config.json} (which the converter also consults for special ids and for a vocabulary padded
 * beyond the tokenizer) is not read: a folder of tokenizer files describes the tokenizer only.
 */
public final class HfTokenizer {

    /** The special-token names of gguf-py's {@code SpecialVocab}, in its order. */
    public static final List<String> SPECIAL_NAMES = List.of("bos", "eos", "unk", "sep", "pad", "cls", "mask");

    private static final String QWEN2_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String LLAMA3_REGEX =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private final List<String> tokens;
    private final int[] tokenTypes;
    private final List<String> merges;
    private final String preTokenizerRegex;
    private final Map<String, Integer> specialIds;
    private final Boolean addBos;
    private final Boolean addEos;
    private final String chatTemplate;
    private final Map<String, String> namedChatTemplates;

    private HfTokenizer(
            List<String> tokens,
            int[] tokenTypes,
            List<String> merges,
            String preTokenizerRegex,
            Map<String, Integer> specialIds,
            Boolean addBos,
            Boolean addEos,
            String chatTemplate,
            Map<String, String> namedChatTemplates) {
        this.tokens = tokens;
        this.tokenTypes = tokenTypes;
        this.merges = merges;
        this.preTokenizerRegex = preTokenizerRegex;
        this.specialIds = specialIds;
        this.addBos = addBos;
        this.addEos = addEos;
        this.chatTemplate = chatTemplate;
        this.namedChatTemplates = namedChatTemplates;
    }

    /**
     * Reads the tokenizer in {@code dir}.
     *
     * @throws IOException if a file cannot be read
     * @throws JsonException if a file is not JSON or not a byte-level BPE tokenizer description
     */
    public static HfTokenizer load(Path dir) throws IOException {
        Path tokenizerFile = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new IOException(dir + " has no tokenizer.json");
        }
        Map<String, Object> tj = object(parse(tokenizerFile), "tokenizer.json");
        Path configFile = dir.resolve("tokenizer_config.json");
        Map<String, Object> config =
                Files.isRegularFile(configFile) ? object(parse(configFile), "tokenizer_config.json") : Map.of();

        Map<String, Object> model = object(tj.get("model"), "tokenizer.json: model");
        if (!"BPE".equals(model.get("type"))) {
            throw new JsonException("tokenizer.json: model type is " + model.get("type") + "; only BPE is supported");
        }
        Map<String, Object> vocab = object(model.get("vocab"), "tokenizer.json: model.vocab");
        List<Object> added = tj.get("added_tokens") == null ? List.of() : list(tj.get("added_tokens"), "added_tokens");

        int size = 0;
        for (Map.Entry<String, Object> e : vocab.entrySet()) {
            size = Math.max(size, id(e.getValue(), "vocab entry \"" + e.getKey() + "\"") + 1);
        }
        for (Object a : added) {
            size = Math.max(size, id(object(a, "added token").get("id"), "added token id") + 1);
        }
        String[] byId = new String[size];
        int[] types = new int[size];
        for (Map.Entry<String, Object> e : vocab.entrySet()) {
            int id = id(e.getValue(), "vocab entry");
            byId[id] = e.getKey();
            types[id] = TokenType.NORMAL.code();
        }
        Map<String, Integer> addedIds = new LinkedHashMap<>();
        for (Object a : added) {
            Map<String, Object> t = object(a, "added token");
            int id = id(t.get("id"), "added token id");
            String content = string(t.get("content"), "added token content");
            boolean special = Boolean.TRUE.equals(t.get("special"));
            addedIds.putIfAbsent(content, id);
            if (special || looksSpecial(content)) {
                byId[id] = content;
                types[id] = TokenType.CONTROL.code();
            } else {
                // llama.cpp treats user-defined tokens as already normalized: SentencePiece's space marker is a space.
                byId[id] = content.replace('\u2581', ' ');
                types[id] = TokenType.USER_DEFINED.code();
            }
        }
        for (int i = 0; i < size; i++) {
            if (byId[i] == null) {
                byId[i] = "[PAD" + i + "]";
                types[i] = TokenType.UNUSED.code();
            }
        }

        List<Object> rawMerges = model.get("merges") == null ? List.of() : list(model.get("merges"), "model.merges");
        String[] merges = new String[rawMerges.size()];
        for (int i = 0; i < merges.length; i++) {
            Object m = rawMerges.get(i);
            if (m instanceof String s) {
                merges[i] = s;
            } else if (m instanceof List<?> pair && pair.size() == 2) {
                merges[i] = string(pair.get(0), "merge") + " " + string(pair.get(1), "merge");
            } else {
                throw new JsonException("tokenizer.json: merge #" + i + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
        }

        Map<String, Integer> specialIds = new LinkedHashMap<>();
        for (String name : SPECIAL_NAMES) {
            String content = tokenContent(config.get(name + "_token"));
            if (content != null && addedIds.containsKey(content)) {
                specialIds.put(name, addedIds.get(content));
            }
        }

        Boolean addBos = null;
        Boolean addEos = null;
        if (tj.get("post_processor") instanceof Map<?, ?> post && "TemplateProcessing".equals(post.get("type"))) {
            List<?> single = post.get("single") instanceof List<?> l ? l : List.of();
            String bos = tokenContent(config.get("bos_token"));
            String eos = tokenContent(config.get("eos_token"));
            if (!single.isEmpty()) {
                addBos = bos != null && bos.equals(templateSpecialToken(single.getFirst()));
                addEos = eos != null && eos.equals(templateSpecialToken(single.getLast()));
            }
        }
        if (config.get("add_bos_token") instanceof Boolean b) {
            addBos = b;
        }
        if (config.get("add_eos_token") instanceof Boolean b) {
            addEos = b;
        }

        String chatTemplate = null;
        Map<String, String> named = new LinkedHashMap<>();
        Object template = config.get("chat_template");
        if (template instanceof String s) {
            chatTemplate = s;
        } else if (template instanceof List<?> templates) {
            for (Object t : templates) {
                Map<String, Object> entry = object(t, "chat_template entry");
                String name = string(entry.get("name"), "chat_template name");
                String text = string(entry.get("template"), "chat_template template");
                if (name.equals("default")) {
                    chatTemplate = text;
                } else {
                    named.put(name, text);
                }
            }
        }
        Path jinja = dir.resolve("chat_template.jinja");
        if (chatTemplate == null && Files.isRegularFile(jinja)) {
            chatTemplate = Files.readString(jinja);
        }

        return new HfTokenizer(
                Collections.unmodifiableList(Arrays.asList(byId)),
                types,
                Collections.unmodifiableList(Arrays.asList(merges)),
                preTokenizerRegex(tj.get("pre_tokenizer")),
                Collections.unmodifiableMap(specialIds),
                addBos,
                addEos,
                chatTemplate,
                Collections.unmodifiableMap(named));
    }

    /** Tokens by id, holes filled with {@code [PAD<id>]}. */
    public List<String> tokens() {
        return tokens;
    }

    /** GGUF token types by id (a copy). */
    public int[] tokenTypes() {
        return tokenTypes.clone();
    }

    /** Merges as {@code "left right"}, highest priority first. */
    public List<String> merges() {
        return merges;
    }

    /** The regex of the pre-tokenizer's {@code Split}, or {@code null} if it has none. */
    public String preTokenizerRegex() {
        return preTokenizerRegex;
    }

    /**
     * llama.cpp's name for the pre-tokenizer ({@code tokenizer.ggml.pre}), recognised from the split regex:
     * {@code qwen2} (digits one by one) or {@code llama-bpe} (digits in runs of up to three); {@code null} for any
     * other. llama.cpp's converter recognises tokenizers by hashing their output; these two are the families Spindle
     * knows.
     */
    public String detectPre() {
        if (QWEN2_REGEX.equals(preTokenizerRegex)) {
            return "qwen2";
        }
        if (LLAMA3_REGEX.equals(preTokenizerRegex)) {
            return "llama-bpe";
        }
        return null;
    }

    /** Special-token ids by name ({@code bos}, {@code eos}, ...), for those the config names. */
    public Map<String, Integer> specialIds() {
        return specialIds;
    }

    /** Whether to add BOS, or {@code null} when the files do not say. */
    public Boolean addBos() {
        return addBos;
    }

    /** Whether to add EOS, or {@code null} when the files do not say. */
    public Boolean addEos() {
        return addEos;
    }

    /** The default chat template, or {@code null}. */
    public String chatTemplate() {
        return chatTemplate;
    }

    /** Other named chat templates (e.g. {@code tool_use}). */
    public Map<String, String> namedChatTemplates() {
        return namedChatTemplates;
    }

    /** The converter's test for added tokens that should be control tokens though not marked special. */
    static boolean looksSpecial(String token) {
        return token.equals("<pad>")
                || token.equals("<mask>")
                || token.equals("<2mass>")
                || token.equals("[@BOS@]")
                || (token.startsWith("<|") && token.endsWith("|>"))
                || (token.startsWith("<\uFF5C") && token.endsWith("\uFF5C>"))
                || (token.startsWith("<unused") && token.endsWith(">"));
    }

    private static String preTokenizerRegex(Object pre) {
        if (!(pre instanceof Map<?, ?> p)) {
            return null;
        }
        if ("Split".equals(p.get("type"))
                && p.get("pattern") instanceof Map<?, ?> pattern
                && pattern.get("Regex") instanceof String regex) {
            return regex;
        }
        if ("Sequence".equals(p.get("type")) && p.get("pretokenizers") instanceof List<?> list) {
            for (Object each : list) {
                String regex = preTokenizerRegex(each);
                if (regex != null) {
                    return regex;
                }
            }
        }
        return null;
    }

    private static String templateSpecialToken(Object piece) {
        if (piece instanceof Map<?, ?> m
                && m.get("SpecialToken") instanceof Map<?, ?> s
                && s.get("id") instanceof String id) {
            return id;
        }
        return null;
    }

    private static String tokenContent(Object entry) {
        if (entry instanceof String s) {
            return s;
        }
        if (entry instanceof Map<?, ?> m && m.get("content") instanceof String s) {
            return s;
        }
        return null;
    }

    private static Object parse(Path file) throws IOException {
        try {
            return Json.parse(Files.readString(file));
        } catch (JsonException e) {
            throw new JsonException(file + ": " + e.getMessage());
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Object o, String what) {
        if (o instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw new JsonException(what + " is not a JSON object");
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o, String what) {
        if (o instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw new JsonException(what + " is not a JSON array");
    }

    private static String string(Object o, String what) {
        if (o instanceof String s) {
            return s;
        }
        throw new JsonException(what + " is not a string");
    }

    private static int id(Object o, String what) {
        if (o instanceof Long l && l >= 0 && l < 1 << 24) {
            return (int) (long) l;
        }
        throw new JsonException(what + " is not a token id in [0, 2^24): " + o);
    }

    /** The number of tokens, holes included. */
    public int size() {
        return tokens.size();
    }

    @Override
    public String toString() {
        return "HfTokenizer[%d tokens, %d merges, pre %s]".formatted(tokens.size(), merges.size(), detectPre());
    }
}
