package dev.spindle.chat.jinja;

import dev.spindle.chat.jinja.Token.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Recursive descent over {@link Lexer} tokens, with Jinja2's operator precedence. */
final class Parser {

    private static final Set<String> TEST_ARGUMENT_STOPS = Set.of("else", "or", "and", "if", "is", "in", "not");

    private final List<Token> tokens;
    private int pos;

    Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    List<Node> parseTemplate() {
        List<Node> body = parseBody(Set.of());
        if (peek().kind() != Kind.END) {
            throw error("unexpected '" + peek(1).text() + "'");
        }
        return body;
    }

    private Token peek() {
        return tokens.get(pos);
    }

    private Token peek(int ahead) {
        return tokens.get(Math.min(pos + ahead, tokens.size() - 1));
    }

    private Token next() {
        return tokens.get(pos++);
    }

    private JinjaException error(String message) {
        return new JinjaException(message + " at line " + peek().line());
    }

    private Token expect(Kind kind, String text) {
        Token t = next();
        if (t.kind() != kind || (text != null && !t.text().equals(text))) {
            pos--;
            throw error("expected " + (text != null ? "'" + text + "'" : kind) + " but found '" + t.text() + "'");
        }
        return t;
    }

    private boolean acceptOperator(String op) {
        if (peek().isOperator(op)) {
            pos++;
            return true;
        }
        return false;
    }

    private boolean acceptName(String name) {
        if (peek().isName(name)) {
            pos++;
            return true;
        }
        return false;
    }

    private String expectName() {
        return expect(Kind.NAME, null).text();
    }

    /** Nodes until a block tag whose keyword is in {@code stops}; the position is then at that keyword. */
    private List<Node> parseBody(Set<String> stops) {
        List<Node> nodes = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.kind()) {
                case END -> {
                    if (!stops.isEmpty()) {
                        throw error("missing end of block (expected one of " + stops + ")");
                    }
                    return nodes;
                }
                case TEXT -> {
                    pos++;
                    nodes.add(new Node.Text(t.text()));
                }
                case VARIABLE_BEGIN -> {
                    pos++;
                    Expr e = parseTuple(true);
                    expect(Kind.VARIABLE_END, null);
                    nodes.add(new Node.Output(e));
                }
                case BLOCK_BEGIN -> {
                    Token keyword = peek(1);
                    if (keyword.kind() == Kind.NAME && stops.contains(keyword.text())) {
                        pos++;
                        return nodes;
                    }
                    pos++;
                    Node n = parseStatement();
                    if (n != null) {
                        nodes.add(n);
                    }
                }
                default -> throw error("unexpected '" + t.text() + "'");
            }
        }
    }

    private Node parseStatement() {
        Token keyword = peek();
        if (keyword.kind() != Kind.NAME) {
            throw error("expected a statement");
        }
        pos++;
        switch (keyword.text()) {
            case "if" -> {
                return parseIf();
            }
            case "for" -> {
                return parseFor(keyword.line());
            }
            case "set" -> {
                return parseSet(keyword.line());
            }
            case "macro" -> {
                return parseMacro();
            }
            case "filter" -> {
                List<Expr.Filter> filters = parseFilterChain(null);
                expect(Kind.BLOCK_END, null);
                List<Node> body = parseBody(Set.of("endfilter"));
                endBlock("endfilter");
                return new Node.FilterBlock(filters, body);
            }
            case "break" -> {
                expect(Kind.BLOCK_END, null);
                return new Node.Break();
            }
            case "continue" -> {
                expect(Kind.BLOCK_END, null);
                return new Node.Continue();
            }
            case "generation", "endgeneration" -> {
                // Hugging Face's marker for assistant tokens in training masks; it renders nothing.
                expect(Kind.BLOCK_END, null);
                return null;
            }
            default -> throw error("unknown tag '" + keyword.text() + "'");
        }
    }

    private void endBlock(String name) {
        expect(Kind.NAME, name);
        expect(Kind.BLOCK_END, null);
    }

    private Node parseIf() {
        List<Expr> conditions = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> otherwise = List.of();
        conditions.add(parseTuple(true));
        expect(Kind.BLOCK_END, null);
        while (true) {
            bodies.add(parseBody(Set.of("elif", "else", "endif")));
            String kw = next().text();
            if (kw.equals("elif")) {
                conditions.add(parseTuple(true));
                expect(Kind.BLOCK_END, null);
            } else if (kw.equals("else")) {
                expect(Kind.BLOCK_END, null);
                otherwise = parseBody(Set.of("endif"));
                endBlock("endif");
                break;
            } else {
                expect(Kind.BLOCK_END, null);
                break;
            }
        }
        return new Node.If(conditions, bodies, otherwise);
    }

    private Node parseFor(int line) {
        List<String> targets = new ArrayList<>();
        boolean parenthesized = acceptOperator("(");
        targets.add(expectName());
        while (acceptOperator(",")) {
            if (peek().isName("in") || peek().isOperator(")")) {
                break;
            }
            targets.add(expectName());
        }
        if (parenthesized) {
            expect(Kind.OPERATOR, ")");
        }
        expect(Kind.NAME, "in");
        Expr iterable = parseTuple(false);
        Expr filter = null;
        if (acceptName("if")) {
            filter = parseExpression(true);
        }
        if (acceptName("recursive")) {
            throw error("recursive loops are not supported");
        }
        expect(Kind.BLOCK_END, null);
        List<Node> body = parseBody(Set.of("else", "endfor"));
        List<Node> otherwise = List.of();
        if (next().text().equals("else")) {
            expect(Kind.BLOCK_END, null);
            otherwise = parseBody(Set.of("endfor"));
            next();
        }
        expect(Kind.BLOCK_END, null);
        return new Node.For(targets, iterable, filter, body, otherwise, line);
    }

    private Node parseSet(int line) {
        String first = expectName();
        if (acceptOperator(".")) {
            String attribute = expectName();
            expect(Kind.OPERATOR, "=");
            Expr value = parseTuple(true);
            expect(Kind.BLOCK_END, null);
            return new Node.Set(List.of(first), attribute, value, line);
        }
        List<String> targets = new ArrayList<>();
        targets.add(first);
        while (acceptOperator(",")) {
            targets.add(expectName());
        }
        if (acceptOperator("=")) {
            Expr value = parseTuple(true);
            expect(Kind.BLOCK_END, null);
            return new Node.Set(targets, null, value, line);
        }
        List<Expr.Filter> filters = peek().isOperator("|") ? parseFilterChain(null) : List.of();
        expect(Kind.BLOCK_END, null);
        List<Node> body = parseBody(Set.of("endset"));
        endBlock("endset");
        return new Node.SetBlock(first, filters, body);
    }

    private Node parseMacro() {
        String name = expectName();
        expect(Kind.OPERATOR, "(");
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        while (!acceptOperator(")")) {
            if (!params.isEmpty()) {
                expect(Kind.OPERATOR, ",");
                if (acceptOperator(")")) {
                    break;
                }
            }
            params.add(expectName());
            defaults.add(acceptOperator("=") ? parseExpression(true) : null);
        }
        expect(Kind.BLOCK_END, null);
        List<Node> body = parseBody(Set.of("endmacro"));
        next();
        if (peek().kind() == Kind.NAME) {
            next();
        }
        expect(Kind.BLOCK_END, null);
        return new Node.Macro(name, params, defaults, body);
    }

    /** Filters for a {@code filter} or {@code set} block: {@code name(args) | name ...}. */
    private List<Expr.Filter> parseFilterChain(Expr value) {
        List<Expr.Filter> filters = new ArrayList<>();
        boolean first = true;
        while (first || acceptOperator("|")) {
            if (first && peek().isOperator("|")) {
                next();
            }
            first = false;
            filters.add(parseFilterCall(value));
        }
        return filters;
    }

    // ---- expressions ----

    /** An expression, or a tuple when commas follow ({@code a, b}). */
    Expr parseTuple(boolean conditional) {
        int line = peek().line();
        Expr first = parseExpression(conditional);
        if (!peek().isOperator(",")) {
            return first;
        }
        List<Expr> items = new ArrayList<>();
        items.add(first);
        while (acceptOperator(",")) {
            if (atExpressionEnd()) {
                break;
            }
            items.add(parseExpression(conditional));
        }
        return new Expr.TupleLiteral(items, line);
    }

    private boolean atExpressionEnd() {
        Token t = peek();
        return t.kind() == Kind.VARIABLE_END
                || t.kind() == Kind.BLOCK_END
                || t.isOperator(")")
                || t.isOperator("]")
                || t.isOperator("}")
                || t.isName("in")
                || t.isName("if");
    }

    Expr parseExpression(boolean conditional) {
        Expr e = parseOr();
        if (conditional) {
            while (peek().isName("if")) {
                int line = next().line();
                Expr condition = parseOr();
                Expr otherwise = acceptName("else") ? parseExpression(true) : null;
                e = new Expr.Conditional(condition, e, otherwise, line);
            }
        }
        return e;
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (peek().isName("or")) {
            int line = next().line();
            left = new Expr.Or(left, parseAnd(), line);
        }
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (peek().isName("and")) {
            int line = next().line();
            left = new Expr.And(left, parseNot(), line);
        }
        return left;
    }

    private Expr parseNot() {
        if (peek().isName("not")) {
            int line = next().line();
            return new Expr.Not(parseNot(), line);
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        int line = peek().line();
        Expr first = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            String op = null;
            if (t.kind() == Kind.OPERATOR
                    && Set.of("==", "!=", "<", ">", "<=", ">=").contains(t.text())) {
                op = t.text();
                pos++;
            } else if (t.isName("in")) {
                op = "in";
                pos++;
            } else if (t.isName("not") && peek(1).isName("in")) {
                op = "not in";
                pos += 2;
            }
            if (op == null) {
                break;
            }
            ops.add(op);
            rest.add(parseMath1());
        }
        return ops.isEmpty() ? first : new Expr.Compare(first, ops, rest, line);
    }

    private Expr parseMath1() {
        Expr left = parseConcat();
        while (peek().isOperator("+") || peek().isOperator("-")) {
            Token op = next();
            left = new Expr.Binary(op.text(), left, parseConcat(), op.line());
        }
        return left;
    }

    private Expr parseConcat() {
        Expr left = parseMath2();
        while (peek().isOperator("~")) {
            Token op = next();
            left = new Expr.Binary("~", left, parseMath2(), op.line());
        }
        return left;
    }

    private Expr parseMath2() {
        Expr left = parsePow();
        while (peek().kind() == Kind.OPERATOR && Set.of("*", "/", "//", "%").contains(peek().text())) {
            Token op = next();
            left = new Expr.Binary(op.text(), left, parsePow(), op.line());
        }
        return left;
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        while (peek().isOperator("**")) {
            Token op = next();
            left = new Expr.Binary("**", left, parseUnary(true), op.line());
        }
        return left;
    }

    private Expr parseUnary(boolean withFilters) {
        Expr e;
        if (peek().isOperator("-") || peek().isOperator("+")) {
            Token op = next();
            e = new Expr.Unary(op.text(), parseUnary(false), op.line());
        } else {
            e = parsePostfix(parsePrimary());
        }
        return withFilters ? parseFilters(e) : e;
    }

    private Expr parseFilters(Expr e) {
        while (true) {
            if (peek().isOperator("|")) {
                next();
                e = parseFilterCall(e);
            } else if (peek().isName("is")) {
                int line = next().line();
                boolean negated = acceptName("not");
                String name = expectName();
                List<Expr> args = new ArrayList<>();
                if (peek().isOperator("(")) {
                    next();
                    args.addAll(parseArguments(new ArrayList<>()));
                } else if (startsTestArgument(peek())) {
                    args.add(parsePostfix(parsePrimary()));
                }
                e = new Expr.Test(e, name, args, negated, line);
            } else {
                return e;
            }
        }
    }

    private static boolean startsTestArgument(Token t) {
        return switch (t.kind()) {
            case STRING, INTEGER, FLOAT -> true;
            case NAME -> !TEST_ARGUMENT_STOPS.contains(t.text());
            case OPERATOR -> t.text().equals("[") || t.text().equals("{");
            default -> false;
        };
    }

    private Expr.Filter parseFilterCall(Expr value) {
        Token name = expect(Kind.NAME, null);
        StringBuilder full = new StringBuilder(name.text());
        while (peek().isOperator(".") && peek(1).kind() == Kind.NAME) {
            next();
            full.append('.').append(next().text());
        }
        List<Expr> args = new ArrayList<>();
        List<Expr.Keyword> kwargs = new ArrayList<>();
        if (acceptOperator("(")) {
            args.addAll(parseArguments(kwargs));
        }
        return new Expr.Filter(value, full.toString(), args, kwargs, name.line());
    }

    /** Call arguments after {@code (} through {@code )}: positional ones returned, keywords into {@code kwargs}. */
    private List<Expr> parseArguments(List<Expr.Keyword> kwargs) {
        List<Expr> args = new ArrayList<>();
        while (!acceptOperator(")")) {
            if (!args.isEmpty() || !kwargs.isEmpty()) {
                expect(Kind.OPERATOR, ",");
                if (acceptOperator(")")) {
                    break;
                }
            }
            if (peek().kind() == Kind.NAME && peek(1).isOperator("=")) {
                String name = next().text();
                next();
                kwargs.add(new Expr.Keyword(name, parseExpression(true)));
            } else {
                args.add(parseExpression(true));
            }
        }
        return args;
    }

    private Expr parsePrimary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Expr.Literal(Boolean.TRUE, t.line());
                    case "false", "False" -> new Expr.Literal(Boolean.FALSE, t.line());
                    case "none", "None" -> new Expr.Literal(null, t.line());
                    default -> new Expr.Name(t.text(), t.line());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.text());
                while (peek().kind() == Kind.STRING) {
                    sb.append(next().text());
                }
                return new Expr.Literal(sb.toString(), t.line());
            }
            case INTEGER -> {
                return new Expr.Literal(Long.parseLong(t.text()), t.line());
            }
            case FLOAT -> {
                return new Expr.Literal(Double.parseDouble(t.text()), t.line());
            }
            case OPERATOR -> {
                switch (t.text()) {
                    case "(" -> {
                        if (acceptOperator(")")) {
                            return new Expr.TupleLiteral(List.of(), t.line());
                        }
                        Expr e = parseTuple(true);
                        if (peek().isOperator(",")) {
                            next();
                        }
                        expect(Kind.OPERATOR, ")");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!acceptOperator("]")) {
                            if (!items.isEmpty()) {
                                expect(Kind.OPERATOR, ",");
                                if (acceptOperator("]")) {
                                    break;
                                }
                            }
                            items.add(parseExpression(true));
                        }
                        return new Expr.ListLiteral(items, t.line());
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!acceptOperator("}")) {
                            if (!keys.isEmpty()) {
                                expect(Kind.OPERATOR, ",");
                                if (acceptOperator("}")) {
                                    break;
                                }
                            }
                            keys.add(parseExpression(true));
                            expect(Kind.OPERATOR, ":");
                            values.add(parseExpression(true));
                        }
                        return new Expr.DictLiteral(keys, values, t.line());
                    }
                    default -> {}
                }
            }
            default -> {}
        }
        pos--;
        throw error("unexpected '" + t.text() + "'");
    }

    private Expr parsePostfix(Expr e) {
        while (true) {
            Token t = peek();
            if (t.isOperator(".")) {
                next();
                Token name = next();
                if (name.kind() == Kind.NAME) {
                    e = new Expr.Attribute(e, name.text(), name.line());
                } else if (name.kind() == Kind.INTEGER) {
                    e = new Expr.Item(e, new Expr.Literal(Long.parseLong(name.text()), name.line()), name.line());
                } else {
                    pos--;
                    throw error("expected an attribute name");
                }
            } else if (t.isOperator("[")) {
                next();
                e = parseSubscript(e, t.line());
            } else if (t.isOperator("(")) {
                next();
                List<Expr.Keyword> kwargs = new ArrayList<>();
                List<Expr> args = parseArguments(kwargs);
                e = new Expr.Call(e, args, kwargs, t.line());
            } else {
                return e;
            }
        }
    }

    private Expr parseSubscript(Expr target, int line) {
        Expr start = null;
        if (!peek().isOperator(":")) {
            start = parseExpression(true);
            if (acceptOperator("]")) {
                return new Expr.Item(target, start, line);
            }
        }
        expect(Kind.OPERATOR, ":");
        Expr stop = null;
        Expr step = null;
        if (!peek().isOperator("]") && !peek().isOperator(":")) {
            stop = parseExpression(true);
        }
        if (acceptOperator(":")) {
            if (!peek().isOperator("]")) {
                step = parseExpression(true);
            }
        }
        expect(Kind.OPERATOR, "]");
        return new Expr.Slice(target, start, stop, step, line);
    }
}
