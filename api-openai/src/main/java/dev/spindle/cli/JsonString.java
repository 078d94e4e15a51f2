package dev.spindle.cli;

/** JSON string literals, read and written without a JSON library (the command line needs nothing more). */
final class JsonString {

    private JsonString() {}

    /** The string a JSON string literal spells; throws {@link IllegalArgumentException} if it is not one. */
    static String parse(String literal) {
        if (literal.length() < 2 || literal.charAt(0) != '"' || literal.charAt(literal.length() - 1) != '"') {
            throw new IllegalArgumentException("expected a JSON string in double quotes");
        }
        StringBuilder sb = new StringBuilder(literal.length());
        int end = literal.length() - 1;
        for (int i = 1; i < end; i++) {
            char c = literal.charAt(i);
            if (c == '"') {
                throw new IllegalArgumentException("unescaped quote at column " + (i + 1));
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (++i >= end) {
                throw new IllegalArgumentException("unfinished escape at the end");
            }
            char e = literal.charAt(i);
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (i + 4 >= end + 1 || i + 4 > end) {
                        throw new IllegalArgumentException("short \\u escape at column " + (i + 1));
                    }
                    try {
                        sb.append((char) Integer.parseInt(literal.substring(i + 1, i + 5), 16));
                    } catch (NumberFormatException ex) {
                        throw new IllegalArgumentException("bad \\u escape at column " + (i + 1));
                    }
                    i += 4;
                }
                default -> throw new IllegalArgumentException("bad escape \\" + e + " at column " + (i + 1));
            }
        }
        return sb.toString();
    }

    /** {@code s} as a JSON string literal, with control and invisible characters escaped. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) && !validPair(s, i)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static boolean validPair(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
