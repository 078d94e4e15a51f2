package dev.spindle.oracle;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The text encodings of the files that carry requests to the forked llama.cpp JVM and results back.
 *
 * <p>Each request and each result is one line of space-separated ASCII fields. Free text never appears raw:
 *
 * <ul>
 *   <li>Java strings (prompts, texts to tokenize, chat messages, rendered templates) travel as base64 of their UTF-16BE
 *       code units, so that every {@code String} crosses exactly, unpaired surrogates included. What llama.cpp then
 *       sees is the binding's UTF-8 encoding of that string ({@code String.getBytes(UTF_8)}, which turns an unpaired
 *       surrogate into {@code '?'}), exactly as for any other caller of the binding.
 *   <li>Byte strings (detokenized text, file paths, error messages) travel as base64 of their bytes.
 *   <li>Token ids travel as decimal numbers joined by commas, {@code -} for none.
 * </ul>
 */
final class OracleWire {

    private OracleWire() {}

    static String encodeString(String s) {
        ByteBuffer b = ByteBuffer.allocate(s.length() * 2);
        b.asCharBuffer().put(s);
        return Base64.getEncoder().encodeToString(b.array());
    }

    static String decodeString(String field) {
        byte[] bytes = Base64.getDecoder().decode(field);
        return ByteBuffer.wrap(bytes).asCharBuffer().toString();
    }

    static String encodeBytes(byte[] bytes) {
        return Base64.getEncoder().encodeToString(bytes);
    }

    static byte[] decodeBytes(String field) {
        return Base64.getDecoder().decode(field);
    }

    static String encodeUtf8(String s) {
        return encodeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    static String decodeUtf8(String field) {
        return new String(decodeBytes(field), StandardCharsets.UTF_8);
    }

    static String encodeIds(int[] ids) {
        if (ids.length == 0) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            sb.append(i == 0 ? "" : ",").append(ids[i]);
        }
        return sb.toString();
    }

    static int[] decodeIds(String field) {
        if (field.equals("-")) {
            return new int[0];
        }
        String[] parts = field.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            ids[i] = Integer.parseInt(parts[i]);
        }
        return ids;
    }

    static boolean decodeFlag(String field) {
        return switch (field) {
            case "1" -> true;
            case "0" -> false;
            default -> throw new IllegalArgumentException("not a flag: " + field);
        };
    }

    static String encodeFlag(boolean flag) {
        return flag ? "1" : "0";
    }
}
