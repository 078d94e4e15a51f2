package dev.spindle.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufTensor;
import dev.spindle.gguf.GgufWriter;
import dev.spindle.oracle.LlamaOracle;
import dev.spindle.oracle.LlamaOracle.Pending;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each built-in format renders exactly what llama.cpp's built-in of the same name renders. The models are copies of
 * stories260K whose {@code tokenizer.chat_template} is the format's name, which llama.cpp (without Jinja) takes as a
 * request for its built-in.
 */
class BuiltinTemplateOracleTest {

    static final List<List<ChatMessage>> CONVERSATIONS = List.of(
            List.of(ChatMessage.user("Hi")),
            List.of(
                    ChatMessage.system("Sys"),
                    ChatMessage.user("Hi"),
                    ChatMessage.assistant("Yo"),
                    ChatMessage.user("Q")),
            List.of(
                    ChatMessage.user(" padded question "),
                    ChatMessage.assistant(" padded answer "),
                    ChatMessage.user("next\nline")));

    static final Map<BuiltinTemplate, List<Pending<String>>> WITH_PROMPT = new LinkedHashMap<>();
    static final Map<BuiltinTemplate, List<Pending<String>>> WITHOUT_PROMPT = new LinkedHashMap<>();

    @BeforeAll
    static void askLlamaCpp(@TempDir Path dir) throws IOException {
        Path stories = Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");
        LlamaOracle.Batch batch = LlamaOracle.batch();
        try (GgufFile source = GgufFile.open(stories)) {
            for (BuiltinTemplate t : BuiltinTemplate.values()) {
                Path model = dir.resolve(t.templateName() + ".gguf");
                GgufWriter w = new GgufWriter().putAll(source.metadata());
                w.putString("tokenizer.chat_template", t.templateName());
                for (GgufTensor tensor : source.tensors()) {
                    w.addTensor(tensor.name(), tensor.type(), tensor.shape(), tensor.data());
                }
                w.write(model);
                List<Pending<String>> with = new ArrayList<>();
                List<Pending<String>> without = new ArrayList<>();
                for (List<ChatMessage> conversation : CONVERSATIONS) {
                    List<LlamaOracle.ChatMessage> messages = conversation.stream()
                            .map(m -> new LlamaOracle.ChatMessage(m.role(), m.content()))
                            .toList();
                    with.add(batch.applyChatTemplate(model, messages, true, false));
                    without.add(batch.applyChatTemplate(model, messages, false, false));
                }
                WITH_PROMPT.put(t, with);
                WITHOUT_PROMPT.put(t, without);
            }
        }
        batch.run();
    }

    @Test
    void everyBuiltinRendersAsLlamaCppsBuiltin() {
        for (BuiltinTemplate t : BuiltinTemplate.values()) {
            ChatTemplate template = ChatTemplate.of(t, "<s>", "</s>");
            for (int i = 0; i < CONVERSATIONS.size(); i++) {
                assertEquals(
                        WITH_PROMPT.get(t).get(i).get(),
                        template.render(CONVERSATIONS.get(i), true),
                        t.templateName() + " conversation " + i);
                assertEquals(
                        WITHOUT_PROMPT.get(t).get(i).get(),
                        template.render(CONVERSATIONS.get(i), false),
                        t.templateName() + " conversation " + i + " without generation prompt");
            }
        }
    }
}
