package dev.spindle.tokenizer;

import dev.spindle.gguf.GgufMetadata;
import dev.spindle.hf.HfTokenizer;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A tokenizer as a model file describes it: GGUF's {@code tokenizer.ggml.*} keys, one field each.
 *
 * <p>A plain record so that tests and tools can build one from any source (a GGUF file, a Hugging Face
 * {@code tokenizer.json}); {@link Tokenizer#create} turns it into a working tokenizer. Ids are {@link #NONE} and flags
 * {@code null} where the file does not say, and the model family's default then applies, as in llama.cpp.
 *
 * @param model {@code tokenizer.ggml.model}: {@code llama} (SentencePiece) or {@code gpt2} (byte-level BPE)
 * @param pre {@code tokenizer.ggml.pre}: the pre-tokenizer's name for {@code gpt2} ({@code llama-bpe}, {@code qwen2},
 *     ...); {@code null} or empty means llama.cpp's {@code default}
 * @param tokens token texts by id (byte-level BPE texts use GPT-2's printable byte alphabet, SentencePiece texts
 *     {@code U+2581} for spaces)
 * @param scores SentencePiece merge scores by id, or {@code null}
 * @param tokenTypes {@link TokenType#code()} by id, or {@code null} (all normal)
 * @param merges BPE merges in rank order, each {@code "left right"}, or {@code null}
 * @param bosId beginning-of-sequence token
 * @param eosId end-of-sequence token
 * @param unkId unknown token
 * @param padId padding token
 * @param eotId end-of-turn token ({@code tokenizer.ggml.eot_token_id})
 * @param eomId end-of-message token ({@code tokenizer.ggml.eom_token_id})
 * @param addBos {@code tokenizer.ggml.add_bos_token}
 * @param addEos {@code tokenizer.ggml.add_eos_token}
 * @param addSpacePrefix {@code tokenizer.ggml.add_space_prefix} (SentencePiece only)
 */
public record TokenizerSpec(
        String model,
        String pre,
        List<String> tokens,
        float[] scores,
        int[] tokenTypes,
        List<String> merges,
        int bosId,
        int eosId,
        int unkId,
        int padId,
        int eotId,
        int eomId,
        Boolean addBos,
        Boolean addEos,
        Boolean addSpacePrefix) {

    /** An id the file does not give. */
    public static final int NONE = -1;

    public TokenizerSpec {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(tokens, "tokens");
        tokens = List.copyOf(tokens);
        merges = merges == null ? null : List.copyOf(merges);
        if (scores != null && scores.length != tokens.size()) {
            throw new IllegalArgumentException(
                    "scores has " + scores.length + " entries for " + tokens.size() + " tokens");
        }
        if (tokenTypes != null && tokenTypes.length != tokens.size()) {
            throw new IllegalArgumentException(
                    "tokenTypes has " + tokenTypes.length + " entries for " + tokens.size() + " tokens");
        }
    }

    /** The tokenizer that a GGUF file's {@code tokenizer.ggml.*} metadata describes. */
    public static TokenizerSpec fromGguf(GgufMetadata md) {
        String model = md.requireString("tokenizer.ggml.model");
        List<String> tokens = md.getStringArray("tokenizer.ggml.tokens");
        if (tokens.isEmpty()) {
            throw new IllegalArgumentException("the file has no tokenizer.ggml.tokens");
        }
        float[] scores = md.contains("tokenizer.ggml.scores") ? md.getFloatArray("tokenizer.ggml.scores") : null;
        int[] types = md.contains("tokenizer.ggml.token_type") ? md.getIntArray("tokenizer.ggml.token_type") : null;
        List<String> merges = md.contains("tokenizer.ggml.merges") ? md.getStringArray("tokenizer.ggml.merges") : null;
        return new TokenizerSpec(
                model,
                md.getString("tokenizer.ggml.pre", null),
                tokens,
                scores,
                types,
                merges,
                tokenId(md, "tokenizer.ggml.bos_token_id"),
                tokenId(md, "tokenizer.ggml.eos_token_id"),
                tokenId(md, "tokenizer.ggml.unknown_token_id"),
                tokenId(md, "tokenizer.ggml.padding_token_id"),
                tokenId(md, "tokenizer.ggml.eot_token_id"),
                tokenId(md, "tokenizer.ggml.eom_token_id"),
                md.contains("tokenizer.ggml.add_bos_token")
                        ? md.getBoolean("tokenizer.ggml.add_bos_token", true)
                        : null,
                md.contains("tokenizer.ggml.add_eos_token")
                        ? md.getBoolean("tokenizer.ggml.add_eos_token", false)
                        : null,
                md.contains("tokenizer.ggml.add_space_prefix")
                        ? md.getBoolean("tokenizer.ggml.add_space_prefix", true)
                        : null);
    }

    /**
     * The byte-level BPE tokenizer of a Hugging Face {@code tokenizer.json}, laid out as llama.cpp's converter writes
     * it to GGUF (so that it tokenizes as the converted model would); {@code pre} names the pre-tokenizer, or
     * {@code null} to recognise it from the split expression.
     */
    public static TokenizerSpec fromHuggingFace(HfTokenizer hf, String pre) {
        String chosen = pre != null ? pre : hf.detectPre();
        if (chosen == null) {
            throw new IllegalArgumentException("cannot tell the pre-tokenizer of " + hf + "; name one");
        }
        Map<String, Integer> ids = hf.specialIds();
        return new TokenizerSpec(
                "gpt2",
                chosen,
                hf.tokens(),
                null,
                hf.tokenTypes(),
                hf.merges(),
                ids.getOrDefault("bos", NONE),
                ids.getOrDefault("eos", NONE),
                ids.getOrDefault("unk", NONE),
                ids.getOrDefault("pad", NONE),
                NONE,
                NONE,
                hf.addBos(),
                hf.addEos(),
                null);
    }

    /** A token id key; a UINT32 of 2^32 - 1 (llama.cpp's converters write -1 so) means no token. */
    private static int tokenId(GgufMetadata md, String key) {
        long id = md.getLong(key, NONE);
        return id < 0 || id > Integer.MAX_VALUE ? NONE : (int) id;
    }

    /** A spec with only the vocabulary set; ids absent, flags at their defaults. */
    public static TokenizerSpec of(
            String model, String pre, List<String> tokens, float[] scores, int[] tokenTypes, List<String> merges) {
        return new TokenizerSpec(
                model, pre, tokens, scores, tokenTypes, merges, NONE, NONE, NONE, NONE, NONE, NONE, null, null, null);
    }

    public TokenizerSpec withSpecialIds(int bos, int eos, int unk, int pad) {
        return new TokenizerSpec(
                model,
                pre,
                tokens,
                scores,
                tokenTypes,
                merges,
                bos,
                eos,
                unk,
                pad,
                eotId,
                eomId,
                addBos,
                addEos,
                addSpacePrefix);
    }

    public TokenizerSpec withFlags(Boolean bos, Boolean eos, Boolean spacePrefix) {
        return new TokenizerSpec(
                model,
                pre,
                tokens,
                scores,
                tokenTypes,
                merges,
                bosId,
                eosId,
                unkId,
                padId,
                eotId,
                eomId,
                bos,
                eos,
                spacePrefix);
    }
}
