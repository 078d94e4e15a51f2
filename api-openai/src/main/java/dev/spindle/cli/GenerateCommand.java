package dev.spindle.cli;

import dev.spindle.chat.ChatMessage;
import dev.spindle.chat.ChatTemplate;
import dev.spindle.chat.ChatTemplateException;
import dev.spindle.generate.TextGenerator;
import dev.spindle.gguf.GgufFormatException;
import dev.spindle.kvcache.MemoryBudget;
import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.model.Model;
import dev.spindle.model.UnsupportedModelException;
import dev.spindle.sampling.SamplingParams;
import dev.spindle.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Generates text from a prompt (--prompt) or a chat (--chat).",
            "Standard output gets exactly the generated text, as it is produced (UTF-8); statistics and errors go"
                    + " to standard error.",
            "With --chat, each line of standard input is a user turn; the model's reply is printed, followed by a"
                    + " line break, and stays in the conversation for the next turn, until end of input.",
            "Sampling defaults are llama.cpp's: --temperature 0.8 --top-k 40 --top-p 0.95 --min-p 0.05;"
                    + " --temperature 0 is greedy."
        })
final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "FILE", description = "GGUF model file.")
    Path model;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "The text to continue, as it is (no template).")
    String prompt;

    @Option(names = "--chat", description = "Chat: read user turns from standard input, apply the chat template.")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message first.")
    String system;

    @Option(
            names = "--chat-template",
            paramLabel = "NAME|FILE",
            description = "With --chat: a built-in template (chatml, llama3, llama2, mistral-v7, zephyr, ...) or a"
                    + " Jinja file, instead of the model's own.")
    String chatTemplate;

    @Option(
            names = {"--max-tokens", "-n"},
            paramLabel = "N",
            description = "Tokens to generate at most (default 512); -1: until the context is full.")
    int maxTokens = 512;

    @Option(names = "--temperature", paramLabel = "T", description = "Softmax temperature; 0 is greedy (default 0.8).")
    float temperature = 0.8f;

    @Option(names = "--top-k", paramLabel = "K", description = "Keep the K most probable tokens; 0: all (default 40).")
    int topK = 40;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass, in (0, 1] (default 0.95).")
    float topP = 0.95f;

    @Option(
            names = "--min-p",
            paramLabel = "P",
            description = "Drop tokens less probable than P times the most probable one (default 0.05).")
    float minP = 0.05f;

    @Option(
            names = {"--repeat-penalty", "--repetition-penalty"},
            paramLabel = "X",
            description = "Divide positive logits of tokens already seen by X (default 1: off).")
    float repeatPenalty = 1f;

    @Option(names = "--presence-penalty", paramLabel = "X", description = "In [-2, 2] (default 0: off).")
    float presencePenalty;

    @Option(names = "--frequency-penalty", paramLabel = "X", description = "In [-2, 2] (default 0: off).")
    float frequencyPenalty;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the sampler (default: a fresh one).")
    Long seed;

    @Option(
            names = "--stop",
            paramLabel = "STRING",
            description = "Stop where this text appears, without printing it (repeatable).")
    List<String> stops = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "Go on past end-of-generation tokens.")
    boolean ignoreEos;

    @Option(
            names = {"--threads", "-t"},
            paramLabel = "N",
            description = "Threads of the forward pass (default: all cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(
            names = {"--ctx-size", "-c"},
            paramLabel = "N",
            description = "Tokens the context holds, prompt and generated (default: the model's context).")
    Integer ctxSize;

    @Option(
            names = "--kv-cache-memory",
            paramLabel = "SIZE",
            description = "KV cache size, such as 512MiB or 2GiB (default: what the prompt and --max-tokens need;"
                    + " for --chat at least 4096 tokens, grown as the chat grows).")
    String kvCacheMemory;

    @Option(
            names = "--kv-cache-type",
            paramLabel = "TYPE",
            description = "What the KV cache stores: f16 (default), f32 or q8_0.")
    String kvCacheType = "f16";

    @Option(
            names = "--attention-numerics",
            paramLabel = "WHICH",
            description = "online (default): our fast kernels; llama-cpp: llama.cpp's attention arithmetic bit for"
                    + " bit (with its other roundings, greedy output on Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 models equals"
                    + " llama.cpp's; slower; needs an f16 cache).")
    String attentionNumerics = "online";

    /**
     * Tokens of KV cache a chat starts with, unless --kv-cache-memory says otherwise (llama.cpp's default context): a
     * cache that must grow starts empty, and the conversation's prefix is computed again.
     */
    static final int CHAT_RESERVE_TOKENS = 4096;

    private final InputStream stdin;
    private final PrintStream stdout;
    private final PrintStream stderr;
    private final boolean terminal;

    GenerateCommand() {
        this(System.in, System.out, System.err, isTerminal());
    }

    GenerateCommand(InputStream stdin, PrintStream stdout, PrintStream stderr, boolean terminal) {
        this.stdin = stdin;
        this.stdout = stdout;
        this.stderr = stderr;
        this.terminal = terminal;
    }

    private static boolean isTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** A command-line mistake: reported as one line, with the option it concerns. */
    private static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    @Override
    public Integer call() {
        try {
            return run();
        } catch (UsageException | IllegalArgumentException | ChatTemplateException e) {
            fail(e.getMessage());
        } catch (GgufFormatException | UnsupportedModelException e) {
            fail(model + ": " + e.getMessage());
        } catch (NoSuchFileException e) {
            fail("no such file: " + e.getFile());
        } catch (IOException e) {
            fail("cannot read " + model + ": " + e.getMessage());
        } catch (UncheckedIOException e) {
            fail("cannot write standard output: " + e.getCause().getMessage());
        } catch (OutOfMemoryError e) {
            fail("out of memory (" + e.getMessage()
                    + "): lower --ctx-size, --max-tokens or --kv-cache-memory, or give the JVM more memory");
        }
        return 1;
    }

    private void fail(String message) {
        stdout.flush();
        stderr.println("spindle generate: " + message);
    }

    private int run() throws IOException {
        if (model == null) {
            throw new UsageException("--model FILE is required");
        }
        if (chat == (prompt != null)) {
            throw new UsageException("give either --prompt TEXT or --chat (and the turns on standard input)");
        }
        if (!chat && (system != null || chatTemplate != null)) {
            throw new UsageException((system != null ? "--system" : "--chat-template") + " needs --chat");
        }
        if (maxTokens == 0 || maxTokens < -1) {
            throw new UsageException("--max-tokens must be >= 1, or -1 for no limit but the context, got " + maxTokens);
        }
        if (threads < 1) {
            throw new UsageException("--threads must be >= 1, got " + threads);
        }
        if (ctxSize != null && ctxSize < 1) {
            throw new UsageException("--ctx-size must be >= 1, got " + ctxSize);
        }
        SamplingParams params = samplingParams();
        long kvBytes = 0;
        if (kvCacheMemory != null) {
            try {
                kvBytes = MemoryBudget.parse(kvCacheMemory);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--kv-cache-memory: " + e.getMessage());
            }
        }
        KvType kvType;
        try {
            kvType = KvType.parse(kvCacheType);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--kv-cache-type: " + e.getMessage());
        }

        AttentionNumerics numerics = switch (attentionNumerics) {
            case "online" -> AttentionNumerics.ONLINE;
            case "llama-cpp" -> AttentionNumerics.LLAMA_CPP;
            default ->
                throw new UsageException("--attention-numerics must be online or llama-cpp, got " + attentionNumerics);
        };
        try {
            numerics.requireSupported(kvType);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--attention-numerics " + attentionNumerics + " with --kv-cache-type "
                    + kvCacheType + ": " + e.getMessage());
        }

        try (Model m = Model.open(model)) {
            Tokenizer tokenizer = Tokenizer.fromGguf(m.file().metadata());
            int modelContext = m.config().contextLength();
            int context = ctxSize == null ? modelContext : ctxSize;
            if (context > modelContext) {
                throw new UsageException(
                        "--ctx-size " + context + " is more than the model's context of " + modelContext + " tokens");
            }
            ChatTemplate template = chat
                    ? ChatTemplate.forModel(
                            tokenizer, m.file().metadata().getString("tokenizer.chat_template", null), chatTemplate)
                    : null;
            KvCacheShape shape;
            try {
                shape = m.kvCacheShape(kvType, KvCacheShape.DEFAULT_BLOCK_SIZE);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--kv-cache-type " + kvCacheType + ": " + e.getMessage());
            }
            if (kvBytes > 0 && kvBytes < shape.bytesPerBlock()) {
                throw new UsageException("--kv-cache-memory " + kvCacheMemory + " is less than one block of "
                        + shape.blockSize() + " tokens (" + shape.bytesPerBlock() + " bytes)");
            }
            TextGenerator generator = new TextGenerator(
                    m, tokenizer, threads, context, kvType, numerics, kvBytes, chat ? CHAT_RESERVE_TOKENS : 0);
            try (generator;
                    Utf8Stream out = new Utf8Stream(stdout)) {
                if (chat) {
                    chat(generator, tokenizer, template, params, out);
                } else {
                    int[] ids = tokenizer.encode(prompt, true, true);
                    TextGenerator.Completion c = generator.generate(ids, params, stops, out);
                    out.flush();
                    report(c, generator, null);
                }
            }
        }
        return 0;
    }

    /** Turn after turn: each line of input is a user message; each reply is printed and kept. */
    private void chat(
            TextGenerator generator,
            Tokenizer tokenizer,
            ChatTemplate template,
            SamplingParams params,
            Utf8Stream out) {
        List<ChatMessage> conversation = new ArrayList<>();
        if (system != null) {
            conversation.add(ChatMessage.system(system));
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
        int turn = 0;
        while (true) {
            if (terminal) {
                stderr.print("> ");
                stderr.flush();
            }
            String line;
            try {
                line = in.readLine();
            } catch (IOException e) {
                throw new UsageException("cannot read standard input: " + e.getMessage());
            }
            if (line == null) {
                break;
            }
            if (line.isBlank()) {
                continue;
            }
            turn++;
            conversation.add(ChatMessage.user(line));
            String rendered = template.render(conversation, null, true, Map.of());
            int[] ids = tokenizer.encode(rendered, true, true);
            TextGenerator.Completion c = generator.generate(ids, params, stops, out);
            out.accept("\n");
            out.flush();
            conversation.add(ChatMessage.assistant(c.text()));
            report(c, generator, turn);
        }
    }

    /** The request's options as sampling parameters; a bad value is named by its option. */
    private SamplingParams samplingParams() {
        SamplingParams.Builder b = SamplingParams.builder()
                .temperature(temperature)
                .topK(topK)
                .topP(topP)
                .minP(minP)
                .repetitionPenalty(repeatPenalty)
                .presencePenalty(presencePenalty)
                .frequencyPenalty(frequencyPenalty)
                .ignoreEos(ignoreEos)
                .maxTokens(maxTokens == -1 ? Integer.MAX_VALUE : maxTokens);
        if (seed != null) {
            b.seed(seed);
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(optionNamed(e.getMessage()));
        }
    }

    /** SamplingParams names its fields ("topP must be ..."): the command line knows them as options. */
    private static String optionNamed(String message) {
        int space = message.indexOf(' ');
        String field = space < 0 ? message : message.substring(0, space);
        String option = switch (field) {
            case "temperature" -> "--temperature";
            case "topK" -> "--top-k";
            case "topP" -> "--top-p";
            case "minP" -> "--min-p";
            case "repetitionPenalty" -> "--repeat-penalty";
            case "presencePenalty" -> "--presence-penalty";
            case "frequencyPenalty" -> "--frequency-penalty";
            case "maxTokens" -> "--max-tokens";
            default -> null;
        };
        return option == null ? message : option + message.substring(field.length());
    }

    /** One line of statistics on standard error. */
    private void report(TextGenerator.Completion c, TextGenerator generator, Integer turn) {
        StringBuilder s = new StringBuilder();
        if (terminal && turn == null) {
            s.append(System.lineSeparator()); // the text ends without a line break
        }
        s.append("spindle generate: ");
        if (turn != null) {
            s.append("turn ").append(turn).append(": ");
        }
        s.append(String.format(
                Locale.ROOT,
                "prompt %d tokens%s in %.1f ms (%.1f tokens/s); decode %d tokens in %.1f ms (%.1f tokens/s); %s",
                c.promptTokens(),
                c.cachedPromptTokens() > 0 ? " (" + c.cachedPromptTokens() + " cached)" : "",
                c.prefillNanos() / 1e6,
                c.promptTokensPerSecond(),
                c.decodedTokens(),
                c.decodeNanos() / 1e6,
                c.decodeTokensPerSecond(),
                finish(c, generator)));
        stderr.println(s);
    }

    private String finish(TextGenerator.Completion c, TextGenerator generator) {
        return switch (c.finishReason()) {
            case STOP -> c.stopString() != null ? "stopped at " + JsonString.quote(c.stopString()) : "end of text";
            case LENGTH -> "reached --max-tokens " + c.tokens().length;
            case CONTEXT ->
                c.promptTokens() + c.tokens().length >= generator.contextSize()
                        ? "the context of " + generator.contextSize() + " tokens is full"
                        : "the KV cache of " + generator.kvCacheTokens() + " tokens is full (see --kv-cache-memory)";
        };
    }

    /**
     * Standard output as UTF-8 whatever the platform's default, flushed after every piece so the text appears as it
     * is produced. Copies each piece through one char buffer, so writing allocates nothing.
     */
    private static final class Utf8Stream implements TextGenerator.TextSink, AutoCloseable {
        private final Writer writer;
        private char[] chars = new char[64];

        Utf8Stream(PrintStream out) {
            this.writer = new OutputStreamWriter(out, StandardCharsets.UTF_8);
        }

        @Override
        public void accept(CharSequence text) {
            int n = text.length();
            if (n > chars.length) {
                chars = new char[Math.max(n, 2 * chars.length)];
            }
            for (int i = 0; i < n; i++) {
                chars[i] = text.charAt(i);
            }
            try {
                writer.write(chars, 0, n);
                writer.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void flush() {
            try {
                writer.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Flushes; standard output itself stays open. */
        @Override
        public void close() {
            flush();
        }
    }
}
