package dev.spindle.chat.jinja;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Global functions every template sees, and the conversion of caller values to template values. */
final class Builtins {

    private static final Map<String, Object> GLOBALS = build();

    private Builtins() {}

    static Map<String, Object> globals() {
        return GLOBALS;
    }

    private static Map<String, Object> build() {
        Map<String, Object> g = new HashMap<>();
        g.put("range", (JinjaFunction) (args, kwargs) -> {
            long start = 0;
            long stop;
            long step = 1;
            if (args.size() == 1) {
                stop = Values.toLong(args.get(0));
            } else {
                start = Values.toLong(args.get(0));
                stop = Values.toLong(args.get(1));
                if (args.size() > 2) {
                    step = Values.toLong(args.get(2));
                }
            }
            if (step == 0) {
                throw new JinjaException("range() arg 3 must not be zero");
            }
            List<Object> out = new ArrayList<>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
                out.add(i);
                if (out.size() > 1_000_000) {
                    throw new JinjaException("range too large");
                }
            }
            return out;
        });
        g.put("namespace", (JinjaFunction) (args, kwargs) -> {
            Namespace ns = new Namespace();
            for (Object a : args) {
                if (a instanceof Map<?, ?> m) {
                    m.forEach((k, v) -> ns.attributes.put(Values.str(k), v));
                }
            }
            ns.attributes.putAll(kwargs);
            return ns;
        });
        g.put("dict", (JinjaFunction) (args, kwargs) -> {
            Map<String, Object> m = new LinkedHashMap<>();
            for (Object a : args) {
                if (a instanceof Map<?, ?> src) {
                    src.forEach((k, v) -> m.put(Values.str(k), v));
                }
            }
            m.putAll(kwargs);
            return m;
        });
        g.put("raise_exception", (JinjaFunction) (args, kwargs) -> {
            throw new JinjaException(args.isEmpty() ? "template raised an exception" : Values.str(args.get(0)));
        });
        g.put("strftime_now", (JinjaFunction) (args, kwargs) -> strftime(Values.str(args.get(0)), LocalDateTime.now()));
        return Map.copyOf(g);
    }

    /** Python's {@code strftime} for the directives chat templates use. */
    static String strftime(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'Y' -> sb.append(String.format("%04d", t.getYear()));
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
                case '-' -> {
                    // GNU's no-padding flag: %-d, %-m.
                    char e = i + 1 < format.length() ? format.charAt(++i) : 'd';
                    sb.append(e == 'm' ? t.getMonthValue() : e == 'H' ? t.getHour() : t.getDayOfMonth());
                }
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }

    /** Caller values as template values: ints as {@link Long}, floats as {@link Double}, containers copied. */
    static Object normalize(Object v) {
        return switch (v) {
            case null -> null;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Float f -> (double) f;
            case List<?> l -> {
                List<Object> out = new ArrayList<>(l.size());
                for (Object o : l) {
                    out.add(normalize(o));
                }
                yield out;
            }
            case Map<?, ?> m -> {
                Map<String, Object> out = new LinkedHashMap<>();
                m.forEach((k, val) -> out.put(String.valueOf(k), normalize(val)));
                yield out;
            }
            default -> v;
        };
    }
}
