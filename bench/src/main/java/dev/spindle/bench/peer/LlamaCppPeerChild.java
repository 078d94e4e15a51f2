package dev.spindle.bench.peer;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import dev.spindle.gguf.GgufFile;
import dev.spindle.tokenizer.Tokenizer;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The forked JVM of {@link LlamaCppPeer}: loads the model into llama.cpp once, measures, prints one line
 * {@code <MARKER> prompt decode aggregate} (tokens per second) on standard output and halts without closing the
 * model, whose {@code close()} can hang.
 *
 * <p>Method. Requests go through the binding's streaming {@code generate}, and every streamed token is timed on
 * arrival, as a server built on the binding would see it. Each figure is the median of {@code repetitions} runs after
 * one warm-up run of each kind.
 *
 * <ul>
 *   <li>Prompt: a prompt of exactly {@code promptTokens} token ids ({@link BenchPrompt}), generating 1 token.
 *       {@code promptTokens} divided by the time from the request to that token: the prefill, the logits of its last
 *       position and one sampling step.
 *   <li>Decode: a prompt of {@value #SHORT_PROMPT_TOKENS} tokens, generating {@code decodeTokens + 1}: the first comes
 *       from the prefill, the other {@code decodeTokens} from one decode step each. {@code decodeTokens} divided by
 *       the time from the first token to the last.
 *   <li>Aggregate: {@code parallel} such sequences at once, each in its own llama.cpp slot; continuous batching puts
 *       one token of every running sequence into each decode step. The binding's request call only queues a task,
 *       but llama.cpp's loop wakes on the first one and usually starts that prompt alone; the others join the next
 *       step. So the window measured runs from the step in which the last sequence got its first token to the step
 *       in which the first sequence got its last one: every step inside holds a token of each sequence, and the
 *       figure is the tokens streamed inside the window divided by its length.
 * </ul>
 *
 * Prompt caching is off, end-of-sequence is ignored and sampling is greedy (top-k 1, temperature 0), so every run
 * does the same work. Tokens that render to part of a UTF-8 character are excluded from sampling: llama.cpp streams
 * nothing for such a token until the character is whole, and then every streamed output is exactly one token.
 */
final class LlamaCppPeerChild {

    /** Starts the line that carries the figures, so that native output on standard output cannot be mistaken. */
    static final String MARKER = "spindle-llama-peer-figures";

    /** Prompt length of the decode runs: short, so that attention over the context is a small part of a step. */
    static final int SHORT_PROMPT_TOKENS = 16;

    private LlamaCppPeerChild() {}

    /** Arguments: model path, prompt tokens, decode tokens, parallel sequences, threads, repetitions. */
    public static void main(String[] args) {
        try {
            Path model = Path.of(args[0]);
            int promptTokens = Integer.parseInt(args[1]);
            int decodeTokens = Integer.parseInt(args[2]);
            int parallel = Integer.parseInt(args[3]);
            int threads = Integer.parseInt(args[4]);
            int repetitions = Integer.parseInt(args[5]);
            double[] figures = measure(model, promptTokens, decodeTokens, parallel, threads, repetitions);
            System.out.println(
                    String.format(Locale.ROOT, "%s %.6f %.6f %.6f", MARKER, figures[0], figures[1], figures[2]));
            System.out.flush();
            Runtime.getRuntime().halt(0);
        } catch (Throwable failure) {
            failure.printStackTrace();
            System.err.flush();
            Runtime.getRuntime().halt(1);
        }
    }

    private static double[] measure(
            Path modelFile, int promptTokens, int decodeTokens, int parallel, int threads, int repetitions)
            throws IOException, InterruptedException {
        Tokenizer tokenizer;
        try (GgufFile file = GgufFile.open(modelFile)) {
            tokenizer = Tokenizer.fromGguf(file.metadata());
        }
        List<Integer> partialCharacters = partialCharacterTokens(tokenizer);
        int[] longPrompt = BenchPrompt.tokens(tokenizer, promptTokens, 0);
        int[][] shortPrompts = new int[parallel][];
        for (int s = 0; s < parallel; s++) {
            shortPrompts[s] = BenchPrompt.tokens(tokenizer, SHORT_PROMPT_TOKENS, s);
        }
        int[][] oneShortPrompt = {shortPrompts[0]};

        // llama.cpp divides the context evenly among its slots; each slot must hold the longer prompt and the
        // generated tokens.
        int slotContext = Math.max(promptTokens, SHORT_PROMPT_TOKENS) + decodeTokens + 16;
        LlamaModel model = new LlamaModel(new ModelParameters()
                .setModel(modelFile.toString())
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setParallel(parallel)
                .setCtxSize(parallel * slotContext));

        generate(model, new int[][] {longPrompt}, 1, partialCharacters);
        generate(model, shortPrompts, 2, partialCharacters);
        double[] prompt = new double[repetitions];
        double[] decode = new double[repetitions];
        double[] aggregate = new double[repetitions];
        for (int r = 0; r < repetitions; r++) {
            long start = System.nanoTime();
            long[][] prefill = generate(model, new int[][] {longPrompt}, 1, partialCharacters);
            prompt[r] = promptTokens / seconds(prefill[0][0] - start);
            decode[r] = decodeRate(generate(model, oneShortPrompt, decodeTokens + 1, partialCharacters));
            aggregate[r] = decodeRate(generate(model, shortPrompts, decodeTokens + 1, partialCharacters));
        }
        return new double[] {median(prompt), median(decode), median(aggregate)};
    }

    /**
     * Submits one request per prompt, each generating {@code generated} tokens, and reads each sequence's stream on a
     * thread of its own so that every token is timed when it arrives.
     *
     * @return {@code arrivals[s][k]}: {@link System#nanoTime()} when token {@code k} of sequence {@code s} arrived
     */
    private static long[][] generate(LlamaModel model, int[][] prompts, int generated, List<Integer> excluded)
            throws InterruptedException {
        int sequences = prompts.length;
        long[][] arrivals = new long[sequences][generated];
        LlamaIterator[] streams = new LlamaIterator[sequences];
        for (int s = 0; s < sequences; s++) {
            InferenceParameters inference = new InferenceParameters("")
                    .setNPredict(generated)
                    .setCachePrompt(false)
                    .setIgnoreEos(true)
                    .setTopK(1)
                    .setTemperature(0f)
                    .disableTokenIds(excluded);
            streams[s] = model.generate(withPromptIds(inference, prompts[s])).iterator();
        }
        if (sequences == 1) {
            read(streams[0], arrivals[0]);
            return arrivals;
        }
        List<Thread> readers = new ArrayList<>();
        RuntimeException[] failures = new RuntimeException[sequences];
        for (int s = 0; s < sequences; s++) {
            int sequence = s;
            readers.add(Thread.ofPlatform().name("llama-peer-reader-" + s).start(() -> {
                try {
                    read(streams[sequence], arrivals[sequence]);
                } catch (RuntimeException e) {
                    failures[sequence] = e;
                }
            }));
        }
        for (Thread reader : readers) {
            reader.join();
        }
        for (RuntimeException failure : failures) {
            if (failure != null) {
                throw failure;
            }
        }
        return arrivals;
    }

    /** Drains one stream, timing each token; the stream's last output is its end marker, which carries no token. */
    private static void read(LlamaIterator stream, long[] arrivals) {
        int tokens = 0;
        while (stream.hasNext()) {
            stream.next();
            long now = System.nanoTime();
            if (stream.hasNext()) {
                if (tokens == arrivals.length) {
                    throw new IllegalStateException("llama.cpp streamed more outputs than the tokens asked for");
                }
                arrivals[tokens++] = now;
            }
        }
        if (tokens != arrivals.length) {
            throw new IllegalStateException(
                    "llama.cpp streamed " + tokens + " outputs for " + arrivals.length + " tokens");
        }
    }

    /**
     * Tokens per second while every sequence was decoding: from the step that gave the last sequence its first token
     * to the step that gave the first sequence its last token. Tokens of one step arrive at nearly the same moment,
     * far closer together than a step lasts, so a token counts as inside when it arrived later than half a step after
     * the window opened and no later than half a step after it closed.
     */
    private static double decodeRate(long[][] arrivals) {
        long opens = Long.MIN_VALUE;
        long closes = Long.MAX_VALUE;
        for (long[] sequence : arrivals) {
            opens = Math.max(opens, sequence[0]);
            closes = Math.min(closes, sequence[sequence.length - 1]);
        }
        if (arrivals.length == 1) {
            return (arrivals[0].length - 1) / seconds(closes - opens);
        }
        long[] gaps = new long[arrivals.length * (arrivals[0].length - 1)];
        int g = 0;
        for (long[] sequence : arrivals) {
            for (int k = 1; k < sequence.length; k++) {
                gaps[g++] = sequence[k] - sequence[k - 1];
            }
        }
        Arrays.sort(gaps);
        long halfStep = gaps[gaps.length / 2] / 2;
        int inside = 0;
        for (long[] sequence : arrivals) {
            for (long arrival : sequence) {
                if (arrival > opens + halfStep && arrival <= closes + halfStep) {
                    inside++;
                }
            }
        }
        if (inside == 0) {
            throw new IllegalStateException("the sequences never decoded at the same time");
        }
        return inside / seconds(closes - opens);
    }

    /**
     * The tokens whose text is not whole UTF-8 on its own (SentencePiece byte tokens above 0x7F, byte-level BPE
     * tokens that end inside a character).
     */
    private static List<Integer> partialCharacterTokens(Tokenizer tokenizer) {
        CharsetDecoder utf8 = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<Integer> partial = new ArrayList<>();
        for (int id = 0; id < tokenizer.vocabularySize(); id++) {
            try {
                utf8.decode(ByteBuffer.wrap(tokenizer.pieceBytes(id, false)));
            } catch (CharacterCodingException e) {
                partial.add(id);
            }
        }
        return partial;
    }

    /**
     * Makes the request's prompt a list of token ids. llama.cpp's server accepts ids as the prompt and then processes
     * exactly those tokens (adding no BOS of its own), but the binding's {@code setPrompt} takes text only, so the ids
     * go into the JSON it sends through its (package-private) parameter map.
     */
    @SuppressWarnings("unchecked")
    private static InferenceParameters withPromptIds(InferenceParameters inference, int[] ids) {
        try {
            Field json = Class.forName("de.kherud.llama.JsonParameters").getDeclaredField("parameters");
            json.setAccessible(true);
            ((Map<String, String>) json.get(inference)).put("prompt", Arrays.toString(ids));
            return inference;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("this version of de.kherud:llama has no JSON parameter map", e);
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double seconds(long nanos) {
        if (nanos <= 0) {
            throw new IllegalStateException("a measured interval took no time");
        }
        return nanos / 1e9;
    }
}
