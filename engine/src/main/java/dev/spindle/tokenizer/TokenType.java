package dev.spindle.tokenizer;

/**
 * What a vocabulary entry is, as GGUF's {@code tokenizer.ggml.token_type} numbers it.
 *
 * <p>The kind decides how a token is found in text and how it is rendered back: {@link #CONTROL} and {@link #UNKNOWN}
 * tokens are recognised in text only when the caller allows special tokens and render as nothing unless asked;
 * {@link #USER_DEFINED} tokens are always recognised and always render as their text; {@link #BYTE} tokens
 * ({@code <0x41>}) are SentencePiece's fallback for bytes the vocabulary lacks.
 */
public enum TokenType {
    /** A type number GGUF does not define; such tokens never render. */
    UNDEFINED(0),
    NORMAL(1),
    UNKNOWN(2),
    CONTROL(3),
    USER_DEFINED(4),
    UNUSED(5),
    BYTE(6);

    private static final TokenType[] BY_CODE = {UNDEFINED, NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE};

    private final int code;

    TokenType(int code) {
        this.code = code;
    }

    /** The number GGUF stores for this type. */
    public int code() {
        return code;
    }

    /** The type GGUF's number stands for; numbers outside 1..6 are {@link #UNDEFINED}. */
    public static TokenType ofCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : UNDEFINED;
    }

    /** Whether text spelling this token may be read as the token itself (given the caller's permission). */
    boolean isSpecial() {
        return this == CONTROL || this == USER_DEFINED || this == UNKNOWN;
    }

    /** Whether this token is found in text and rendered only when the caller allows special tokens. */
    boolean needsPermission() {
        return this == CONTROL || this == UNKNOWN;
    }
}
