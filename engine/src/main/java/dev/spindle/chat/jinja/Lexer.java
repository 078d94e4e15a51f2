package dev.spindle.chat.jinja;

import dev.spindle.chat.jinja.Token.Kind;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits template source into tokens, applying Jinja's whitespace control as Hugging Face configures it.
 *
 * <p>Hugging Face renders chat templates with {@code trim_blocks} (the newline right after a block or comment tag is
 * dropped) and {@code lstrip_blocks} (spaces and tabs from the start of a line up to a block or comment tag are
 * dropped), and without {@code keep_trailing_newline} (one newline ending the template is dropped). A {@code -} inside
 * a delimiter strips all whitespace on that side; a {@code +} turns the two options off for that side.
 */
final class Lexer {

    private final String src;
    private final boolean trimBlocks;
    private final boolean lstripBlocks;
    private final List<Token> tokens = new ArrayList<>();
    private int pos;
    private int line = 1;
    /** Whether the last tag's match ended a line, so that text up to the next tag starts one (Jinja's rule). */
    private boolean lineStarting = true;

    Lexer(String source, boolean trimBlocks, boolean lstripBlocks, boolean keepTrailingNewline) {
        String s = source;
        if (!keepTrailingNewline && s.endsWith("\n")) {
            s = s.substring(0, s.length() - 1);
        }
        this.src = s;
        this.trimBlocks = trimBlocks;
        this.lstripBlocks = lstripBlocks;
    }

    List<Token> tokenize() {
        while (pos < src.length()) {
            int tag = nextTagStart(pos);
            if (tag < 0) {
                addText(src.substring(pos));
                pos = src.length();
                break;
            }
            String text = src.substring(pos, tag);
            char type = src.charAt(tag + 1);
            char modifier = tag + 2 < src.length() ? src.charAt(tag + 2) : 0;
            if (modifier == '-') {
                text = text.stripTrailing();
            } else if (lstripBlocks && (type == '%' || type == '#') && modifier != '+') {
                text = lstripLine(text);
            }
            addText(text);
            line += count(src, pos, tag);
            pos = tag + 2 + (modifier == '-' || modifier == '+' ? 1 : 0);
            switch (type) {
                case '#' -> comment();
                case '{' -> {
                    tokens.add(new Token(Kind.VARIABLE_BEGIN, "{{", line));
                    expression("}}");
                }
                default -> {
                    if (isRawBlock()) {
                        raw();
                    } else {
                        tokens.add(new Token(Kind.BLOCK_BEGIN, "{%", line));
                        expression("%}");
                    }
                }
            }
        }
        tokens.add(new Token(Kind.END, "", line));
        return tokens;
    }

    private int nextTagStart(int from) {
        int i = from;
        while (true) {
            int at = src.indexOf('{', i);
            if (at < 0 || at + 1 >= src.length()) {
                return -1;
            }
            char c = src.charAt(at + 1);
            if (c == '{' || c == '%' || c == '#') {
                return at;
            }
            i = at + 1;
        }
    }

    private void addText(String text) {
        if (!text.isEmpty()) {
            tokens.add(new Token(Kind.TEXT, text, line));
        }
    }

    /** Drops the blanks between the start of the tag's line and the tag, if nothing else is there. */
    private String lstripLine(String text) {
        int lineStart = text.lastIndexOf('\n') + 1;
        if (lineStart > 0 || lineStarting) {
            for (int i = lineStart; i < text.length(); i++) {
                if (!Character.isWhitespace(text.charAt(i))) {
                    return text;
                }
            }
            return text.substring(0, lineStart);
        }
        return text;
    }

    private void comment() {
        int end = src.indexOf("#}", pos);
        if (end < 0) {
            throw new JinjaException("unclosed comment at line " + line);
        }
        boolean strip = end > pos && src.charAt(end - 1) == '-';
        boolean plus = end > pos && src.charAt(end - 1) == '+';
        line += count(src, pos, end);
        pos = end + 2;
        afterBlockEnd(strip, plus);
    }

    /** After a block or comment tag: {@code -} strips all following whitespace, trim_blocks one newline. */
    private void afterBlockEnd(boolean strip, boolean plus) {
        if (strip) {
            stripFollowing();
        } else if (trimBlocks && !plus && src.startsWith("\n", pos)) {
            pos++;
            line++;
            lineStarting = true;
        } else if (trimBlocks && !plus && src.startsWith("\r\n", pos)) {
            pos += 2;
            line++;
            lineStarting = true;
        } else {
            lineStarting = false;
        }
    }

    private void stripFollowing() {
        int start = pos;
        while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
            pos++;
        }
        line += count(src, start, pos);
        lineStarting = pos > start && src.charAt(pos - 1) == '\n';
    }

    private boolean isRawBlock() {
        int i = skipBlanks(pos);
        return src.startsWith("raw", i)
                && skipBlanks(i + 3) < src.length()
                && (src.startsWith("%}", skipBlanks(i + 3)) || src.startsWith("-%}", skipBlanks(i + 3)));
    }

    private void raw() {
        int i = skipBlanks(skipBlanks(pos) + 3);
        boolean stripAfterOpen = src.charAt(i) == '-';
        pos = i + (stripAfterOpen ? 3 : 2);
        afterBlockEnd(stripAfterOpen, false);
        int search = pos;
        while (true) {
            int at = src.indexOf("{%", search);
            if (at < 0) {
                throw new JinjaException("unclosed raw block at line " + line);
            }
            int j = at + 2;
            boolean stripBefore = j < src.length() && src.charAt(j) == '-';
            if (stripBefore || (j < src.length() && src.charAt(j) == '+')) {
                j++;
            }
            j = skipBlanks(j);
            if (src.startsWith("endraw", j)) {
                int k = skipBlanks(j + 6);
                boolean stripAfter = src.charAt(k) == '-';
                int close = k + (stripAfter ? 3 : 2);
                String body = src.substring(pos, at);
                if (stripBefore) {
                    body = body.stripTrailing();
                }
                if (!body.isEmpty()) {
                    tokens.add(new Token(Kind.TEXT, body, line));
                }
                line += count(src, pos, close);
                pos = close;
                afterBlockEnd(stripAfter, false);
                return;
            }
            search = at + 2;
        }
    }

    private int skipBlanks(int i) {
        while (i < src.length() && Character.isWhitespace(src.charAt(i))) {
            i++;
        }
        return i;
    }

    /** Lexes expression tokens until the closing delimiter {@code close} at bracket depth zero. */
    private void expression(String close) {
        int depth = 0;
        while (true) {
            while (pos < src.length() && Character.isWhitespace(src.charAt(pos))) {
                if (src.charAt(pos) == '\n') {
                    line++;
                }
                pos++;
            }
            if (pos >= src.length()) {
                throw new JinjaException("unclosed tag at line " + line);
            }
            char c = src.charAt(pos);
            if (depth == 0) {
                boolean minus = c == '-' && src.startsWith(close, pos + 1);
                boolean plus = c == '+' && src.startsWith(close, pos + 1);
                if (minus || plus || src.startsWith(close, pos)) {
                    pos += close.length() + (minus || plus ? 1 : 0);
                    if (close.equals("}}")) {
                        tokens.add(new Token(Kind.VARIABLE_END, close, line));
                        if (minus) {
                            stripFollowing();
                        } else {
                            lineStarting = false;
                        }
                    } else {
                        tokens.add(new Token(Kind.BLOCK_END, close, line));
                        afterBlockEnd(minus, plus);
                    }
                    return;
                }
            }
            if (Character.isLetter(c) || c == '_') {
                int start = pos;
                while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
                    pos++;
                }
                tokens.add(new Token(Kind.NAME, src.substring(start, pos), line));
            } else if (Character.isDigit(c)) {
                number();
            } else if (c == '\'' || c == '"') {
                string(c);
            } else {
                String op = operator();
                if (op.equals("(") || op.equals("[") || op.equals("{")) {
                    depth++;
                } else if (op.equals(")") || op.equals("]") || op.equals("}")) {
                    depth--;
                }
                tokens.add(new Token(Kind.OPERATOR, op, line));
            }
        }
    }

    private void number() {
        int start = pos;
        while (pos < src.length() && (Character.isDigit(src.charAt(pos)) || src.charAt(pos) == '_')) {
            pos++;
        }
        boolean isFloat = false;
        if (pos + 1 < src.length() && src.charAt(pos) == '.' && Character.isDigit(src.charAt(pos + 1))) {
            isFloat = true;
            pos++;
            while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                pos++;
            }
        }
        if (pos < src.length() && (src.charAt(pos) == 'e' || src.charAt(pos) == 'E')) {
            int save = pos;
            pos++;
            if (pos < src.length() && (src.charAt(pos) == '+' || src.charAt(pos) == '-')) {
                pos++;
            }
            if (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                isFloat = true;
                while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
                    pos++;
                }
            } else {
                pos = save;
            }
        }
        String text = src.substring(start, pos).replace("_", "");
        tokens.add(new Token(isFloat ? Kind.FLOAT : Kind.INTEGER, text, line));
    }

    private void string(char quote) {
        StringBuilder sb = new StringBuilder();
        pos++;
        while (true) {
            if (pos >= src.length()) {
                throw new JinjaException("unclosed string at line " + line);
            }
            char c = src.charAt(pos++);
            if (c == quote) {
                break;
            }
            if (c == '\n') {
                line++;
            }
            if (c != '\\' || pos >= src.length()) {
                sb.append(c);
                continue;
            }
            char e = src.charAt(pos++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case '0' -> sb.append('\0');
                case '\\', '\'', '"' -> sb.append(e);
                case '\n' -> line++;
                case 'u' -> {
                    sb.append((char) Integer.parseInt(src.substring(pos, pos + 4), 16));
                    pos += 4;
                }
                case 'x' -> {
                    sb.append((char) Integer.parseInt(src.substring(pos, pos + 2), 16));
                    pos += 2;
                }
                default -> sb.append('\\').append(e);
            }
        }
        tokens.add(new Token(Kind.STRING, sb.toString(), line));
    }

    private static final String[] OPERATORS = {
        "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "|", ".", ",", ":", "(", ")",
        "[", "]", "{", "}"
    };

    private String operator() {
        for (String op : OPERATORS) {
            if (src.startsWith(op, pos)) {
                pos += op.length();
                return op;
            }
        }
        throw new JinjaException("unexpected character '" + src.charAt(pos) + "' at line " + line);
    }

    private static int count(String s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            if (s.charAt(i) == '\n') {
                n++;
            }
        }
        return n;
    }
}
