package dev.spindle.chat.jinja;

import java.util.List;

/** A Jinja statement or piece of output as the parser builds it. */
sealed interface Node {

    record Text(String text) implements Node {}

    /** {@code {{ expr }}}. */
    record Output(Expr expr) implements Node {}

    /** {@code if}/{@code elif}/{@code else}: the bodies of the first true condition, or {@code otherwise}. */
    record If(List<Expr> conditions, List<List<Node>> bodies, List<Node> otherwise) implements Node {}

    /**
     * {@code for targets in iterable [if filter] ... [else ...] endfor}; {@code targets} has more than one name when
     * items are unpacked.
     */
    record For(List<String> targets, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise, int line)
            implements Node {}

    /** {@code set targets = value}, or {@code set ns.attribute = value} when {@code attribute} is not null. */
    record Set(List<String> targets, String attribute, Expr value, int line) implements Node {}

    /** {@code set name %}...{% endset}: the rendered body, optionally filtered. */
    record SetBlock(String target, List<Expr.Filter> filters, List<Node> body) implements Node {}

    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {}

    /** {@code filter name %}...{% endfilter}: the body rendered and passed through filters. */
    record FilterBlock(List<Expr.Filter> filters, List<Node> body) implements Node {}

    record Break() implements Node {}

    record Continue() implements Node {}
}
