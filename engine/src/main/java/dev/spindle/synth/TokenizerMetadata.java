package dev.spindle.synth;

import dev.spindle.gguf.GgufValue;
import dev.spindle.gguf.GgufValueType;
import dev.spindle.gguf.GgufWriter;
import dev.spindle.hf.HfTokenizer;
import dev.spindle.tokenizer.TokenType;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SequencedSet;

/** Writes a vocabulary into GGUF metadata under the {@code tokenizer.*} keys llama.cpp reads. */
final class TokenizerMetadata {

    /** {@code <unk>}, {@code <s>}, {@code </s>} and 256 byte tokens come before the pieces. */
    static final int RESERVED = 3 + 256;

    private TokenizerMetadata() {}

    /** The GGUF key of each special token name: gguf-py's spelling, {@code seperator} included. */
    private static final Map<String, String> SPECIAL_KEYS = Map.of(
            "bos", "tokenizer.ggml.bos_token_id",
            "eos", "tokenizer.ggml.eos_token_id",
            "unk", "tokenizer.ggml.unknown_token_id",
            "sep", "tokenizer.ggml.seperator_token_id",
            "pad", "tokenizer.ggml.padding_token_id",
            "cls", "tokenizer.ggml.cls_token_id",
            "mask", "tokenizer.ggml.mask_token_id");

    /**
     * A SentencePiece ({@code llama}) vocabulary of {@code size} tokens made up for synthetic models: {@code <unk>},
     * {@code <s>}, {@code </s>}, the 256 byte-fallback tokens {@code <0x00>}..{@code <0xFF>}, then pieces in order of
     * decreasing score: {@code ▁}, printable ASCII characters, {@code ▁} followed by a letter, then lower-case bigrams,
     * {@code ▁}-bigrams, trigrams and {@code ▁}-trigrams until the size is reached. Every text can be tokenized (bytes
     * fall back), common English fragments merge into pieces, and BOS is added as Llama 2 does.
     */
    static void syntheticSentencePiece(GgufWriter w, int size) {
        if (size < RESERVED + 100 || size > RESERVED + 1 + 94 + 52 + 2 * (676 + 17576)) {
            throw new IllegalArgumentException("a synthetic vocabulary has between %d and %d tokens, not %d"
                    .formatted(RESERVED + 100, RESERVED + 1 + 94 + 52 + 2 * (676 + 17576), size));
        }
        List<String> tokens = new ArrayList<>(size);
        float[] scores = new float[size];
        int[] types = new int[size];
        tokens.add("<unk>");
        types[0] = TokenType.UNKNOWN.code();
        tokens.add("<s>");
        types[1] = TokenType.CONTROL.code();
        tokens.add("</s>");
        types[2] = TokenType.CONTROL.code();
        for (int b = 0; b < 256; b++) {
            types[tokens.size()] = TokenType.BYTE.code();
            tokens.add("<0x%02X>".formatted(b));
        }
        List<String> pieces = pieces(size - RESERVED);
        for (int i = 0; i < pieces.size(); i++) {
            scores[tokens.size()] = -i;
            types[tokens.size()] = TokenType.NORMAL.code();
            tokens.add(pieces.get(i));
        }
        w.putString("tokenizer.ggml.model", "llama");
        w.putStringArray("tokenizer.ggml.tokens", tokens);
        w.put("tokenizer.ggml.scores", GgufValue.float32Array(scores));
        w.put("tokenizer.ggml.token_type", GgufValue.int32Array(types));
        w.putUInt32("tokenizer.ggml.bos_token_id", 1);
        w.putUInt32("tokenizer.ggml.eos_token_id", 2);
        w.putUInt32("tokenizer.ggml.unknown_token_id", 0);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        w.putBool("tokenizer.ggml.add_eos_token", false);
    }

    private static List<String> pieces(int count) {
        String space = "\u2581";
        SequencedSet<String> pieces = new LinkedHashSet<>();
        pieces.add(space);
        for (char c = '!'; c <= '~'; c++) {
            pieces.add(String.valueOf(c));
        }
        for (char c = 'a'; c <= 'z'; c++) {
            pieces.add(space + c);
        }
        for (char c = 'A'; c <= 'Z'; c++) {
            pieces.add(space + c);
        }
        List<String> bigrams = new ArrayList<>();
        for (char a = 'a'; a <= 'z'; a++) {
            for (char b = 'a'; b <= 'z'; b++) {
                bigrams.add("" + a + b);
            }
        }
        List<String> trigrams = new ArrayList<>();
        for (String bigram : bigrams) {
            for (char c = 'a'; c <= 'z'; c++) {
                trigrams.add(bigram + c);
            }
        }
        for (List<String> group : List.of(bigrams, trigrams)) {
            pieces.addAll(group);
            for (String g : group) {
                pieces.add(space + g);
            }
        }
        return new ArrayList<>(pieces).subList(0, count);
    }

    /**
     * A byte-level BPE ({@code gpt2}) vocabulary from a Hugging Face tokenizer, as llama.cpp's converter writes it.
     *
     * @param pre the value of {@code tokenizer.ggml.pre} ({@code qwen2}, {@code llama-bpe}, ...)
     */
    static void byteLevelBpe(GgufWriter w, HfTokenizer t, String pre) {
        w.putString("tokenizer.ggml.model", "gpt2");
        w.putString("tokenizer.ggml.pre", pre);
        w.putStringArray("tokenizer.ggml.tokens", t.tokens());
        w.put("tokenizer.ggml.token_type", GgufValue.array(GgufValueType.INT32, t.tokenTypes()));
        w.putStringArray("tokenizer.ggml.merges", t.merges());
        for (String name : HfTokenizer.SPECIAL_NAMES) {
            Integer id = t.specialIds().get(name);
            if (id != null) {
                w.putUInt32(SPECIAL_KEYS.get(name), id);
            }
        }
        if (t.addBos() != null) {
            w.putBool("tokenizer.ggml.add_bos_token", t.addBos());
        }
        if (t.addEos() != null) {
            w.putBool("tokenizer.ggml.add_eos_token", t.addEos());
        }
        if (t.chatTemplate() != null) {
            w.putString("tokenizer.chat_template", t.chatTemplate());
        }
        t.namedChatTemplates().forEach((name, template) -> w.putString("tokenizer.chat_template." + name, template));
    }
}
