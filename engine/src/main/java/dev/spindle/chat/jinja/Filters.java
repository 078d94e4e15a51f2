package dev.spindle.chat.jinja;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Jinja's built-in filters as chat templates use them, with Hugging Face's {@code tojson}. */
final class Filters {

    private Filters() {}

    static Object apply(Interpreter interpreter, String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        return switch (name) {
            case "trim" -> Members.strip(Values.str(v), args.isEmpty() ? null : Values.str(args.get(0)), true, true);
            case "tojson" -> tojson(v, args, kwargs);
            case "length", "count" -> (long) Values.length(v);
            case "string" -> Values.str(v);
            case "safe", "escape_none" -> v;
            case "e", "escape", "forceescape" -> escape(Values.str(v));
            case "upper" -> Values.str(v).toUpperCase(Locale.ROOT);
            case "lower" -> Values.str(v).toLowerCase(Locale.ROOT);
            case "capitalize" -> Members.capitalize(Values.str(v));
            case "title" -> Members.title(Values.str(v));
            case "first" -> {
                List<Object> items = Values.iterate(v);
                yield items.isEmpty() ? Undefined.INSTANCE : items.get(0);
            }
            case "last" -> {
                List<Object> items = Values.iterate(v);
                yield items.isEmpty() ? Undefined.INSTANCE : items.get(items.size() - 1);
            }
            case "list" -> Values.iterate(v);
            case "join" -> join(v, arg(args, kwargs, 0, "d", ""), kwargs.get("attribute"));
            case "default", "d" -> {
                Object fallback = arg(args, kwargs, 0, "default_value", "");
                boolean onFalse = Values.truthy(arg(args, kwargs, 1, "boolean", false));
                yield v instanceof Undefined || (onFalse && !Values.truthy(v)) ? fallback : v;
            }
            case "replace" -> {
                String s = Values.str(v);
                String old = Values.str(args.get(0));
                String replacement = Values.str(args.get(1));
                yield args.size() > 2
                        ? ((JinjaFunction) Members.attribute(s, "replace")).call(args, Map.of())
                        : s.replace(old, replacement);
            }
            case "int" -> toInt(v, arg(args, kwargs, 0, "default", 0L));
            case "float" -> toFloat(v, arg(args, kwargs, 0, "default", 0.0));
            case "abs" -> v instanceof Long l ? (Object) Math.abs(l) : (Object) Math.abs(Values.toDouble(v));
            case "round" -> round(v, args, kwargs);
            case "reverse" -> {
                if (v instanceof String s) {
                    yield new StringBuilder(s).reverse().toString();
                }
                List<Object> items = Values.iterate(v);
                Collections.reverse(items);
                yield items;
            }
            case "sort" -> sort(v, args, kwargs);
            case "unique" -> {
                List<Object> out = new ArrayList<>();
                for (Object o : Values.iterate(v)) {
                    if (out.stream().noneMatch(x -> Values.equal(x, o))) {
                        out.add(o);
                    }
                }
                yield out;
            }
            case "items" -> {
                if (!(v instanceof Map<?, ?> map)) {
                    yield v instanceof Undefined ? List.of() : Values.iterate(v);
                }
                List<Object> pairs = new ArrayList<>();
                map.forEach((k, val) -> pairs.add(java.util.Arrays.asList(k, val)));
                yield pairs;
            }
            case "dictsort" -> {
                Map<?, ?> map = (Map<?, ?>) v;
                List<Object> pairs = new ArrayList<>();
                map.forEach((k, val) -> pairs.add(java.util.Arrays.asList(k, val)));
                pairs.sort((a, b) -> Values.compare(((List<?>) a).get(0), ((List<?>) b).get(0)));
                yield pairs;
            }
            case "map" -> map(interpreter, v, args, kwargs);
            case "select", "reject" -> {
                List<Object> out = new ArrayList<>();
                for (Object o : Values.iterate(v)) {
                    boolean pass = args.isEmpty()
                            ? Values.truthy(o)
                            : Tests.apply(Values.str(args.get(0)), o, args.subList(1, args.size()));
                    if (pass == name.equals("select")) {
                        out.add(o);
                    }
                }
                yield out;
            }
            case "selectattr", "rejectattr" -> {
                List<Object> out = new ArrayList<>();
                String attribute = Values.str(args.get(0));
                for (Object o : Values.iterate(v)) {
                    Object a = Members.attribute(o, attribute);
                    boolean pass = args.size() < 2
                            ? Values.truthy(a)
                            : Tests.apply(Values.str(args.get(1)), a, args.subList(2, args.size()));
                    if (pass == name.equals("selectattr")) {
                        out.add(o);
                    }
                }
                yield out;
            }
            case "attr" -> Members.attribute(v, Values.str(args.get(0)));
            case "sum" -> {
                Object total = arg(args, kwargs, 1, "start", 0L);
                Object attribute = arg(args, kwargs, 0, "attribute", null);
                for (Object o : Values.iterate(v)) {
                    total = Interpreter.binary(
                            "+", total, attribute == null ? o : Members.attribute(o, Values.str(attribute)), 0);
                }
                yield total;
            }
            case "min", "max" -> {
                List<Object> items = Values.iterate(v);
                if (items.isEmpty()) {
                    yield Undefined.INSTANCE;
                }
                Object best = items.get(0);
                for (Object o : items) {
                    int c = Values.compare(o, best);
                    if (name.equals("min") ? c < 0 : c > 0) {
                        best = o;
                    }
                }
                yield best;
            }
            case "indent" -> indent(Values.str(v), args, kwargs);
            case "wordcount" -> (long) Members.split(Values.str(v), null, -1).size();
            case "center" -> {
                String s = Values.str(v);
                int width = (int) Values.toLong(arg(args, kwargs, 0, "width", 80L));
                int pad = Math.max(0, width - s.length());
                int left = pad / 2 + (pad % 2 == 1 && width % 2 == 1 ? 1 : 0);
                yield " ".repeat(left) + s + " ".repeat(pad - left);
            }
            case "batch" -> {
                List<Object> out = new ArrayList<>();
                List<Object> items = Values.iterate(v);
                int size = (int) Values.toLong(args.get(0));
                for (int i = 0; i < items.size(); i += size) {
                    out.add(new ArrayList<>(items.subList(i, Math.min(items.size(), i + size))));
                }
                yield out;
            }
            default -> throw new JinjaException("no filter named '" + name + "'");
        };
    }

    private static Object arg(List<Object> args, Map<String, Object> kwargs, int index, String name, Object fallback) {
        if (index < args.size()) {
            return args.get(index);
        }
        return kwargs.containsKey(name) ? kwargs.get(name) : fallback;
    }

    private static String tojson(Object v, List<Object> args, Map<String, Object> kwargs) {
        Object indent = arg(args, kwargs, 0, "indent", null);
        Object separators = kwargs.get("separators");
        String itemSeparator = null;
        String keySeparator = null;
        if (separators instanceof List<?> seps && seps.size() == 2) {
            itemSeparator = Values.str(seps.get(0));
            keySeparator = Values.str(seps.get(1));
        }
        boolean sortKeys = Values.truthy(kwargs.getOrDefault("sort_keys", false));
        boolean ensureAscii = Values.truthy(kwargs.getOrDefault("ensure_ascii", false));
        Integer indentWidth = indent == null || indent instanceof Undefined ? null : (int) Values.toLong(indent);
        return new PythonJson(indentWidth, itemSeparator, keySeparator, sortKeys, ensureAscii).dumps(v);
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&#34;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String join(Object v, Object separator, Object attribute) {
        StringBuilder sb = new StringBuilder();
        List<Object> items = Values.iterate(v);
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) {
                sb.append(Values.str(separator));
            }
            Object item = attribute == null ? items.get(i) : Members.attribute(items.get(i), Values.str(attribute));
            sb.append(Values.str(item));
        }
        return sb.toString();
    }

    private static Object toInt(Object v, Object fallback) {
        try {
            return switch (v) {
                case Long l -> l;
                case Double d -> (long) (double) d;
                case Boolean b -> b ? 1L : 0L;
                case String s -> {
                    String t = s.strip();
                    try {
                        yield Long.parseLong(t);
                    } catch (NumberFormatException e) {
                        yield (long) Double.parseDouble(t);
                    }
                }
                default -> fallback;
            };
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private static Object toFloat(Object v, Object fallback) {
        try {
            return switch (v) {
                case Long l -> (double) l;
                case Double d -> d;
                case Boolean b -> b ? 1.0 : 0.0;
                case String s -> Double.parseDouble(s.strip());
                default -> fallback;
            };
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private static Object round(Object v, List<Object> args, Map<String, Object> kwargs) {
        int precision = (int) Values.toLong(arg(args, kwargs, 0, "precision", 0L));
        String method = Values.str(arg(args, kwargs, 1, "method", "common"));
        double scale = Math.pow(10, precision);
        double x = Values.toDouble(v) * scale;
        double r = switch (method) {
            case "ceil" -> Math.ceil(x);
            case "floor" -> Math.floor(x);
            default -> Math.signum(x) * Math.floor(Math.abs(x) + 0.5);
        };
        return r / scale;
    }

    private static List<Object> sort(Object v, List<Object> args, Map<String, Object> kwargs) {
        boolean reverse = Values.truthy(arg(args, kwargs, 0, "reverse", false));
        boolean caseSensitive = Values.truthy(arg(args, kwargs, 1, "case_sensitive", false));
        Object attribute = arg(args, kwargs, 2, "attribute", null);
        List<Object> items = Values.iterate(v);
        Comparator<Object> order = (a, b) -> {
            Object x = attribute == null ? a : Members.attribute(a, Values.str(attribute));
            Object y = attribute == null ? b : Members.attribute(b, Values.str(attribute));
            if (!caseSensitive && x instanceof String s && y instanceof String t) {
                return Values.compare(s.toLowerCase(Locale.ROOT), t.toLowerCase(Locale.ROOT));
            }
            return Values.compare(x, y);
        };
        items.sort(reverse ? order.reversed() : order);
        return items;
    }

    private static List<Object> map(Interpreter interpreter, Object v, List<Object> args, Map<String, Object> kwargs) {
        List<Object> out = new ArrayList<>();
        if (kwargs.containsKey("attribute")) {
            String attribute = Values.str(kwargs.get("attribute"));
            for (Object o : Values.iterate(v)) {
                Object a = Members.attribute(o, attribute);
                out.add(a instanceof Undefined && kwargs.containsKey("default") ? kwargs.get("default") : a);
            }
            return out;
        }
        String filter = Values.str(args.get(0));
        Map<String, Object> rest = new LinkedHashMap<>(kwargs);
        for (Object o : Values.iterate(v)) {
            out.add(apply(interpreter, filter, o, args.subList(1, args.size()), rest));
        }
        return out;
    }

    private static String indent(String s, List<Object> args, Map<String, Object> kwargs) {
        Object width = arg(args, kwargs, 0, "width", 4L);
        String pad = width instanceof String w ? w : " ".repeat((int) Values.toLong(width));
        boolean first = Values.truthy(arg(args, kwargs, 1, "first", false));
        boolean blank = Values.truthy(arg(args, kwargs, 2, "blank", false));
        String[] lines = s.split("\n", -1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                sb.append('\n');
            }
            boolean indentThis = (i > 0 || first) && (blank || !lines[i].isEmpty());
            if (indentThis) {
                sb.append(pad);
            }
            sb.append(lines[i]);
        }
        return sb.toString();
    }
}
