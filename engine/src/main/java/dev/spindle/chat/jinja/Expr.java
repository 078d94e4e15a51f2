package dev.spindle.chat.jinja;

import java.util.List;

/** A Jinja expression as the parser builds it. */
sealed interface Expr {

    int line();

    record Literal(Object value, int line) implements Expr {}

    record Name(String name, int line) implements Expr {}

    /** {@code target.name}: an attribute, falling back to an item, as Jinja's {@code getattr}. */
    record Attribute(Expr target, String name, int line) implements Expr {}

    /** {@code target[key]}. */
    record Item(Expr target, Expr key, int line) implements Expr {}

    /** {@code target[start:stop:step]}; absent parts are {@code null}. */
    record Slice(Expr target, Expr start, Expr stop, Expr step, int line) implements Expr {}

    record Call(Expr callee, List<Expr> args, List<Keyword> kwargs, int line) implements Expr {}

    record Keyword(String name, Expr value) {}

    /** {@code value | name(args)}. */
    record Filter(Expr value, String name, List<Expr> args, List<Keyword> kwargs, int line) implements Expr {}

    /** {@code value is [not] name(args)}. */
    record Test(Expr value, String name, List<Expr> args, boolean negated, int line) implements Expr {}

    /** Arithmetic and concatenation: {@code + - * / // % ** ~}. */
    record Binary(String op, Expr left, Expr right, int line) implements Expr {}

    /** Unary {@code -} or {@code +}. */
    record Unary(String op, Expr operand, int line) implements Expr {}

    /** A chain {@code a < b <= c}: each operator applies to its neighbours, all must hold. */
    record Compare(Expr first, List<String> ops, List<Expr> rest, int line) implements Expr {}

    record And(Expr left, Expr right, int line) implements Expr {}

    record Or(Expr left, Expr right, int line) implements Expr {}

    record Not(Expr operand, int line) implements Expr {}

    /** {@code then if condition else otherwise}; {@code otherwise} is {@code null} when absent. */
    record Conditional(Expr condition, Expr then, Expr otherwise, int line) implements Expr {}

    record ListLiteral(List<Expr> items, int line) implements Expr {}

    record TupleLiteral(List<Expr> items, int line) implements Expr {}

    record DictLiteral(List<Expr> keys, List<Expr> values, int line) implements Expr {}
}
