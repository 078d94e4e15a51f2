package dev.spindle.oracle;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * llama.cpp as a test oracle: greedy generation, tokenization, detokenization and chat-template rendering by llama.cpp
 * (the {@code de.kherud:llama} 4.2.0 binding, llama.cpp build b4916), run in a forked JVM.
 *
 * <p><b>Why a fork.</b> The binding's {@code LlamaModel.close()} can hang and a native abort would kill the test JVM;
 * each fork gets its own {@code java.io.tmpdir} (the binding extracts its native library there) so concurrent forks
 * never clash, and ends with {@code Runtime.halt} once its results are written. One fork serves a whole {@link Batch}:
 * every model it names is loaded once (startup and loading cost about a second), so tests should batch their
 * requests.
 *
 * <p><b>Greedy generation.</b> Temperature 0 (llama.cpp keeps only the most probable token; exact ties are broken by its sort, which
 * is unspecified),
 * prompt caching off, 2 threads, default context of 4096. The binding reports only text, so the generated token ids
 * are read from llama.cpp's own debug log ({@code "next token: <id>"} lines of its server slot, written with {@code
 * --verbose} to a log file in the fork's temp folder), and checked to be complete and in order. With {@code
 * ignoreEos}, llama.cpp bans the EOS token ({@code tokenizer.ggml.eos_token_id}) only: other end-of-generation tokens
 * (e.g. {@code <|endoftext|>} beside an EOS of {@code <|im_end|>}) still end generation. When generation ends on an
 * end-of-generation token, that token is the last id returned. A text prompt is tokenized by llama.cpp with BOS added
 * when the model asks for it and special tokens parsed; a token prompt is used exactly as given (no BOS added).
 *
 * <p><b>Tokenization</b> is the binding's {@code encode}: llama.cpp's tokenizer without BOS/EOS, with special tokens
 * written in the text (such as {@code <|im_start|>}) parsed as special tokens. <b>Detokenization</b> concatenates each
 * token's piece, special tokens rendered as their text, and returns the raw bytes. <b>Chat templates</b> are rendered
 * by llama.cpp's {@code common_chat_templates_apply} with the template stored in the model ({@code jinja = true}: the
 * minja Jinja engine, as {@code llama-server --jinja}; {@code false}: llama.cpp's built-in template heuristics),
 * falling back to ChatML when the model has no template.
 *
 * <p>Strings cross to the fork exactly (see {@link OracleWire}); llama.cpp then receives their UTF-8 encoding.
 */
public final class LlamaOracle {

    /** Time a fork may take before it is killed; the system property {@code spindle.oracle.timeout} (seconds) overrides. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(Long.getLong("spindle.oracle.timeout", 300));

    private LlamaOracle() {}

    /**
     * How llama.cpp stores K and V and computes attention (its {@code -ctk}, {@code -ctv}, {@code -fa} settings), named
     * per generation so that each test says which it compares with.
     */
    public enum Attention {
        /**
         * llama.cpp's defaults: an F16 cache, attention as separate products and a softmax (no flash attention); what
         * our {@code AttentionNumerics.LLAMA_CPP} kernels reproduce. (Flash attention with an F32 cache, the other
         * setting one might want to match, is refused by this build's CPU backend: it has no F32 keys there.)
         */
        DEFAULT
    }

    /** One chat message: a role ({@code system}, {@code user}, {@code assistant}, ...) and its content. */
    public record ChatMessage(String role, String content) {}

    /** The ids llama.cpp generates greedily after {@code prompt}, EOS banned: exactly {@code maxTokens} unless another end-of-generation token ends it. */
    public static int[] greedy(Path model, String prompt, int maxTokens) {
        return greedy(model, prompt, maxTokens, true);
    }

    /** The ids llama.cpp generates greedily after {@code prompt}, at most {@code maxTokens}. */
    public static int[] greedy(Path model, String prompt, int maxTokens, boolean ignoreEos) {
        Batch batch = batch();
        Pending<int[]> result = batch.greedy(model, prompt, maxTokens, ignoreEos);
        batch.run();
        return result.get();
    }

    /** The ids llama.cpp generates greedily after the given prompt tokens (used as they are: no BOS is added). */
    public static int[] greedy(Path model, int[] promptTokens, int maxTokens, boolean ignoreEos) {
        Batch batch = batch();
        Pending<int[]> result = batch.greedy(model, promptTokens, maxTokens, ignoreEos);
        batch.run();
        return result.get();
    }

    /** llama.cpp's tokenization of each text, without BOS, special tokens parsed. */
    public static List<int[]> tokenize(Path model, List<String> texts) {
        Batch batch = batch();
        Pending<List<int[]>> result = batch.tokenize(model, texts);
        batch.run();
        return result.get();
    }

    /** The bytes llama.cpp produces for {@code tokens}, special tokens rendered. */
    public static byte[] detokenize(Path model, int[] tokens) {
        Batch batch = batch();
        Pending<byte[]> result = batch.detokenize(model, tokens);
        batch.run();
        return result.get();
    }

    /** The model's chat template applied by llama.cpp's Jinja engine (minja). */
    public static String applyChatTemplate(Path model, List<ChatMessage> messages, boolean addGenerationPrompt) {
        return applyChatTemplate(model, messages, addGenerationPrompt, true);
    }

    /** The model's chat template applied by llama.cpp: with {@code jinja} by minja, otherwise by its built-in formats. */
    public static String applyChatTemplate(
            Path model, List<ChatMessage> messages, boolean addGenerationPrompt, boolean jinja) {
        Batch batch = batch();
        Pending<String> result = batch.applyChatTemplate(model, messages, addGenerationPrompt, jinja);
        batch.run();
        return result.get();
    }

    /** A new, empty batch of requests for one fork. */
    public static Batch batch() {
        return new Batch();
    }

    /** A result of a batched request, available once its batch has run. */
    public static final class Pending<T> {
        private final Batch batch;
        private final Function<List<String[]>, T> extract;

        private Pending(Batch batch, Function<List<String[]>, T> extract) {
            this.batch = batch;
            this.extract = extract;
        }

        /**
         * The result.
         *
         * @throws IllegalStateException if the batch has not run
         * @throws LlamaOracleException if llama.cpp failed on this request
         */
        public T get() {
            if (batch.results == null) {
                throw new IllegalStateException("the batch has not run");
            }
            return extract.apply(batch.results);
        }
    }

    /**
     * Requests to answer in one forked JVM. Add requests, {@link #run()} once, then read each {@link Pending}. A
     * request that fails (a model that does not load, a bad token id) fails alone: its {@code get()} throws.
     */
    public static final class Batch {
        private record ModelKey(Path path, boolean jinja, Attention attention) {}

        private final Map<ModelKey, Integer> models = new LinkedHashMap<>();
        private final List<String> requests = new ArrayList<>();
        private Duration timeout = DEFAULT_TIMEOUT;
        private List<String[]> results;

        private Batch() {}

        /** Time the fork may take before it is killed. */
        public Batch timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** Greedy generation after a text prompt (see {@link LlamaOracle}). */
        public Pending<int[]> greedy(Path model, String prompt, int maxTokens, boolean ignoreEos) {
            return ids(add(
                    "greedy",
                    model,
                    true,
                    maxTokens + " " + OracleWire.encodeFlag(ignoreEos) + " text " + OracleWire.encodeString(prompt)));
        }

        /** Greedy generation after exactly these prompt tokens, with llama.cpp's default attention. */
        public Pending<int[]> greedy(Path model, int[] promptTokens, int maxTokens, boolean ignoreEos) {
            return greedy(model, promptTokens, maxTokens, ignoreEos, Attention.DEFAULT);
        }

        /** Greedy generation after exactly these prompt tokens, with the given attention setting. */
        public Pending<int[]> greedy(
                Path model, int[] promptTokens, int maxTokens, boolean ignoreEos, Attention attention) {
            if (promptTokens.length == 0) {
                throw new IllegalArgumentException("llama.cpp needs at least one prompt token");
            }
            return ids(add(
                    "greedy",
                    model,
                    true,
                    attention,
                    maxTokens + " " + OracleWire.encodeFlag(ignoreEos) + " ids " + OracleWire.encodeIds(promptTokens)));
        }

        /** llama.cpp's tokens for one text (no BOS, special tokens parsed). */
        public Pending<int[]> tokenize(Path model, String text) {
            return ids(add("tokenize", model, true, OracleWire.encodeString(text)));
        }

        /** llama.cpp's tokens for each text, in order. */
        public Pending<List<int[]>> tokenize(Path model, List<String> texts) {
            List<Pending<int[]>> each = new ArrayList<>();
            for (String text : texts) {
                each.add(tokenize(model, text));
            }
            return new Pending<>(this, r -> each.stream().map(Pending::get).toList());
        }

        /** The bytes of the tokens' pieces, special tokens rendered. */
        public Pending<byte[]> detokenize(Path model, int[] tokens) {
            int index = add("detokenize", model, true, OracleWire.encodeIds(tokens));
            return new Pending<>(this, r -> OracleWire.decodeBytes(payload(r, index)));
        }

        /** The model's chat template applied to {@code messages}. */
        public Pending<String> applyChatTemplate(
                Path model, List<ChatMessage> messages, boolean addGenerationPrompt, boolean jinja) {
            StringBuilder fields = new StringBuilder();
            fields.append(OracleWire.encodeFlag(addGenerationPrompt))
                    .append(' ')
                    .append(messages.size());
            for (ChatMessage m : messages) {
                fields.append(' ')
                        .append(OracleWire.encodeString(m.role()))
                        .append(' ')
                        .append(OracleWire.encodeString(m.content()));
            }
            int index = add("chat", model, jinja, fields.toString());
            return new Pending<>(this, r -> OracleWire.decodeString(payload(r, index)));
        }

        private Pending<int[]> ids(int index) {
            return new Pending<>(this, r -> OracleWire.decodeIds(payload(r, index)));
        }

        private int add(String kind, Path model, boolean jinja, String fields) {
            return add(kind, model, jinja, Attention.DEFAULT, fields);
        }

        private int add(String kind, Path model, boolean jinja, Attention attention, String fields) {
            if (results != null) {
                throw new IllegalStateException("the batch has already run");
            }
            ModelKey key = new ModelKey(model.toAbsolutePath().normalize(), jinja, attention);
            int modelIndex = models.computeIfAbsent(key, k -> models.size());
            requests.add(kind + " " + modelIndex + " " + fields);
            return requests.size() - 1;
        }

        private static String payload(List<String[]> results, int index) {
            String[] r = results.get(index);
            if (r[1].equals("err")) {
                throw new LlamaOracleException(
                        "llama.cpp failed on request " + index + ": " + OracleWire.decodeUtf8(r[2]));
            }
            return r[2];
        }

        /** Runs every request in one forked JVM; a second call does nothing. */
        public void run() {
            if (results != null) {
                return;
            }
            if (requests.isEmpty()) {
                results = List.of();
                return;
            }
            try {
                results = fork();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LlamaOracleException("interrupted while waiting for llama.cpp", e);
            }
        }

        private List<String[]> fork() throws IOException, InterruptedException {
            Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "llama-oracle-");
            Path requestFile = dir.resolve("requests.txt");
            Path resultFile = dir.resolve("results.txt");
            Path output = dir.resolve("output.txt");
            List<String> lines = new ArrayList<>();
            models.forEach((key, index) -> lines.add("model " + index + " " + OracleWire.encodeFlag(key.jinja()) + " "
                    + key.attention().name() + " "
                    + OracleWire.encodeUtf8(key.path().toString())));
            lines.addAll(requests);
            Files.write(requestFile, lines, StandardCharsets.US_ASCII);

            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            ProcessBuilder pb = new ProcessBuilder(
                            java.toString(),
                            "--enable-native-access=ALL-UNNAMED",
                            "-Xmx1g",
                            "-XX:+UseSerialGC",
                            "-XX:TieredStopAtLevel=1",
                            "-Djava.io.tmpdir=" + dir,
                            "-cp",
                            System.getProperty("java.class.path"),
                            LlamaOracleChild.class.getName(),
                            requestFile.toString(),
                            resultFile.toString(),
                            dir.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(output.toFile());
            Process process = pb.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
                throw new LlamaOracleException("llama.cpp fork timed out after " + timeout + "; its output:\n"
                        + tail(output) + "\n(kept in " + dir + ")");
            }
            List<String> resultLines =
                    Files.exists(resultFile) ? Files.readAllLines(resultFile, StandardCharsets.US_ASCII) : List.of();
            if (process.exitValue() != 0
                    || resultLines.isEmpty()
                    || !resultLines.getLast().equals("end")) {
                throw new LlamaOracleException("llama.cpp fork failed (exit " + process.exitValue()
                        + ") before answering; its output:\n" + tail(output) + "\n(kept in " + dir + ")");
            }
            List<String[]> parsed = new ArrayList<>();
            for (String line : resultLines.subList(0, resultLines.size() - 1)) {
                String[] fields = line.split(" ", -1);
                if (fields.length != 3 || Integer.parseInt(fields[0]) != parsed.size()) {
                    throw new LlamaOracleException("malformed oracle result line: " + line);
                }
                parsed.add(fields);
            }
            if (parsed.size() != requests.size()) {
                throw new LlamaOracleException(
                        "llama.cpp fork answered " + parsed.size() + " of " + requests.size() + " requests");
            }
            deleteRecursively(dir);
            return parsed;
        }
    }

    private static String tail(Path output) throws IOException {
        if (!Files.exists(output)) {
            return "(none)";
        }
        byte[] bytes = Files.readAllBytes(output);
        int from = Math.max(0, bytes.length - 4000);
        return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
