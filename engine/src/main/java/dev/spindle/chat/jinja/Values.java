package dev.spindle.chat.jinja;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Python's meaning of values in templates: what is true, how values print ({@code str} and {@code repr}), compare and
 * convert. Values are {@code null} (None), {@link Boolean}, {@link Long}, {@link Double}, {@link String},
 * {@link List}, {@link Map} with string keys, {@link Undefined}, {@link Namespace} and {@link JinjaFunction}.
 */
final class Values {

    private Values() {}

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Undefined u -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> true;
        };
    }

    /** Python's {@code str()}, which is how {@code {{ value }}} renders (undefined renders as nothing). */
    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case Undefined u -> "";
            case String s -> s;
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case Double d -> floatRepr(d);
            default -> repr(v);
        };
    }

    /** Python's {@code repr()}: strings quoted, containers with their items' reprs. */
    static String repr(Object v) {
        return switch (v) {
            case String s -> stringRepr(s);
            case List<?> l -> {
                StringBuilder sb = new StringBuilder("[");
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) {
                        sb.append(", ");
                    }
                    sb.append(repr(l.get(i)));
                }
                yield sb.append(']').toString();
            }
            case Map<?, ?> m -> {
                StringBuilder sb = new StringBuilder("{");
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) {
                        sb.append(", ");
                    }
                    first = false;
                    sb.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                }
                yield sb.append('}').toString();
            }
            case Namespace n -> "<Namespace " + repr(n.attributes) + ">";
            case JinjaFunction f -> "<function>";
            default -> str(v);
        };
    }

    private static String stringRepr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder sb = new StringBuilder().append(quote);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c == quote) {
                        sb.append('\\').append(c);
                    } else if (c < 0x20 || c == 0x7f) {
                        sb.append(String.format("\\x%02x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append(quote).toString();
    }

    /** Python's shortest round-trip float repr: {@code 1.0}, {@code 0.1}, {@code 1e+20}, {@code inf}. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        // Java's shortest digits, laid out the way Python does: plain between 1e-4 and 1e16, else exponent form.
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = exact.precision() - exact.scale() - 1;
        if (exponent >= -5 && exponent < 16) {
            String plain = exact.toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String digits = exact.unscaledValue().abs().toString();
        StringBuilder sb = new StringBuilder();
        if (d < 0) {
            sb.append('-');
        }
        sb.append(digits.charAt(0));
        if (digits.length() > 1) {
            sb.append('.').append(digits, 1, digits.length());
        }
        sb.append('e').append(exponent < 0 ? '-' : '+');
        int abs = Math.abs(exponent);
        if (abs < 10) {
            sb.append('0');
        }
        return sb.append(abs).toString();
    }

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static double toDouble(Object v) {
        return switch (v) {
            case Long l -> l;
            case Double d -> d;
            case Boolean b -> b ? 1 : 0;
            default -> throw new JinjaException("expected a number, got " + typeName(v));
        };
    }

    static long toLong(Object v) {
        return switch (v) {
            case Long l -> l;
            case Double d -> (long) (double) d;
            case Boolean b -> b ? 1 : 0;
            default -> throw new JinjaException("expected an integer, got " + typeName(v));
        };
    }

    static boolean isIntegral(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    /** Python's {@code ==}. */
    static boolean equal(Object a, Object b) {
        if (a == b) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        if (isNumber(a) && isNumber(b)) {
            if (isIntegral(a) && isIntegral(b)) {
                return toLong(a) == toLong(b);
            }
            return toDouble(a) == toDouble(b);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (int i = 0; i < x.size(); i++) {
                if (!equal(x.get(i), y.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) {
                return false;
            }
            for (Map.Entry<?, ?> e : x.entrySet()) {
                if (!y.containsKey(e.getKey()) || !equal(e.getValue(), y.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        return a.equals(b);
    }

    /** Python's ordering for {@code < <= > >=} and sorting. */
    static int compare(Object a, Object b) {
        if (isNumber(a) && isNumber(b)) {
            if (isIntegral(a) && isIntegral(b)) {
                return Long.compare(toLong(a), toLong(b));
            }
            return Double.compare(toDouble(a), toDouble(b));
        }
        if (a instanceof String x && b instanceof String y) {
            return comparePython(x, y);
        }
        if (a instanceof List<?> x && b instanceof List<?> y) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                int c = compare(x.get(i), y.get(i));
                if (c != 0) {
                    return c;
                }
            }
            return Integer.compare(x.size(), y.size());
        }
        throw new JinjaException("cannot compare " + typeName(a) + " with " + typeName(b));
    }

    /** Code point order, as Python compares strings (UTF-16 order differs above U+FFFF). */
    private static int comparePython(String x, String y) {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
            int a = x.codePointAt(i);
            int b = y.codePointAt(j);
            if (a != b) {
                return Integer.compare(a, b);
            }
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Integer.compare(x.length() - i, y.length() - j);
    }

    /** The items a {@code for} loop or filter iterates: list items, map keys, string characters. */
    static List<Object> iterate(Object v) {
        return switch (v) {
            case null -> throw new JinjaException("'NoneType' object is not iterable");
            case Undefined u -> List.of();
            case List<?> l -> new ArrayList<>(l);
            case Map<?, ?> m -> new ArrayList<>(m.keySet());
            case String s -> {
                List<Object> chars = new ArrayList<>();
                s.codePoints().forEach(cp -> chars.add(new String(Character.toChars(cp))));
                yield chars;
            }
            case Iterable<?> it -> {
                List<Object> items = new ArrayList<>();
                Iterator<?> iterator = it.iterator();
                iterator.forEachRemaining(items::add);
                yield items;
            }
            default -> throw new JinjaException("'" + typeName(v) + "' object is not iterable");
        };
    }

    static int length(Object v) {
        return switch (v) {
            case String s -> s.codePointCount(0, s.length());
            case List<?> l -> l.size();
            case Map<?, ?> m -> m.size();
            case Undefined u -> 0;
            default -> throw new JinjaException("object of type '" + typeName(v) + "' has no len()");
        };
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Undefined u -> "Undefined";
            case Boolean b -> "bool";
            case Long l -> "int";
            case Double d -> "float";
            case String s -> "str";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Namespace n -> "Namespace";
            case JinjaFunction f -> "function";
            default -> v.getClass().getSimpleName();
        };
    }

    /** Python's {@code in}. */
    static boolean contains(Object container, Object item) {
        return switch (container) {
            case String s -> {
                if (!(item instanceof String needle)) {
                    throw new JinjaException("'in <string>' requires string as left operand, not " + typeName(item));
                }
                yield s.contains(needle);
            }
            case List<?> l -> {
                for (Object o : l) {
                    if (equal(o, item)) {
                        yield true;
                    }
                }
                yield false;
            }
            case Map<?, ?> m -> m.containsKey(item);
            case Undefined u -> false;
            case null -> throw new JinjaException("argument of type 'NoneType' is not iterable");
            default -> throw new JinjaException("argument of type '" + typeName(container) + "' is not iterable");
        };
    }
}
