package dev.spindle.oracle;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The forked JVM of {@link LlamaOracle}: reads requests, answers them with llama.cpp, writes results, halts.
 *
 * <p>Arguments: the request file, the result file, the fork's private folder (for llama.cpp's log files). The result
 * file appears complete or not at all (written aside, then moved), ending with the line {@code end}.
 */
final class LlamaOracleChild {

    /** How long to wait for llama.cpp's log to record a finished generation. */
    private static final long LOG_WAIT_MILLIS = 60_000;

    private LlamaOracleChild() {}

    public static void main(String[] args) {
        int status = 0;
        try {
            run(Path.of(args[0]), Path.of(args[1]), Path.of(args[2]));
        } catch (Throwable t) {
            t.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.err.flush();
        // Closing a LlamaModel can hang; nothing is left to release that the operating system does not reclaim.
        Runtime.getRuntime().halt(status);
    }

    private record Model(int index, boolean jinja, LlamaOracle.Attention attention, Path path) {}

    private static void run(Path requestFile, Path resultFile, Path dir) throws Exception {
        List<Model> models = new ArrayList<>();
        List<String[]> requests = new ArrayList<>();
        for (String line : Files.readAllLines(requestFile, StandardCharsets.US_ASCII)) {
            String[] f = line.split(" ", -1);
            if (f[0].equals("model")) {
                models.add(new Model(
                        Integer.parseInt(f[1]),
                        OracleWire.decodeFlag(f[2]),
                        LlamaOracle.Attention.valueOf(f[3]),
                        Path.of(OracleWire.decodeUtf8(f[4]))));
            } else {
                requests.add(f);
            }
        }
        String[] results = new String[requests.size()];
        for (Model m : models) {
            List<Integer> mine = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                if (Integer.parseInt(requests.get(i)[1]) == m.index) {
                    mine.add(i);
                }
            }
            Path log = dir.resolve("llama-" + m.index + ".log");
            LlamaModel model;
            try {
                ModelParameters params = new ModelParameters()
                        .setModel(m.path.toString())
                        .setThreads(2)
                        .setThreadsBatch(2)
                        .setVerbose()
                        .setLogFile(log.toString());
                if (m.jinja) {
                    params.enableJinja();
                }
                switch (m.attention) {
                    // llama.cpp's own defaults, said out loud: F16 K and V, no flash attention
                    case DEFAULT -> params.setCacheTypeK(CacheType.F16).setCacheTypeV(CacheType.F16);
                }
                model = new LlamaModel(params);
            } catch (RuntimeException e) {
                String why =
                        "could not load " + m.path + ": " + e.getMessage() + "; llama.cpp's log ends:\n" + logTail(log);
                for (int i : mine) {
                    results[i] = error(why);
                }
                continue;
            }
            LogTail tail = new LogTail(log);
            for (int i : mine) {
                try {
                    results[i] = "ok " + answer(model, tail, requests.get(i));
                } catch (Exception e) {
                    results[i] = error(e.getClass().getSimpleName() + ": " + e.getMessage());
                }
            }
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < results.length; i++) {
            out.append(i).append(' ').append(results[i]).append('\n');
        }
        out.append("end\n");
        Path aside = resultFile.resolveSibling(resultFile.getFileName() + ".partial");
        Files.writeString(aside, out, StandardCharsets.US_ASCII);
        Files.move(aside, resultFile, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The last lines of llama.cpp's log, where it says why a model did not load. */
    private static String logTail(Path log) {
        try {
            // The log is written by llama.cpp's logging thread: give it a moment to catch up with the failure.
            long deadline = System.currentTimeMillis() + 3000;
            List<String> lines = List.of();
            while (System.currentTimeMillis() < deadline) {
                lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.ISO_8859_1) : List.of();
                if (!lines.isEmpty() && lines.getLast().contains("failed to load model")) {
                    break;
                }
                Thread.sleep(20);
            }
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 12), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(interrupted)";
        }
    }

    private static String error(String message) {
        return "err " + OracleWire.encodeUtf8(String.valueOf(message));
    }

    private static String answer(LlamaModel model, LogTail tail, String[] f) throws Exception {
        return switch (f[0]) {
            case "greedy" -> {
                int maxTokens = Integer.parseInt(f[2]);
                boolean ignoreEos = OracleWire.decodeFlag(f[3]);
                InferenceParameters p = new InferenceParameters("")
                        .setTemperature(0f)
                        .setCachePrompt(false)
                        .setIgnoreEos(ignoreEos)
                        .setNPredict(maxTokens);
                if (f[4].equals("text")) {
                    p.setPrompt(OracleWire.decodeString(f[5]));
                } else {
                    // The server accepts a JSON array of token ids as the prompt; the binding only offers strings.
                    parameters(p).put("prompt", "[" + String.join(",", f[5].split(",")) + "]");
                }
                LlamaIterator it = model.generate(p).iterator();
                int task = TASK_ID.getInt(it);
                while (it.hasNext()) {
                    it.next();
                }
                yield OracleWire.encodeIds(tail.generated(task));
            }
            case "tokenize" -> OracleWire.encodeIds(model.encode(OracleWire.decodeString(f[2])));
            case "detokenize" ->
                OracleWire.encodeBytes((byte[]) DECODE_BYTES.invoke(model, OracleWire.decodeIds(f[2])));
            case "chat" -> {
                boolean addGenerationPrompt = OracleWire.decodeFlag(f[2]);
                int n = Integer.parseInt(f[3]);
                StringBuilder json = new StringBuilder("{\"messages\":[");
                for (int i = 0; i < n; i++) {
                    json.append(i == 0 ? "" : ",")
                            .append("{\"role\":")
                            .append(jsonString(OracleWire.decodeString(f[4 + 2 * i])))
                            .append(",\"content\":")
                            .append(jsonString(OracleWire.decodeString(f[5 + 2 * i])))
                            .append('}');
                }
                json.append("],\"add_generation_prompt\":")
                        .append(addGenerationPrompt)
                        .append('}');
                yield OracleWire.encodeString(model.applyTemplate(json.toString()));
            }
            default -> throw new IllegalArgumentException("unknown request " + f[0]);
        };
    }

    private static String jsonString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
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
        return sb.append('"').toString();
    }

    // The binding keeps three things we need out of its public API: the JSON parameter map (to pass token prompts),
    // the task id of a generation (to find its lines in the log), and the raw bytes of a detokenization.
    private static final Field PARAMETERS;
    private static final Field TASK_ID;
    private static final Method DECODE_BYTES;

    static {
        try {
            PARAMETERS = Class.forName("de.kherud.llama.JsonParameters").getDeclaredField("parameters");
            PARAMETERS.setAccessible(true);
            TASK_ID = LlamaIterator.class.getDeclaredField("taskId");
            TASK_ID.setAccessible(true);
            DECODE_BYTES = LlamaModel.class.getDeclaredMethod("decodeBytes", int[].class);
            DECODE_BYTES.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> parameters(InferenceParameters p) throws IllegalAccessException {
        return (Map<String, String>) PARAMETERS.get(p);
    }

    /**
     * Follows llama.cpp's verbose log file. Its server logs, for every sampled token, a line {@code slot process_toke:
     * id 0 | task T | n_decoded = K, n_remaining = R, next token: ID 'piece'}, and {@code slot release: ... | task T |
     * stop processing} when the generation ends; one logging thread writes them in order, so once the release line of
     * a task is in the file, so are all its tokens.
     */
    static final class LogTail {
        private static final Pattern NEXT = Pattern.compile(
                "process_toke: id +\\d+ \\| task (\\d+) \\| n_decoded = (\\d+), n_remaining = -?\\d+, next token: +(-?\\d+) '");
        private static final Pattern RELEASE = Pattern.compile("release: id +\\d+ \\| task (\\d+) \\| stop processing");

        private final Path file;
        private long offset;
        private final StringBuilder partial = new StringBuilder();
        private final Map<Integer, List<int[]>> tokens = new HashMap<>();
        private final Set<Integer> released = new HashSet<>();

        LogTail(Path file) {
            this.file = file;
        }

        /** The ids generated by {@code task}, once the log shows it finished. */
        int[] generated(int task) throws IOException, InterruptedException {
            long deadline = System.currentTimeMillis() + LOG_WAIT_MILLIS;
            while (true) {
                read();
                if (released.contains(task)) {
                    break;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IOException("llama.cpp's log " + file + " never recorded the end of task " + task);
                }
                Thread.sleep(5);
            }
            List<int[]> lines = tokens.getOrDefault(task, List.of());
            int[] ids = new int[lines.size()];
            for (int i = 0; i < ids.length; i++) {
                int[] line = lines.get(i);
                if (line[0] != i + 1) {
                    throw new IOException("llama.cpp's log of task %d lists token %d where %d was expected"
                            .formatted(task, line[0], i + 1));
                }
                ids[i] = line[1];
            }
            return ids;
        }

        private void read() throws IOException {
            if (!Files.exists(file)) {
                return;
            }
            byte[] chunk;
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
                long length = raf.length();
                if (length <= offset) {
                    return;
                }
                chunk = new byte[(int) (length - offset)];
                raf.seek(offset);
                raf.readFully(chunk);
                offset = length;
            }
            // Pieces may be any bytes; Latin-1 maps each byte to one char, so the ASCII of the patterns matches.
            partial.append(new String(chunk, StandardCharsets.ISO_8859_1));
            int start = 0;
            for (int nl; (nl = partial.indexOf("\n", start)) >= 0; start = nl + 1) {
                line(partial.substring(start, nl));
            }
            partial.delete(0, start);
        }

        private void line(String line) {
            Matcher m = NEXT.matcher(line);
            if (m.find()) {
                int task = Integer.parseInt(m.group(1));
                tokens.computeIfAbsent(task, t -> new ArrayList<>())
                        .add(new int[] {Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))});
                return;
            }
            m = RELEASE.matcher(line);
            if (m.find()) {
                released.add(Integer.parseInt(m.group(1)));
            }
        }
    }
}
