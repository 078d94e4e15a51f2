package dev.spindle.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.spindle.chat.BuiltinTemplate;
import dev.spindle.chat.ChatMessage;
import dev.spindle.chat.ChatTemplate;
import dev.spindle.gguf.GgufFile;
import dev.spindle.oracle.LlamaOracle;
import dev.spindle.oracle.LlamaOracle.Pending;
import dev.spindle.quant.GgmlType;
import dev.spindle.synth.Architecture;
import dev.spindle.synth.ModelSynthesizer;
import dev.spindle.synth.Shape;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Synthetic models that carry the real Qwen3 and Llama 3 tokenizers (and chat templates) tokenize, detokenize and
 * render conversations exactly as llama.cpp does. All llama.cpp work runs in one forked JVM.
 */
class ByteLevelBpeOracleTest {

    static final List<String> CORPUS = TokenizerCorpus.generate(2026, 2400);

    /**
     * Conversations for the chat templates: what llama.cpp's binding can pass (role and content). No characters above
     * U+FFFF: the binding returns the rendered text through JNI's modified UTF-8, which garbles them.
     */
    static final List<List<ChatMessage>> CONVERSATIONS = List.of(
            List.of(ChatMessage.user("Hello!")),
            List.of(ChatMessage.system("You are a helpful assistant."), ChatMessage.user("What is 2+2?")),
            List.of(
                    ChatMessage.system("Be brief."),
                    ChatMessage.user("Hi"),
                    ChatMessage.assistant("Hello! How can I help?"),
                    ChatMessage.user("Tell me a joke.")),
            List.of(
                    ChatMessage.user("  spaces around  "),
                    ChatMessage.assistant("<think>\nreasoning\n</think>\n\nanswer"),
                    ChatMessage.user("naïve café 你好\nsecond line")),
            List.of(
                    ChatMessage.user("Q1"),
                    ChatMessage.assistant("A1"),
                    ChatMessage.user("Q2"),
                    ChatMessage.assistant("A2")));

    record Model(String name, Path path, Tokenizer tokenizer, String template) {}

    /** As small a model as llama.cpp loads: only the vocabulary matters here (the tokenizer sets the vocab size). */
    static final Shape VOCABULARY_CARRIER = new Shape("vocabulary-carrier", 32, 1, 2, 1, 64, 1, 512);

    static Model qwen3;
    static Model llama3;
    static Pending<List<int[]>> qwenIds;
    static Pending<List<int[]>> llamaIds;

    /** The other pre-tokenizer splits llama.cpp implements, each run over the Qwen3 vocabulary. */
    static final List<String> OTHER_PRE = List.of("gpt-2", "smollm", "default");

    static final List<String> SMALL_CORPUS = CORPUS.subList(0, 800);
    static final List<Model> otherPre = new ArrayList<>();
    static final List<Pending<List<int[]>>> otherPreIds = new ArrayList<>();
    static final List<Pending<byte[]>> qwenDetokenized = new ArrayList<>();
    static final List<Pending<byte[]>> llamaDetokenized = new ArrayList<>();
    static final List<int[]> detokenizeInputs = new ArrayList<>();
    static final List<Pending<String>> qwenChats = new ArrayList<>();
    static final List<Pending<String>> llamaChats = new ArrayList<>();

    @BeforeAll
    static void synthesizeAndAskLlamaCpp(@TempDir Path dir) throws IOException {
        Path tokenizers = Path.of(System.getProperty("spindle.shared"), "tokenizers");
        // llama.cpp b4916 predates the qwen3 architecture; a qwen2 model carries the Qwen3 tokenizer just the same.
        qwen3 = synthesize(dir, "qwen3", Architecture.QWEN2, tokenizers.resolve("qwen3"));
        llama3 = synthesize(dir, "llama3", Architecture.LLAMA, tokenizers.resolve("llama3"));

        LlamaOracle.Batch batch = LlamaOracle.batch();
        qwenIds = batch.tokenize(qwen3.path(), CORPUS);
        llamaIds = batch.tokenize(llama3.path(), CORPUS);
        for (String pre : OTHER_PRE) {
            Model m = synthesize(dir, "qwen3-" + pre, Architecture.QWEN2, tokenizers.resolve("qwen3"), pre);
            otherPre.add(m);
            otherPreIds.add(batch.tokenize(m.path(), SMALL_CORPUS));
        }
        for (int i = 0; i < CORPUS.size(); i += 97) {
            int[] ids = qwen3.tokenizer().encode(CORPUS.get(i), false, true);
            if (ids.length > 0) {
                detokenizeInputs.add(ids);
                qwenDetokenized.add(batch.detokenize(qwen3.path(), ids));
                llamaDetokenized.add(
                        batch.detokenize(llama3.path(), llama3.tokenizer().encode(CORPUS.get(i), false, true)));
            }
        }
        for (List<ChatMessage> conversation : CONVERSATIONS) {
            List<LlamaOracle.ChatMessage> messages = conversation.stream()
                    .map(m -> new LlamaOracle.ChatMessage(m.role(), m.content()))
                    .toList();
            qwenChats.add(batch.applyChatTemplate(qwen3.path(), messages, true, true));
            llamaChats.add(batch.applyChatTemplate(llama3.path(), messages, true, true));
        }
        batch.run();
    }

    static Model synthesize(Path dir, String name, Architecture arch, Path tokenizer) throws IOException {
        return synthesize(dir, name, arch, tokenizer, null);
    }

    static Model synthesize(Path dir, String name, Architecture arch, Path tokenizer, String pre) throws IOException {
        Path path = dir.resolve(name + ".gguf");
        new ModelSynthesizer(arch, VOCABULARY_CARRIER)
                .tokenizer(tokenizer)
                .pre(pre)
                .tied(true)
                .type(GgmlType.F16)
                .write(path);
        try (GgufFile f = GgufFile.open(path)) {
            return new Model(
                    name,
                    path,
                    Tokenizer.fromGguf(f.metadata()),
                    f.metadata().getString("tokenizer.chat_template", null));
        }
    }

    @Test
    void qwen3CorpusMatchesLlamaCpp() {
        OracleComparison.assertSameIds(qwen3.tokenizer(), CORPUS, qwenIds.get(), "qwen3");
    }

    @Test
    void llama3CorpusMatchesLlamaCpp() {
        OracleComparison.assertSameIds(llama3.tokenizer(), CORPUS, llamaIds.get(), "llama3");
    }

    @Test
    void gpt2SmollmAndDefaultSplitsMatchLlamaCpp() {
        for (int i = 0; i < OTHER_PRE.size(); i++) {
            OracleComparison.assertSameIds(
                    otherPre.get(i).tokenizer(),
                    SMALL_CORPUS,
                    otherPreIds.get(i).get(),
                    "pre " + OTHER_PRE.get(i));
        }
    }

    @Test
    void decodingGivesBackEveryCorpusString() {
        for (Model m : List.of(qwen3, llama3)) {
            List<String> failures = new ArrayList<>();
            for (String s : CORPUS) {
                // Byte-level BPE is lossless for every string; a lone surrogate was already '?' in UTF-8.
                String expected = new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
                String decoded = m.tokenizer().decode(m.tokenizer().encode(s, false, true), true);
                if (!decoded.equals(expected)) {
                    failures.add(OracleComparison.escape(s) + " -> " + OracleComparison.escape(decoded));
                }
            }
            if (!failures.isEmpty()) {
                fail(m.name() + ": " + failures.size() + " strings do not survive a round trip:\n"
                        + String.join("\n", failures.subList(0, Math.min(10, failures.size()))));
            }
        }
    }

    @Test
    void piecesAreTheBytesLlamaCppDetokenizesTo() {
        for (int i = 0; i < qwenDetokenized.size(); i++) {
            int[] ids = detokenizeInputs.get(i);
            assertArrayEquals(qwenDetokenized.get(i).get(), qwen3.tokenizer().decodeBytes(ids, true), "qwen3 #" + i);
        }
        for (int i = 0; i < llamaDetokenized.size(); i++) {
            String text = CORPUS.get(i * 97);
            int[] ids = llama3.tokenizer().encode(text, false, true);
            if (ids.length > 0) {
                assertArrayEquals(
                        llamaDetokenized.get(i).get(), llama3.tokenizer().decodeBytes(ids, true), "llama3 #" + i);
            }
        }
    }

    @Test
    void llama3TemplateRendersAsLlamaCppRendersIt() {
        ChatTemplate template = ChatTemplate.forModel(llama3.tokenizer(), llama3.template(), null);
        for (int i = 0; i < CONVERSATIONS.size(); i++) {
            assertEquals(llamaChats.get(i).get(), template.render(CONVERSATIONS.get(i), true), "conversation " + i);
        }
    }

    /**
     * The Qwen3 template's own rendering of the conversations where an assistant turn follows the last user turn (it
     * drops earlier reasoning and opens the last answer with an empty think block), as Hugging Face renders it.
     */
    static final Map<Integer, String> QWEN3_DOCUMENTED = Map.of(
            3,
            "<|im_start|>user\n  spaces around  <|im_end|>\n<|im_start|>assistant\nanswer<|im_end|>\n"
                    + "<|im_start|>user\nnaïve café 你好\nsecond line<|im_end|>\n<|im_start|>assistant\n",
            4,
            "<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n"
                    + "<|im_start|>assistant\n<think>\n\n</think>\n\nA2<|im_end|>\n<|im_start|>assistant\n");

    /**
     * Qwen3's template renders as llama.cpp renders it, except where llama.cpp b4916 cannot run it: its Jinja engine
     * (minja, March 2025) predates the Qwen3 template and falls back to ChatML, which keeps every turn as it is.
     * There Spindle follows the template (its documented output), and llama.cpp's text is exactly ChatML's, so the
     * difference is llama.cpp's fallback and nothing else.
     */
    @Test
    void qwen3TemplateRendersAsLlamaCppRendersItWhereLlamaCppCanRunIt() {
        ChatTemplate template = ChatTemplate.forModel(qwen3.tokenizer(), qwen3.template(), null);
        ChatTemplate chatml = ChatTemplate.of(BuiltinTemplate.CHATML, "", "");
        for (int i = 0; i < CONVERSATIONS.size(); i++) {
            String ours = template.render(CONVERSATIONS.get(i), true);
            String documented = QWEN3_DOCUMENTED.get(i);
            if (documented == null) {
                assertEquals(qwenChats.get(i).get(), ours, "conversation " + i);
            } else {
                assertEquals(documented, ours, "conversation " + i);
                assertEquals(
                        chatml.render(CONVERSATIONS.get(i), true),
                        qwenChats.get(i).get(),
                        "ChatML fallback " + i);
            }
        }
    }
}
