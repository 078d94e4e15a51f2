package dev.spindle.chat.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * JSON as Python's {@code json.dumps} writes it, which is what Hugging Face's {@code tojson} filter produces:
 * {@code ", "} and {@code ": "} between items unless indenting, non-ASCII characters kept as they are (HF passes
 * {@code ensure_ascii=False}), floats in Python's repr.
 */
final class PythonJson {

    private final Integer indent;
    private final String itemSeparator;
    private final String keySeparator;
    private final boolean sortKeys;
    private final boolean ensureAscii;

    PythonJson(Integer indent, String itemSeparator, String keySeparator, boolean sortKeys, boolean ensureAscii) {
        this.indent = indent;
        this.itemSeparator = itemSeparator != null ? itemSeparator : (indent != null ? "," : ", ");
        this.keySeparator = keySeparator != null ? keySeparator : ": ";
        this.sortKeys = sortKeys;
        this.ensureAscii = ensureAscii;
    }

    String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(value, sb, 0);
        return sb.toString();
    }

    private void newline(StringBuilder sb, int level) {
        if (indent != null) {
            sb.append('\n');
            sb.append(" ".repeat(indent * level));
        }
    }

    private void write(Object v, StringBuilder sb, int level) {
        switch (v) {
            case null -> sb.append("null");
            case Undefined u -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Long l -> sb.append(l);
            case Double d -> {
                if (Double.isNaN(d)) {
                    sb.append("NaN");
                } else if (Double.isInfinite(d)) {
                    sb.append(d > 0 ? "Infinity" : "-Infinity");
                } else {
                    sb.append(Values.floatRepr(d));
                }
            }
            case Number n -> sb.append(n);
            case String s -> string(s, sb);
            case List<?> list -> {
                if (list.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append('[');
                for (int i = 0; i < list.size(); i++) {
                    if (i > 0) {
                        sb.append(itemSeparator);
                    }
                    newline(sb, level + 1);
                    write(list.get(i), sb, level + 1);
                }
                newline(sb, level);
                sb.append(']');
            }
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                List<Object> keys = new ArrayList<>(map.keySet());
                if (sortKeys) {
                    keys.sort(Values::compare);
                }
                sb.append('{');
                boolean first = true;
                for (Object key : keys) {
                    if (!first) {
                        sb.append(itemSeparator);
                    }
                    first = false;
                    newline(sb, level + 1);
                    string(key instanceof String s ? s : Values.str(key), sb);
                    sb.append(keySeparator);
                    write(map.get(key), sb, level + 1);
                }
                newline(sb, level);
                sb.append('}');
            }
            case Namespace n -> write(n.attributes, sb, level);
            default -> throw new JinjaException("Object of type " + Values.typeName(v) + " is not JSON serializable");
        }
    }

    private void string(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
