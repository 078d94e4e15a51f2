package dev.spindle.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Text to token ids and back, exactly as llama.cpp does it for the same vocabulary.
 *
 * <p>Two models are supported, chosen by {@link TokenizerSpec#model()}: SentencePiece ({@code llama}: Llama 2, Mistral,
 * TinyLlama) and byte-level BPE ({@code gpt2}: Llama 3, Qwen, SmolLM, GPT-2) with the pre-tokenizer split that
 * {@link TokenizerSpec#pre()} names. Before either model runs, text that spells a special token is cut out as that
 * token (see {@link #encode(String, boolean, boolean)}).
 *
 * <p>Immutable and safe to share between threads; encoding keeps its working arrays per thread and allocates only
 * its result.
 */
public final class Tokenizer {

    /** Texts that llama.cpp takes to end generation wherever a vocabulary has them, made control tokens. */
    private static final Set<String> END_OF_GENERATION_TEXTS = Set.of(
            "<|eot_id|>",
            "<|im_end|>",
            "<|end|>",
            "<end_of_turn>",
            "<|endoftext|>",
            "<|eom_id|>",
            "<EOT>",
            "_<EOT>",
            "<|fim_pad|>",
            "<|repo_name|>",
            "<|file_sep|>");

    private static final ThreadLocal<EncodeScratch> SCRATCH = ThreadLocal.withInitial(EncodeScratch::new);

    private final boolean sentencePiece;
    private final String[] texts;
    private final TokenType[] types;
    /** What each token renders to when special tokens are rendered. */
    private final byte[][] pieces;

    private final int bosId;
    private final int eosId;
    private final int unkId;
    private final int padId;
    private final boolean addBos;
    private final boolean addEos;
    private final boolean addSpacePrefix;
    private final boolean[] endOfGeneration;

    private final SpecialTokenSplitter splitter;
    private final SentencePieceEncoder sentencePieceEncoder;
    private final BytePairEncoder bytePairEncoder;

    private Tokenizer(TokenizerSpec spec) {
        int n = spec.tokens().size();
        texts = new String[n];
        types = new TokenType[n];
        for (int id = 0; id < n; id++) {
            String text = spec.tokens().get(id);
            // llama.cpp renames empty entries so that no text maps to them.
            texts[id] = text.isEmpty() ? "[EMPTY_" + id + "]" : text;
            types[id] = spec.tokenTypes() == null ? TokenType.NORMAL : TokenType.ofCode(spec.tokenTypes()[id]);
        }
        ByteSequenceTable textToId = new ByteSequenceTable(n);
        for (int id = 0; id < n; id++) {
            textToId.put(texts[id].getBytes(StandardCharsets.UTF_8), id);
        }
        PreTokenizer pre;
        boolean defaultAddBos;
        int defaultBos;
        int defaultEos;
        int defaultUnk;
        switch (spec.model()) {
            case "llama" -> {
                sentencePiece = true;
                pre = null;
                defaultBos = 1;
                defaultEos = 2;
                defaultUnk = 0;
                defaultAddBos = true;
            }
            case "gpt2" -> {
                sentencePiece = false;
                pre = PreTokenizer.forName(spec.pre());
                defaultBos = 11;
                defaultEos = 11;
                defaultUnk = TokenizerSpec.NONE;
                defaultAddBos = pre == PreTokenizer.LLAMA3;
            }
            default ->
                throw new IllegalArgumentException("unsupported tokenizer model '" + spec.model()
                        + "' (supported: llama = SentencePiece, gpt2 = byte-level BPE)");
        }
        bosId = idOrDefault(spec.bosId(), defaultBos, n);
        eosId = idOrDefault(spec.eosId(), defaultEos, n);
        unkId = idOrDefault(spec.unkId(), defaultUnk, n);
        padId = idOrDefault(spec.padId(), TokenizerSpec.NONE, n);
        addBos = spec.addBos() != null ? spec.addBos() : defaultAddBos;
        addEos = spec.addEos() != null ? spec.addEos() : false;
        addSpacePrefix = sentencePiece && (spec.addSpacePrefix() == null || spec.addSpacePrefix());

        endOfGeneration = new boolean[n];
        for (int id = 0; id < n; id++) {
            if (END_OF_GENERATION_TEXTS.contains(texts[id])) {
                // The id that llama.cpp's text map holds for this text (the last of duplicates).
                int mapped = textToId.get(texts[id].getBytes(StandardCharsets.UTF_8), -1);
                endOfGeneration[mapped] = true;
                types[mapped] = TokenType.CONTROL;
            }
        }
        for (int id : new int[] {eosId, idOrDefault(spec.eotId(), -1, n), idOrDefault(spec.eomId(), -1, n)}) {
            if (id >= 0) {
                endOfGeneration[id] = true;
            }
        }

        pieces = new byte[n][];
        for (int id = 0; id < n; id++) {
            pieces[id] = render(texts[id], types[id], sentencePiece);
        }
        splitter = new SpecialTokenSplitter(texts, types);
        if (sentencePiece) {
            sentencePieceEncoder = new SentencePieceEncoder(textToId, spec.scores(), unkId);
            bytePairEncoder = null;
        } else {
            sentencePieceEncoder = null;
            bytePairEncoder = new BytePairEncoder(pre, texts, spec.merges());
        }
    }

    /** The tokenizer of a GGUF file, from its {@code tokenizer.ggml.*} metadata. */
    public static Tokenizer fromGguf(dev.spindle.gguf.GgufMetadata metadata) {
        return new Tokenizer(TokenizerSpec.fromGguf(metadata));
    }

    /** A tokenizer for the vocabulary {@code spec} describes. */
    public static Tokenizer create(TokenizerSpec spec) {
        return new Tokenizer(spec);
    }

    private static int idOrDefault(int id, int fallback, int vocabularySize) {
        int chosen = id >= 0 && id < vocabularySize ? id : fallback;
        return chosen < vocabularySize ? chosen : TokenizerSpec.NONE;
    }

    private static byte[] render(String text, TokenType type, boolean sentencePiece) {
        return switch (type) {
            case CONTROL, UNKNOWN, USER_DEFINED -> text.getBytes(StandardCharsets.UTF_8);
            case NORMAL ->
                sentencePiece
                        ? text.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8)
                        : ByteLevelAlphabet.render(text);
            case BYTE -> sentencePiece ? new byte[] {(byte) Integer.parseInt(text.substring(3, 5), 16)} : new byte[0];
            case UNUSED, UNDEFINED -> new byte[0];
        };
    }

    /**
     * Encodes {@code text}.
     *
     * @param addSpecial add the model's BOS (and EOS) tokens where its vocabulary asks for them
     * @param parseSpecial read text that spells a control token ({@code <|im_start|>}, {@code <s>}) as that token;
     *     otherwise it is tokenized as plain text. User-defined tokens are always read as themselves.
     */
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        EncodeScratch s = SCRATCH.get();
        // Lone surrogates become '?', as String.getBytes writes them (and as llama.cpp's Java binding passes them).
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        GrowableInts out = s.output;
        out.clear();
        splitter.split(utf8, utf8.length, parseSpecial, s.fragments, s.fragmentScratch);
        GrowableInts fragments = s.fragments;
        if (addSpecial && addBos && bosId >= 0) {
            out.add(bosId);
        }
        boolean previousSpecial = true;
        for (int f = 0; f < fragments.size; f += 3) {
            int start = fragments.data[f];
            int end = fragments.data[f + 1];
            int token = fragments.data[f + 2];
            if (token >= 0) {
                out.add(token);
                previousSpecial = true;
            } else if (sentencePiece) {
                // SentencePiece's dummy prefix: each text run that starts the input or follows a special token.
                sentencePieceEncoder.encode(utf8, start, end, addSpacePrefix && previousSpecial, s, out);
                previousSpecial = false;
            } else {
                bytePairEncoder.encode(utf8, start, end, s, out);
            }
        }
        if (addSpecial && addEos && eosId >= 0) {
            out.add(eosId);
        }
        return out.toArray();
    }

    /** The bytes token {@code id} renders to; control and unknown tokens render as nothing unless {@code special}. */
    public byte[] pieceBytes(int id, boolean special) {
        byte[] piece = pieceView(id, special);
        return piece.length == 0 ? piece : piece.clone();
    }

    /** The rendered bytes without a copy, for package code that does not modify them. */
    byte[] pieceView(int id, boolean special) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary of " + pieces.length);
        }
        if (!special && types[id].needsPermission()) {
            return EMPTY;
        }
        return pieces[id];
    }

    private static final byte[] EMPTY = new byte[0];

    /** {@link #pieceBytes} as text; a piece that is part of a multi-byte character shows as U+FFFD. */
    public String piece(int id, boolean special) {
        return new String(pieceView(id, special), StandardCharsets.UTF_8);
    }

    /**
     * The bytes {@code ids} render to, concatenated. For SentencePiece with a space prefix, the space that encoding
     * put before the text is taken off the first token again, so that {@code decode(encode(s))} gives {@code s} back.
     */
    public byte[] decodeBytes(int[] ids, boolean special) {
        int total = 0;
        for (int id : ids) {
            total += pieceView(id, special).length;
        }
        byte[] out = new byte[total];
        int n = 0;
        for (int i = 0; i < ids.length; i++) {
            byte[] piece = pieceView(ids[i], special);
            int skip = i == 0 && addSpacePrefix && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
            System.arraycopy(piece, skip, out, n, piece.length - skip);
            n += piece.length - skip;
        }
        return n == total ? out : Arrays.copyOf(out, n);
    }

    /** {@link #decodeBytes} as text (malformed UTF-8 shows as U+FFFD). */
    public String decode(int[] ids, boolean special) {
        return new String(decodeBytes(ids, special), StandardCharsets.UTF_8);
    }

    /**
     * A streaming decoder for one sequence: feed it ids as they are generated, and it returns text only once it is
     * whole UTF-8 and cannot be the start of a stop string.
     */
    public IncrementalDetokenizer detokenizer(List<String> stopStrings, boolean special) {
        return new IncrementalDetokenizer(this, stopStrings, special);
    }

    public int vocabularySize() {
        return texts.length;
    }

    /** The token's text as the vocabulary stores it ({@code ▁Hello}, {@code ĠHello}, {@code <|im_start|>}). */
    public String tokenText(int id) {
        return texts[id];
    }

    public TokenType tokenType(int id) {
        return types[id];
    }

    /** Whether this is a SentencePiece vocabulary (otherwise byte-level BPE). */
    public boolean isSentencePiece() {
        return sentencePiece;
    }

    /** The beginning-of-sequence token, or {@link TokenizerSpec#NONE}. */
    public int bosId() {
        return bosId;
    }

    /** The end-of-sequence token, or {@link TokenizerSpec#NONE}. */
    public int eosId() {
        return eosId;
    }

    public int unkId() {
        return unkId;
    }

    public int padId() {
        return padId;
    }

    /** Whether encoding with {@code addSpecial} puts BOS first. */
    public boolean addsBos() {
        return addBos;
    }

    public boolean addsEos() {
        return addEos;
    }

    /** Whether generating this token ends the sequence (EOS, end of turn, end of message and their kin). */
    public boolean isEndOfGeneration(int id) {
        return id >= 0 && id < endOfGeneration.length && endOfGeneration[id];
    }
}
