package dev.spindle.chat.jinja;

import java.util.List;
import java.util.Map;

/** Jinja's tests: {@code value is name(args)}. */
final class Tests {

    private Tests() {}

    static boolean apply(String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v == null;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "number" -> v instanceof Long || v instanceof Double;
            case "string" -> v instanceof String;
            case "mapping" -> v instanceof Map<?, ?> || v instanceof Namespace;
            case "sequence" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>;
            case "iterable" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>;
            case "callable" -> v instanceof JinjaFunction;
            case "odd" -> Values.toLong(v) % 2 != 0;
            case "even" -> Values.toLong(v) % 2 == 0;
            case "divisibleby" -> Values.toLong(v) % Values.toLong(args.get(0)) == 0;
            case "equalto", "eq", "==" -> Values.equal(v, args.get(0));
            case "ne", "!=" -> !Values.equal(v, args.get(0));
            case "sameas" -> v == args.get(0) || (v != null && v.equals(args.get(0)) && v instanceof Boolean);
            case "lt", "lessthan", "<" -> Values.compare(v, args.get(0)) < 0;
            case "le", "<=" -> Values.compare(v, args.get(0)) <= 0;
            case "gt", "greaterthan", ">" -> Values.compare(v, args.get(0)) > 0;
            case "ge", ">=" -> Values.compare(v, args.get(0)) >= 0;
            case "in" -> Values.contains(args.get(0), v);
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase(java.util.Locale.ROOT));
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase(java.util.Locale.ROOT));
            default -> throw new JinjaException("no test named '" + name + "'");
        };
    }
}
