package dev.spindle.chat.jinja;

/** One lexical unit of a template: literal text, a tag delimiter, or a piece of an expression. */
record Token(Kind kind, String text, int line) {

    enum Kind {
        /** Literal template text, whitespace control already applied. */
        TEXT,
        /** {@code {{} */
        VARIABLE_BEGIN,
        /** {@code }}} */
        VARIABLE_END,
        /** {@code {%} */
        BLOCK_BEGIN,
        /** {@code %}} */
        BLOCK_END,
        NAME,
        STRING,
        INTEGER,
        FLOAT,
        /** An operator or punctuation: {@code + - * / // % ** ~ == != < > <= >= = | . , : ( ) [ ] { }}. */
        OPERATOR,
        END
    }

    boolean is(Kind k, String t) {
        return kind == k && text.equals(t);
    }

    boolean isOperator(String t) {
        return is(Kind.OPERATOR, t);
    }

    boolean isName(String t) {
        return is(Kind.NAME, t);
    }

    @Override
    public String toString() {
        return kind + "(" + text + ")@" + line;
    }
}
