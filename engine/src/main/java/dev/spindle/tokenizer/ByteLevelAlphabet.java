package dev.spindle.tokenizer;

import java.io.ByteArrayOutputStream;

/**
 * GPT-2's reversible map from the 256 byte values to printable characters, in which byte-level BPE vocabularies write
 * their tokens: printable Latin-1 bytes stand for themselves, the other 68 (controls, space, DEL, NBSP, soft hyphen)
 * for U+0100 onwards in byte order, so a space is written {@code Ġ} (U+0120) and a newline {@code Ċ} (U+010A).
 */
final class ByteLevelAlphabet {

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevelAlphabet() {}

    /** The character that stands for byte {@code b}. */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xff];
    }

    /** The byte that character {@code c} stands for, or -1 when {@code c} is not in the alphabet. */
    static int byteOf(int c) {
        return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The bytes that {@code text} spells, or {@code null} when a character of it is outside the alphabet. */
    static byte[] decode(String text) {
        byte[] out = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            int b = byteOf(text.charAt(i));
            if (b < 0) {
                return null;
            }
            out[i] = (byte) b;
        }
        return out;
    }

    /** {@code text} written in the alphabet, as llama.cpp's byte encoding of a word does. */
    static String encode(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            sb.append(charOf(b));
        }
        return sb.toString();
    }

    /**
     * The bytes that a normal token's text renders to. A character outside the alphabet cannot come from a byte; it is
     * rendered as llama.cpp does, as a visible {@code [UNK_BYTE_0x..]} marker.
     */
    static byte[] render(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int b = byteOf(cp);
            if (b >= 0) {
                out.write(b);
            } else {
                StringBuilder marker = new StringBuilder("[UNK_BYTE_0x");
                for (byte u : new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
                    marker.append(String.format("%02x", u & 0xff));
                }
                marker.append(text).append(']');
                out.writeBytes(marker.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }
}
