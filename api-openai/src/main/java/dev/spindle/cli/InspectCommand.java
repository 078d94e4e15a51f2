package dev.spindle.cli;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufFormatException;
import dev.spindle.gguf.GgufMetadata;
import dev.spindle.gguf.GgufTensor;
import dev.spindle.gguf.GgufValue;
import dev.spindle.gguf.GgufValueType;
import dev.spindle.quant.GgmlType;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Array;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = "Describes a GGUF model file: architecture, hyper-parameters, tokenizer, tensors.")
final class InspectCommand implements Callable<Integer> {

    /** llama.cpp's names for {@code general.file_type} ({@code enum llama_ftype}). */
    private static final Map<Long, String> FILE_TYPES = Map.ofEntries(
            Map.entry(0L, "all F32"),
            Map.entry(1L, "mostly F16"),
            Map.entry(2L, "mostly Q4_0"),
            Map.entry(3L, "mostly Q4_1"),
            Map.entry(7L, "mostly Q8_0"),
            Map.entry(8L, "mostly Q5_0"),
            Map.entry(9L, "mostly Q5_1"),
            Map.entry(10L, "mostly Q2_K"),
            Map.entry(11L, "mostly Q3_K_S"),
            Map.entry(12L, "mostly Q3_K_M"),
            Map.entry(13L, "mostly Q3_K_L"),
            Map.entry(14L, "mostly Q4_K_S"),
            Map.entry(15L, "mostly Q4_K_M"),
            Map.entry(16L, "mostly Q5_K_S"),
            Map.entry(17L, "mostly Q5_K_M"),
            Map.entry(18L, "mostly Q6_K"),
            Map.entry(32L, "mostly BF16"));

    @Parameters(index = "0", paramLabel = "FILE", description = "The GGUF file.")
    Path file;

    @Option(
            names = "--metadata",
            description = "Also list every metadata key with its type and value (arrays abbreviated).")
    boolean allMetadata;

    @Option(names = "--no-tensors", description = "Leave out the tensor table (the totals stay).")
    boolean noTensors;

    private final PrintStream out;
    private final PrintStream err;

    InspectCommand() {
        this(System.out, System.err);
    }

    InspectCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        try (GgufFile f = GgufFile.open(file)) {
            print(f);
            return 0;
        } catch (NoSuchFileException e) {
            err.println("spindle inspect: no such file: " + e.getFile());
        } catch (IOException e) {
            err.println("spindle inspect: cannot read " + file + ": " + e.getMessage());
        } catch (GgufFormatException e) {
            err.println("spindle inspect: " + e.getMessage());
        }
        return 1;
    }

    private void print(GgufFile f) {
        GgufMetadata m = f.metadata();
        String arch = m.getString("general.architecture", "(none)");
        out.printf(
                "file          %s%n              %,d bytes, GGUF v%d, %d metadata keys, alignment %d, data at byte %,d%n",
                f.path(), f.fileSize(), f.version(), m.size(), f.alignment(), f.dataOffset());
        out.printf("architecture  %s%n", arch);
        if (m.contains("general.name")) {
            out.printf("name          %s%n", value(m.value("general.name")));
        }
        if (m.contains("general.file_type")) {
            long fileType = m.getLong("general.file_type", -1);
            out.printf("file type     %d (%s)%n", fileType, FILE_TYPES.getOrDefault(fileType, "unknown"));
        }

        out.println();
        out.println("hyper-parameters");
        String prefix = arch + ".";
        int width = 0;
        for (String key : m.keys()) {
            if (key.startsWith(prefix)) {
                width = Math.max(width, key.length() - prefix.length());
            }
        }
        boolean any = false;
        for (String key : m.keys()) {
            if (key.startsWith(prefix)) {
                out.printf("  %-" + width + "s  %s%n", key.substring(prefix.length()), value(m.value(key)));
                any = true;
            }
        }
        if (!any) {
            out.println("  (none under " + prefix + ")");
        }

        out.println();
        out.println("tokenizer");
        if (!m.contains("tokenizer.ggml.model")) {
            out.println("  (none)");
        } else {
            out.printf("  model          %s%n", value(m.value("tokenizer.ggml.model")));
            out.printf(
                    "  pre            %s%n",
                    m.contains("tokenizer.ggml.pre") ? value(m.value("tokenizer.ggml.pre")) : "-");
            out.printf(
                    "  vocab size     %,d%n",
                    m.getStringArray("tokenizer.ggml.tokens").size());
            if (m.contains("tokenizer.ggml.merges")) {
                out.printf(
                        "  merges         %,d%n",
                        m.getStringArray("tokenizer.ggml.merges").size());
            }
            List<String> tokens = m.getStringArray("tokenizer.ggml.tokens");
            for (String special : List.of("bos", "eos", "unknown", "padding", "seperator", "cls", "mask", "eot")) {
                String key = "tokenizer.ggml." + special + "_token_id";
                if (m.contains(key)) {
                    long id = m.getLong(key, -1);
                    String text = id >= 0 && id < tokens.size() ? " " + quote(tokens.get((int) id)) : "";
                    out.printf("  %-14s %d%s%n", special.equals("seperator") ? "separator" : special, id, text);
                }
            }
            for (String flag : List.of("add_bos_token", "add_eos_token", "add_space_prefix")) {
                String key = "tokenizer.ggml." + flag;
                if (m.contains(key)) {
                    out.printf("  %-14s %s%n", flag, value(m.value(key)));
                }
            }
            out.printf("  chat template  %s%n", chatTemplates(m));
        }

        if (allMetadata) {
            out.println();
            out.println("metadata");
            int keyWidth = m.keys().stream().mapToInt(String::length).max().orElse(0);
            for (String key : m.keys()) {
                GgufValue v = m.value(key);
                String type = v.type() == GgufValueType.ARRAY
                        ? "[" + v.elementType() + "]"
                        : v.type().toString();
                out.printf("  %-" + keyWidth + "s  %-9s %s%n", key, type, value(v));
            }
        }

        out.println();
        List<GgufTensor> tensors = f.tensors();
        out.printf("tensors (%d)%n", tensors.size());
        if (!noTensors && !tensors.isEmpty()) {
            int nameWidth = Math.max(
                    4, tensors.stream().mapToInt(t -> t.name().length()).max().orElse(0));
            List<String> shapes = new ArrayList<>();
            for (GgufTensor t : tensors) {
                shapes.add(shape(t));
            }
            int shapeWidth =
                    Math.max(5, shapes.stream().mapToInt(String::length).max().orElse(0));
            out.printf("  %-" + nameWidth + "s  %-5s  %-" + shapeWidth + "s  %15s%n", "name", "type", "shape", "bytes");
            for (int i = 0; i < tensors.size(); i++) {
                GgufTensor t = tensors.get(i);
                out.printf(
                        "  %-" + nameWidth + "s  %-5s  %-" + shapeWidth + "s  %,15d%n",
                        t.name(),
                        t.type(),
                        shapes.get(i),
                        t.byteSize());
            }
        }
        long total = 0;
        long elements = 0;
        Map<GgmlType, Integer> byType = new EnumMap<>(GgmlType.class);
        for (GgufTensor t : tensors) {
            total += t.byteSize();
            elements += t.elementCount();
            byType.merge(t.type(), 1, Integer::sum);
        }
        StringBuilder types = new StringBuilder();
        byType.forEach((type, count) -> types.append(types.isEmpty() ? "" : ", ")
                .append(type)
                .append(": ")
                .append(count));
        out.printf(
                "total         %,d bytes (%s) in %d tensors, %,d parameters%s%n",
                total, human(total), tensors.size(), elements, types.isEmpty() ? "" : "; " + types);
    }

    private static String chatTemplates(GgufMetadata m) {
        List<String> names = new ArrayList<>();
        if (m.contains("tokenizer.chat_template")) {
            names.add("default (" + m.getString("tokenizer.chat_template", "").length() + " chars)");
        }
        for (String key : m.keys()) {
            if (key.startsWith("tokenizer.chat_template.")) {
                names.add(key.substring("tokenizer.chat_template.".length()));
            }
        }
        return names.isEmpty() ? "no" : "yes: " + String.join(", ", names);
    }

    private static String shape(GgufTensor t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < t.rank(); i++) {
            sb.append(i == 0 ? "" : " x ").append(t.dim(i));
        }
        return sb.toString();
    }

    /** A value for display: strings quoted and cut, arrays as their length and first elements. */
    static String value(GgufValue v) {
        if (v.type() != GgufValueType.ARRAY) {
            return switch (v.type()) {
                case STRING -> quote((String) v.value());
                case UINT64 -> Long.toUnsignedString((Long) v.value());
                case UINT8, INT8, UINT16, INT16, UINT32, INT32, INT64, FLOAT32, FLOAT64, BOOL ->
                    String.valueOf(v.value());
                case ARRAY -> throw new AssertionError("arrays are handled below");
            };
        }
        int n = v.length();
        StringBuilder sb = new StringBuilder()
                .append(n)
                .append(" x ")
                .append(v.elementType())
                .append(" [");
        int shown = Math.min(n, 5);
        for (int i = 0; i < shown; i++) {
            Object e = v.value() instanceof List<?> list ? list.get(i) : Array.get(v.value(), i);
            sb.append(i == 0 ? "" : ", ").append(e instanceof String s ? quote(s) : e);
        }
        return sb.append(n > shown ? ", ...]" : "]").toString();
    }

    /** A string in quotes with control characters escaped, cut to 60 characters. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        int limit = Math.min(s.length(), 60);
        for (int i = 0; i < limit; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        sb.append("\\u%04x".formatted((int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
        return s.length() > limit ? sb + "... (" + s.length() + " chars)" : sb.toString();
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return "%.1f %s".formatted(v, units[u]);
    }
}
