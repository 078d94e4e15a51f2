package dev.spindle.bench.model;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * llama.cpp's side of the forward-pass benchmark, run in its own JVM (the binding's {@code close()} can hang, so the
 * JVM halts when done): the same workload through the binding's server, prompt caching off, EOS ignored. Figures come
 * from the server's own per-request timings in its log ({@code prompt eval time}, {@code eval time}).
 *
 * <p>Arguments: model path, threads, log file, repeats, then the {@link Workload}. Prints one {@link Figures} line.
 */
public final class LlamaCppBench {
    private static final Pattern PROMPT = Pattern.compile("prompt eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens");
    private static final Pattern EVAL = Pattern.compile("^\\s*eval time =\\s*([0-9.]+) ms /\\s*(\\d+) tokens");

    private LlamaCppBench() {}

    public static void main(String[] args) throws Exception {
        try {
            Path model = Path.of(args[0]);
            int threads = Integer.parseInt(args[1]);
            Path log = Path.of(args[2]);
            int repeats = Integer.parseInt(args[3]);
            Workload w = Workload.fromArgs(args, 4);
            int slotContext = Math.max(w.promptTokens(), w.shortPrompt() + w.decodeTokens()) + 64;
            LlamaModel llama = new LlamaModel(new ModelParameters()
                    .setModel(model.toString())
                    .setThreads(threads)
                    .setThreadsBatch(threads)
                    .setParallel(w.sequences())
                    .setCtxSize(w.sequences() * slotContext)
                    .setLogFile(log.toString()));
            int requests = 0;
            double prompt = 0;
            double decode = 0;
            double aggregate = 0;
            for (int r = 0; r < repeats; r++) {
                llama.complete(request(w.longPrompt(), 1));
                Timing t = lastTimings(log, 1, requests += 1).getFirst();
                prompt = Math.max(prompt, t.promptTokens / t.promptSeconds);

                llama.complete(request(w.shortPrompt(0), w.decodeTokens()));
                t = lastTimings(log, 1, requests += 1).getFirst();
                decode = Math.max(decode, t.evalTokens / t.evalSeconds);

                List<Thread> clients = new ArrayList<>();
                for (int s = 0; s < w.sequences(); s++) {
                    InferenceParameters p = request(w.shortPrompt(s), w.decodeTokens());
                    clients.add(Thread.ofPlatform().start(() -> llama.complete(p)));
                }
                for (Thread c : clients) {
                    c.join();
                }
                // the slots decode together: all their tokens over the longest slot's decode time
                double tokens = 0;
                double seconds = 0;
                for (Timing s : lastTimings(log, w.sequences(), requests += w.sequences())) {
                    tokens += s.evalTokens;
                    seconds = Math.max(seconds, s.evalSeconds);
                }
                aggregate = Math.max(aggregate, tokens / seconds);
            }
            System.out.println(new Figures(prompt, decode, aggregate).toLine());
            System.out.flush();
            Runtime.getRuntime().halt(0);
        } catch (Throwable t) {
            t.printStackTrace();
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }
    }

    private static InferenceParameters request(int[] prompt, int tokens) throws ReflectiveOperationException {
        InferenceParameters p = new InferenceParameters("")
                .setTemperature(0f)
                .setCachePrompt(false)
                .setIgnoreEos(true)
                .setNPredict(tokens);
        // The server takes a JSON array of token ids as the prompt; the binding only offers strings.
        StringBuilder ids = new StringBuilder("[");
        for (int i = 0; i < prompt.length; i++) {
            ids.append(i == 0 ? "" : ",").append(prompt[i]);
        }
        parameters(p).put("prompt", ids.append(']').toString());
        return p;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> parameters(InferenceParameters p) throws ReflectiveOperationException {
        Field f = Class.forName("de.kherud.llama.JsonParameters").getDeclaredField("parameters");
        f.setAccessible(true);
        return (Map<String, String>) f.get(p);
    }

    private record Timing(double promptSeconds, int promptTokens, double evalSeconds, int evalTokens) {}

    /**
     * The last {@code count} requests' timings in the server log, once it holds {@code total} (the server may write
     * them just after answering).
     */
    private static List<Timing> lastTimings(Path log, int count, int total) throws IOException, InterruptedException {
        for (int wait = 0; wait < 100; wait++) {
            List<Timing> all = timings(log);
            if (all.size() >= total) {
                return all.subList(total - count, total);
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException(
                "the log " + log + " holds " + timings(log).size() + " timings, not " + total);
    }

    private static List<Timing> timings(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        List<Timing> all = new ArrayList<>();
        for (int i = 0; i + 2 < lines.size(); i++) {
            if (lines.get(i).contains("print_timing")) {
                Matcher p = PROMPT.matcher(lines.get(i + 1));
                Matcher e = EVAL.matcher(lines.get(i + 2));
                if (p.find() && e.find()) {
                    all.add(new Timing(
                            Double.parseDouble(p.group(1)) / 1000,
                            Integer.parseInt(p.group(2)),
                            Double.parseDouble(e.group(1)) / 1000,
                            Integer.parseInt(e.group(2))));
                }
            }
        }
        return all;
    }
}
