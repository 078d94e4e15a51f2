package dev.spindle.kvcache;

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses a memory budget as given on the command line ({@code --kv-cache-memory}): a size such as {@code 4GiB},
 * {@code 512MiB}, {@code 2G} or {@code 1073741824}, or a share of the memory free now such as {@code 30%}.
 *
 * <p>Units: {@code B}; {@code K}/{@code KiB}, {@code M}/{@code MiB}, {@code G}/{@code GiB}, {@code T}/{@code TiB} are
 * powers of 1024; {@code KB}, {@code MB}, {@code GB}, {@code TB} are powers of 1000. Case is ignored; a decimal point
 * is allowed ({@code 1.5GiB}).
 */
public final class MemoryBudget {

    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-z]*)");

    private MemoryBudget() {}

    /** The budget in bytes; percentages are of the free physical memory the JVM reports. */
    public static long parse(String text) {
        return parse(text, MemoryBudget::freePhysicalMemory);
    }

    /** The budget in bytes, percentages taken of {@code freeMemory}'s answer. */
    public static long parse(String text, LongSupplier freeMemory) {
        String s = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (s.endsWith("%")) {
            double percent = number(s.substring(0, s.length() - 1).strip(), text);
            if (!(percent > 0 && percent <= 100)) {
                throw new IllegalArgumentException("a memory share must be above 0%% and at most 100%%, not " + text);
            }
            return positive((long) (freeMemory.getAsLong() * (percent / 100)), text);
        }
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) {
            throw invalid(text);
        }
        long unit = switch (m.group(2)) {
            case "", "b" -> 1L;
            case "k", "kib" -> 1L << 10;
            case "m", "mib" -> 1L << 20;
            case "g", "gib" -> 1L << 30;
            case "t", "tib" -> 1L << 40;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "tb" -> 1_000_000_000_000L;
            default -> throw invalid(text);
        };
        double bytes = number(m.group(1), text) * unit;
        if (bytes >= Long.MAX_VALUE) {
            throw new IllegalArgumentException("memory size " + text + " is too large");
        }
        return positive((long) bytes, text);
    }

    private static double number(String digits, String text) {
        try {
            return Double.parseDouble(digits);
        } catch (NumberFormatException e) {
            throw invalid(text);
        }
    }

    private static long positive(long bytes, String text) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("memory size " + text + " is not positive");
        }
        return bytes;
    }

    private static IllegalArgumentException invalid(String text) {
        return new IllegalArgumentException(
                "'%s' is not a memory size (examples: 4GiB, 512MiB, 2G, 30%%)".formatted(text));
    }

    private static long freePhysicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getFreeMemorySize();
        }
        throw new IllegalStateException("this JVM does not report free memory; give the KV cache size in bytes");
    }
}
