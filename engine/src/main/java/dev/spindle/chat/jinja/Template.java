package dev.spindle.chat.jinja;

import java.util.List;
import java.util.Map;

/**
 * A parsed Jinja template, rendered with Python Jinja2's semantics as Hugging Face configures it for chat templates
 * ({@code trim_blocks}, {@code lstrip_blocks}, no trailing newline kept, loop controls on).
 *
 * <p>Immutable once parsed; {@link #render} may run concurrently.
 */
public final class Template {

    private final List<Node> nodes;

    private Template(List<Node> nodes) {
        this.nodes = nodes;
    }

    /** Parses {@code source}; throws {@link JinjaException} with the line of a syntax error. */
    public static Template parse(String source) {
        List<Token> tokens = new Lexer(source, true, true, false).tokenize();
        return new Template(new Parser(tokens).parseTemplate());
    }

    /**
     * Renders with {@code variables} as the global scope. Values are {@code null}, {@link Boolean}, {@link Long} or
     * {@link Integer}, {@link Double}, {@link String}, {@link List}, {@link Map} with string keys, and
     * {@link JinjaFunction}s for callables; other numbers are converted.
     */
    public String render(Map<String, Object> variables) {
        Map<String, Object> globals = new java.util.HashMap<>(Builtins.globals());
        variables.forEach((k, v) -> globals.put(k, Builtins.normalize(v)));
        try {
            return new Interpreter().render(nodes, globals);
        } catch (StackOverflowError e) {
            throw new JinjaException("template recursion too deep", e);
        }
    }
}
