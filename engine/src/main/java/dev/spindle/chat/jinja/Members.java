package dev.spindle.chat.jinja;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code value.name}, {@code value[key]} and {@code value[a:b:c]} mean: dictionary items and methods, string
 * methods (Python's, which chat templates call: {@code strip}, {@code split}, {@code startswith}, ...), list and
 * string indexing with negative indices and slices.
 */
final class Members {

    private Members() {}

    static Object attribute(Object target, String name) {
        return switch (target) {
            case Map<?, ?> map -> {
                JinjaFunction method = mapMethod(map, name);
                if (method != null) {
                    yield method;
                }
                yield map.containsKey(name) ? map.get(name) : Undefined.INSTANCE;
            }
            case String s -> stringMethod(s, name);
            case Namespace ns -> ns.attributes.containsKey(name) ? ns.attributes.get(name) : Undefined.INSTANCE;
            case List<?> list -> listMethod(list, name);
            case null, default -> Undefined.INSTANCE;
        };
    }

    static Object item(Object target, Object key) {
        return switch (target) {
            case Map<?, ?> map -> {
                Object k = key instanceof String ? key : Values.str(key);
                yield map.containsKey(k) ? map.get(k) : Undefined.INSTANCE;
            }
            case List<?> list -> {
                if (!Values.isIntegral(key)) {
                    yield key instanceof String s ? attribute(list, s) : Undefined.INSTANCE;
                }
                long i = Values.toLong(key);
                if (i < 0) {
                    i += list.size();
                }
                yield i >= 0 && i < list.size() ? list.get((int) i) : Undefined.INSTANCE;
            }
            case String s -> {
                if (!Values.isIntegral(key)) {
                    yield key instanceof String name ? stringMethod(s, name) : Undefined.INSTANCE;
                }
                int[] cps = s.codePoints().toArray();
                long i = Values.toLong(key);
                if (i < 0) {
                    i += cps.length;
                }
                yield i >= 0 && i < cps.length ? new String(cps, (int) i, 1) : Undefined.INSTANCE;
            }
            case Namespace ns -> attribute(ns, Values.str(key));
            case null, default -> Undefined.INSTANCE;
        };
    }

    /** Python slicing of lists and strings. */
    static Object slice(Object target, Object start, Object stop, Object step) {
        List<Object> items;
        boolean string = target instanceof String;
        if (target instanceof String s) {
            items = Values.iterate(s);
        } else if (target instanceof List<?> l) {
            items = new ArrayList<>(l);
        } else {
            throw new JinjaException("cannot slice '" + Values.typeName(target) + "'");
        }
        int n = items.size();
        long st = step == null ? 1 : Values.toLong(step);
        if (st == 0) {
            throw new JinjaException("slice step cannot be zero");
        }
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(Values.toLong(start), n, 0, n);
            hi = stop == null ? n : clamp(Values.toLong(stop), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(Values.toLong(start), n, -1, n - 1);
            hi = stop == null ? -1 : clamp(Values.toLong(stop), n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        if (st > 0) {
            for (long i = lo; i < hi; i += st) {
                out.add(items.get((int) i));
            }
        } else {
            for (long i = lo; i > hi; i += st) {
                out.add(items.get((int) i));
            }
        }
        if (string) {
            StringBuilder sb = new StringBuilder();
            out.forEach(o -> sb.append((String) o));
            return sb.toString();
        }
        return out;
    }

    private static long clamp(long index, int n, long min, long max) {
        if (index < 0) {
            index += n;
        }
        return Math.max(min, Math.min(max, index));
    }

    private static JinjaFunction mapMethod(Map<?, ?> map, String name) {
        return switch (name) {
            case "items" ->
                (args, kwargs) -> {
                    List<Object> items = new ArrayList<>();
                    map.forEach((k, v) -> items.add(java.util.Arrays.asList(k, v)));
                    return items;
                };
            case "keys" -> (args, kwargs) -> new ArrayList<Object>(map.keySet());
            case "values" -> (args, kwargs) -> new ArrayList<Object>(map.values());
            case "get" ->
                (args, kwargs) -> {
                    Object key = args.get(0);
                    if (map.containsKey(key)) {
                        return map.get(key);
                    }
                    return args.size() > 1 ? args.get(1) : null;
                };
            default -> null;
        };
    }

    private static Object listMethod(List<?> list, String name) {
        return switch (name) {
            case "index" ->
                (JinjaFunction) (args, kwargs) -> {
                    for (int i = 0; i < list.size(); i++) {
                        if (Values.equal(list.get(i), args.get(0))) {
                            return (long) i;
                        }
                    }
                    throw new JinjaException(Values.repr(args.get(0)) + " is not in list");
                };
            case "count" ->
                (JinjaFunction) (args, kwargs) ->
                        list.stream().filter(o -> Values.equal(o, args.get(0))).count();
            default -> Undefined.INSTANCE;
        };
    }

    private static Object stringMethod(String s, String name) {
        return switch (name) {
            case "strip" -> (JinjaFunction) (args, kwargs) -> strip(s, chars(args), true, true);
            case "lstrip" -> (JinjaFunction) (args, kwargs) -> strip(s, chars(args), true, false);
            case "rstrip" -> (JinjaFunction) (args, kwargs) -> strip(s, chars(args), false, true);
            case "startswith" -> (JinjaFunction) (args, kwargs) -> affix(s, args.get(0), true);
            case "endswith" -> (JinjaFunction) (args, kwargs) -> affix(s, args.get(0), false);
            case "split" ->
                (JinjaFunction) (args, kwargs) -> split(
                        s,
                        args.isEmpty() ? kwargs.get("sep") : args.get(0),
                        args.size() > 1
                                ? Values.toLong(args.get(1))
                                : kwargs.containsKey("maxsplit") ? Values.toLong(kwargs.get("maxsplit")) : -1);
            case "rsplit" ->
                (JinjaFunction) (args, kwargs) -> rsplit(
                        s, args.isEmpty() ? null : args.get(0), args.size() > 1 ? Values.toLong(args.get(1)) : -1);
            case "splitlines" ->
                (JinjaFunction) (args, kwargs) -> {
                    List<Object> lines = new ArrayList<>(List.of(s.split("\r\n|\r|\n", -1)));
                    if (!lines.isEmpty() && ((String) lines.get(lines.size() - 1)).isEmpty()) {
                        lines.remove(lines.size() - 1);
                    }
                    return lines;
                };
            case "upper" -> (JinjaFunction) (args, kwargs) -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> (JinjaFunction) (args, kwargs) -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> (JinjaFunction) (args, kwargs) -> title(s);
            case "capitalize" -> (JinjaFunction) (args, kwargs) -> capitalize(s);
            case "replace" ->
                (JinjaFunction) (args, kwargs) -> replace(
                        s,
                        Values.str(args.get(0)),
                        Values.str(args.get(1)),
                        args.size() > 2 ? Values.toLong(args.get(2)) : -1);
            case "find" -> (JinjaFunction) (args, kwargs) -> (long) s.indexOf(Values.str(args.get(0)));
            case "rfind" -> (JinjaFunction) (args, kwargs) -> (long) s.lastIndexOf(Values.str(args.get(0)));
            case "count" -> (JinjaFunction) (args, kwargs) -> countOccurrences(s, Values.str(args.get(0)));
            case "join" ->
                (JinjaFunction) (args, kwargs) -> {
                    StringBuilder sb = new StringBuilder();
                    List<Object> items = Values.iterate(args.get(0));
                    for (int i = 0; i < items.size(); i++) {
                        if (i > 0) {
                            sb.append(s);
                        }
                        sb.append(Values.str(items.get(i)));
                    }
                    return sb.toString();
                };
            case "isdigit", "isnumeric", "isdecimal" ->
                (JinjaFunction) (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" ->
                (JinjaFunction) (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" ->
                (JinjaFunction) (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" ->
                (JinjaFunction) (args, kwargs) -> !s.isEmpty() && s.codePoints().allMatch(Members::isPythonSpace);
            case "islower" ->
                (JinjaFunction) (args, kwargs) -> s.equals(s.toLowerCase(java.util.Locale.ROOT))
                        && !s.equals(s.toUpperCase(java.util.Locale.ROOT));
            case "isupper" ->
                (JinjaFunction) (args, kwargs) -> s.equals(s.toUpperCase(java.util.Locale.ROOT))
                        && !s.equals(s.toLowerCase(java.util.Locale.ROOT));
            case "format" -> (JinjaFunction) (args, kwargs) -> format(s, args, kwargs);
            default -> Undefined.INSTANCE;
        };
    }

    /** The characters {@code str.isspace} counts: Python's whitespace, including U+001C..U+001F. */
    static boolean isPythonSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85;
    }

    private static String chars(List<Object> args) {
        return args.isEmpty() || args.get(0) == null ? null : Values.str(args.get(0));
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        if (left) {
            while (start < end && stripped(s.codePointAt(start), chars)) {
                start += Character.charCount(s.codePointAt(start));
            }
        }
        if (right) {
            while (end > start && stripped(s.codePointBefore(end), chars)) {
                end -= Character.charCount(s.codePointBefore(end));
            }
        }
        return s.substring(start, end);
    }

    private static boolean stripped(int cp, String chars) {
        return chars == null ? isPythonSpace(cp) : chars.indexOf(cp) >= 0;
    }

    private static boolean affix(String s, Object affixes, boolean prefix) {
        if (affixes instanceof List<?> list) {
            for (Object a : list) {
                if (prefix ? s.startsWith(Values.str(a)) : s.endsWith(Values.str(a))) {
                    return true;
                }
            }
            return false;
        }
        String a = Values.str(affixes);
        return prefix ? s.startsWith(a) : s.endsWith(a);
    }

    static List<Object> split(String s, Object sep, long maxSplit) {
        List<Object> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isPythonSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !isPythonSpace(s.charAt(j))) {
                    j++;
                }
                parts.add(s.substring(i, j));
                i = j;
            }
            return parts;
        }
        String separator = Values.str(sep);
        if (separator.isEmpty()) {
            throw new JinjaException("empty separator");
        }
        int from = 0;
        while (maxSplit < 0 || parts.size() < maxSplit) {
            int at = s.indexOf(separator, from);
            if (at < 0) {
                break;
            }
            parts.add(s.substring(from, at));
            from = at + separator.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    private static List<Object> rsplit(String s, Object sep, long maxSplit) {
        if (sep == null || maxSplit < 0) {
            return split(s, sep, maxSplit);
        }
        String separator = Values.str(sep);
        List<Object> parts = new ArrayList<>();
        int end = s.length();
        while (parts.size() < maxSplit) {
            int at = s.lastIndexOf(separator, end - separator.length());
            if (at < 0) {
                break;
            }
            parts.add(0, s.substring(at + separator.length(), end));
            end = at;
        }
        parts.add(0, s.substring(0, end));
        return parts;
    }

    private static String replace(String s, String old, String replacement, long count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long done = 0; done < count; done++) {
            int at = s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            sb.append(s, from, at).append(replacement);
            from = at + old.length();
            if (old.isEmpty()) {
                if (from < s.length()) {
                    sb.append(s.charAt(from));
                }
                from++;
            }
        }
        if (from <= s.length()) {
            sb.append(s, Math.min(from, s.length()), s.length());
        }
        return sb.toString();
    }

    private static long countOccurrences(String s, String needle) {
        if (needle.isEmpty()) {
            return s.length() + 1;
        }
        long n = 0;
        for (int at = s.indexOf(needle); at >= 0; at = s.indexOf(needle, at + needle.length())) {
            n++;
        }
        return n;
    }

    static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            boolean cased = Character.isLetter(cp);
            sb.appendCodePoint(cased ? (previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp)) : cp);
            previousCased = cased;
        }
        return sb.toString();
    }

    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        return new String(Character.toChars(Character.toUpperCase(first)))
                + s.substring(Character.charCount(first)).toLowerCase(java.util.Locale.ROOT);
    }

    /** {@code str.format} with {@code {}}, {@code {0}} and {@code {name}} fields (no format specs). */
    private static String format(String s, List<Object> args, Map<String, Object> kwargs) {
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{' && i + 1 < s.length() && s.charAt(i + 1) == '{') {
                sb.append('{');
                i++;
            } else if (c == '}' && i + 1 < s.length() && s.charAt(i + 1) == '}') {
                sb.append('}');
                i++;
            } else if (c == '{') {
                int close = s.indexOf('}', i);
                if (close < 0) {
                    throw new JinjaException("unclosed '{' in format string");
                }
                String field = s.substring(i + 1, close);
                Object value;
                if (field.isEmpty()) {
                    value = args.get(auto++);
                } else if (field.chars().allMatch(Character::isDigit)) {
                    value = args.get(Integer.parseInt(field));
                } else {
                    value = kwargs.getOrDefault(field, Undefined.INSTANCE);
                }
                sb.append(Values.str(value));
                i = close;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
