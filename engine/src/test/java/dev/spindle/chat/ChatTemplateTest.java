package dev.spindle.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The real Qwen3 and Llama 3 templates render conversations as Hugging Face's Jinja2 does (the expected texts are
 * what those templates document and produce), and built-in formats render their documented layouts.
 */
class ChatTemplateTest {

    static final List<ChatMessage> THINKING_CONVERSATION = List.of(
            ChatMessage.system("You are helpful."),
            ChatMessage.user("Hi there"),
            ChatMessage.assistant("<think>\nhmm\n</think>\n\nHello!"),
            ChatMessage.user("What's the weather?"));

    static List<Map<String, Object>> weatherTool() {
        Map<String, Object> parameters = new LinkedHashMap<>();
        parameters.put("type", "object");
        parameters.put("properties", Map.of("city", Map.of("type", "string")));
        parameters.put("required", List.of("city"));
        Map<String, Object> function = new LinkedHashMap<>();
        function.put("name", "get_weather");
        function.put("description", "Get the weather");
        function.put("parameters", parameters);
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("type", "function");
        tool.put("function", function);
        return List.of(tool);
    }

    @Test
    void qwen3DropsTheReasoningOfEarlierTurns() {
        assertEquals("""
                <|im_start|>system
                You are helpful.<|im_end|>
                <|im_start|>user
                Hi there<|im_end|>
                <|im_start|>assistant
                Hello!<|im_end|>
                <|im_start|>user
                What's the weather?<|im_end|>
                <|im_start|>assistant
                """, SharedTemplates.qwen3().render(THINKING_CONVERSATION, true));
    }

    @Test
    void qwen3WithToolsToolCallsAndToolResponses() {
        List<ChatMessage> conversation = List.of(
                ChatMessage.user("Weather in Paris?"),
                ChatMessage.assistant("", List.of(new ToolCall("c1", "get_weather", "{\"city\": \"Paris\"}"))),
                ChatMessage.tool("{\"temp\": 21}", "c1", "get_weather"),
                ChatMessage.tool("sunny", "c1", "get_weather"));
        String rendered =
                SharedTemplates.qwen3().render(conversation, weatherTool(), true, Map.of("enable_thinking", false));
        assertEquals("""
                <|im_start|>system
                # Tools

                You may call one or more functions to assist with the user query.

                You are provided with function signatures within <tools></tools> XML tags:
                <tools>
                {"type": "function", "function": {"name": "get_weather", "description": "Get the weather", \
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
                </tools>

                For each function call, return a json object with function name and arguments within \
                <tool_call></tool_call> XML tags:
                <tool_call>
                {"name": <function-name>, "arguments": <args-json-object>}
                </tool_call><|im_end|>
                <|im_start|>user
                Weather in Paris?<|im_end|>
                <|im_start|>assistant
                <tool_call>
                {"name": "get_weather", "arguments": {"city": "Paris"}}
                </tool_call><|im_end|>
                <|im_start|>user
                <tool_response>
                {"temp": 21}
                </tool_response>
                <tool_response>
                sunny
                </tool_response><|im_end|>
                <|im_start|>assistant
                <think>

                </think>

                """, rendered);
    }

    @Test
    void qwen3KeepsTheReasoningOfTheTurnAfterTheLastQuery() {
        List<ChatMessage> conversation =
                List.of(ChatMessage.user("2+2?"), ChatMessage.assistant("<think>\nadd\n</think>\n\n4"));
        assertEquals(
                "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nadd\n</think>\n\n4<|im_end|>\n",
                SharedTemplates.qwen3().render(conversation, false));
    }

    @Test
    void llama3TrimsContentAndLeavesBosToTheTokenizer() {
        assertEquals("""
                <|start_header_id|>system<|end_header_id|>

                You are helpful.<|eot_id|><|start_header_id|>user<|end_header_id|>

                Hi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>

                <think>
                hmm
                </think>

                Hello!<|eot_id|><|start_header_id|>user<|end_header_id|>

                What's the weather?<|eot_id|><|start_header_id|>assistant<|end_header_id|>

                """, SharedTemplates.llama3().render(THINKING_CONVERSATION, true));
    }

    static final List<ChatMessage> SIMPLE = List.of(
            ChatMessage.system("Sys"), ChatMessage.user("Hi"), ChatMessage.assistant("Yo"), ChatMessage.user("Q"));

    @Test
    void builtinFormats() {
        assertEquals(
                "<|im_start|>system\nSys<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n"
                        + "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n",
                ChatTemplate.of(BuiltinTemplate.CHATML, "<s>", "</s>").render(SIMPLE, true));
        assertEquals(
                "<|start_header_id|>system<|end_header_id|>\n\nSys<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
                        + "Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nQ<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                ChatTemplate.of(BuiltinTemplate.LLAMA3, "<|begin_of_text|>", "<|eot_id|>")
                        .render(SIMPLE, true));
        assertEquals(
                "[INST] Sys\nHi [/INST]Yo</s>[INST] Q [/INST]",
                ChatTemplate.of(BuiltinTemplate.LLAMA2, "<s>", "</s>").render(SIMPLE, true));
        assertEquals(
                "[INST] <<SYS>>\nSys\n<</SYS>>\n\nHi [/INST]Yo</s><s>[INST] Q [/INST]",
                ChatTemplate.of(BuiltinTemplate.LLAMA2_SYS_BOS, "<s>", "</s>").render(SIMPLE, true));
        assertEquals(
                " [INST] Sys\n\nHi [/INST] Yo</s> [INST] Q [/INST]",
                ChatTemplate.of(BuiltinTemplate.named("mistral"), "<s>", "</s>").render(SIMPLE, true));
        assertEquals(
                "<|system|>\nSys<|endoftext|>\n<|user|>\nHi<|endoftext|>\n<|assistant|>\nYo<|endoftext|>\n"
                        + "<|user|>\nQ<|endoftext|>\n<|assistant|>\n",
                ChatTemplate.of(BuiltinTemplate.ZEPHYR, "<s>", "</s>").render(SIMPLE, true));
    }

    @Test
    void resolutionPrefersOverrideThenModelThenChatml(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        assertEquals(
                "zephyr",
                ChatTemplate.resolve("ZEPHYR", "{{ 'model' }}", "", "").name());
        assertEquals(
                "model", ChatTemplate.resolve(null, "{{ 'model' }}", "", "").name());
        assertEquals("chatml", ChatTemplate.resolve(null, null, "", "").name());
        Path file = dir.resolve("mine.jinja");
        Files.writeString(file, "{% for m in messages %}{{ m.content }}{% endfor %}");
        assertEquals(
                "ab",
                ChatTemplate.resolve(file.toString(), null, "", "")
                        .render(List.of(ChatMessage.user("a"), ChatMessage.user("b")), false));
        assertThrows(ChatTemplateException.class, () -> ChatTemplate.resolve("no-such-template", null, "", ""));
    }

    @Test
    void aTemplateThatFailsIsAnErrorForThatConversation() {
        ChatTemplate strict = ChatTemplate.of(
                "strict",
                "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}"
                        + "{% endif %}{{ m.content }}{% endfor %}",
                "",
                "");
        ChatTemplateException e =
                assertThrows(ChatTemplateException.class, () -> strict.render(List.of(ChatMessage.system("x")), true));
        assertTrue(e.getMessage().contains("System role not supported"), e.getMessage());
        assertEquals("ok", strict.render(List.of(ChatMessage.user("ok")), true), "the template still works after");
        assertThrows(ChatTemplateException.class, () -> ChatTemplate.of("broken", "{% for %}", "", ""));
    }
}
