package dev.spindle.tokenizer;

/**
 * The Unicode classes that pre-tokenizer patterns name ({@code \p{L}}, {@code \p{N}}, {@code \p{P}}, {@code \s}), one
 * byte of flags per code point, and a UTF-8 decoder that works on the bytes in place.
 *
 * <p>Whitespace is the Unicode White_Space property (what llama.cpp's splitters test), not Java's
 * {@link Character#isWhitespace}: it includes U+0085 and the no-break spaces and excludes U+001C..U+001F.
 */
final class Codepoints {

    static final int LETTER = 1;
    static final int NUMBER = 2;
    static final int WHITESPACE = 4;
    static final int PUNCTUATION = 8;

    private static final byte[] FLAGS = buildFlags();

    private Codepoints() {}

    /** The flags of code point {@code cp}; 0 for values outside Unicode. */
    static int flags(int cp) {
        return cp >= 0 && cp < FLAGS.length ? FLAGS[cp] : 0;
    }

    static boolean isLetter(int cp) {
        return (flags(cp) & LETTER) != 0;
    }

    static boolean isNumber(int cp) {
        return (flags(cp) & NUMBER) != 0;
    }

    static boolean isWhitespace(int cp) {
        return (flags(cp) & WHITESPACE) != 0;
    }

    /**
     * Decodes UTF-8 {@code bytes[from, to)} into code points and the byte offset where each starts; returns the count
     * n, with {@code starts[n] = to}. The input is well formed (it comes from {@link String#getBytes}); a stray byte
     * would count as one code point of its own value. The arrays must hold {@code to - from + 1} entries.
     */
    static int decode(byte[] bytes, int from, int to, int[] cps, int[] starts) {
        int n = 0;
        int i = from;
        while (i < to) {
            int b = bytes[i] & 0xff;
            int cp;
            int len;
            if (b < 0x80) {
                cp = b;
                len = 1;
            } else if (b >= 0xf0 && i + 3 < to) {
                cp = ((b & 0x07) << 18)
                        | ((bytes[i + 1] & 0x3f) << 12)
                        | ((bytes[i + 2] & 0x3f) << 6)
                        | (bytes[i + 3] & 0x3f);
                len = 4;
            } else if (b >= 0xe0 && i + 2 < to) {
                cp = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
                len = 3;
            } else if (b >= 0xc0 && i + 1 < to) {
                cp = ((b & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
                len = 2;
            } else {
                cp = b;
                len = 1;
            }
            cps[n] = cp;
            starts[n] = i;
            n++;
            i += len;
        }
        starts[n] = to;
        return n;
    }

    /** The length of the UTF-8 sequence that lead byte {@code b} starts (1 for continuation or invalid bytes). */
    static int utf8Length(byte b) {
        int v = b & 0xff;
        if (v < 0xc0) {
            return 1;
        }
        if (v < 0xe0) {
            return 2;
        }
        return v < 0xf0 ? 3 : 4;
    }

    private static byte[] buildFlags() {
        byte[] flags = new byte[Character.MAX_CODE_POINT + 1];
        for (int cp = 0; cp < flags.length; cp++) {
            int f = switch (Character.getType(cp)) {
                case Character.UPPERCASE_LETTER,
                        Character.LOWERCASE_LETTER,
                        Character.TITLECASE_LETTER,
                        Character.MODIFIER_LETTER,
                        Character.OTHER_LETTER -> LETTER;
                case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
                case Character.CONNECTOR_PUNCTUATION,
                        Character.DASH_PUNCTUATION,
                        Character.START_PUNCTUATION,
                        Character.END_PUNCTUATION,
                        Character.INITIAL_QUOTE_PUNCTUATION,
                        Character.FINAL_QUOTE_PUNCTUATION,
                        Character.OTHER_PUNCTUATION -> PUNCTUATION;
                default -> 0;
            };
            flags[cp] = (byte) f;
        }
        // Unicode's White_Space property.
        for (int cp = 0x09; cp <= 0x0d; cp++) {
            flags[cp] |= WHITESPACE;
        }
        for (int cp = 0x2000; cp <= 0x200a; cp++) {
            flags[cp] |= WHITESPACE;
        }
        for (int cp : new int[] {0x20, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000}) {
            flags[cp] |= WHITESPACE;
        }
        return flags;
    }
}
