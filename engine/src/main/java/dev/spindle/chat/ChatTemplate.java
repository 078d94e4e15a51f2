package dev.spindle.chat;

import dev.spindle.chat.jinja.JinjaException;
import dev.spindle.chat.jinja.Template;
import dev.spindle.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model's chat template: turns a conversation into the prompt text the model was trained on.
 *
 * <p>Templates are Jinja as Hugging Face writes them ({@code tokenizer.chat_template}), rendered with the variables
 * Hugging Face and llama.cpp pass: {@code messages} (each with {@code role} and {@code content}, and where present
 * {@code reasoning_content}, {@code tool_calls}, {@code tool_call_id}, {@code name}), {@code tools},
 * {@code add_generation_prompt}, {@code bos_token} and {@code eos_token}, plus any extra variables (such as
 * {@code enable_thinking}). Tool definitions and other JSON values are plain {@link Map}s, {@link List}s, strings,
 * numbers, booleans and nulls, so the engine needs no JSON library.
 *
 * <p>The rendered text spells special tokens ({@code <|im_start|>}); tokenize it with special tokens parsed and with
 * the model's BOS/EOS added ({@code addSpecial}). As llama.cpp does, a BOS text that starts the rendering and an EOS
 * text that ends it are taken off, since the tokenizer adds those tokens itself (Llama 3's template writes
 * {@code bos_token} first). Built-in formats are left as they render, as llama.cpp leaves its own.
 *
 * <p>Immutable and thread-safe.
 */
public final class ChatTemplate {

    private final String name;
    private final String source;
    private final Template template;
    private final String bosToken;
    private final String eosToken;
    /** Whether BOS/EOS texts come off the ends: for models' Jinja templates, not built-ins (as in llama.cpp). */
    private final boolean trimsBosEos;

    private ChatTemplate(String name, String source, String bosToken, String eosToken, boolean trimsBosEos) {
        this.name = name;
        this.trimsBosEos = trimsBosEos;
        this.source = source;
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
        try {
            this.template = Template.parse(source);
        } catch (JinjaException e) {
            throw new ChatTemplateException("chat template '" + name + "' does not parse: " + e.getMessage(), e);
        }
    }

    /** The template in {@code source}, with the model's BOS and EOS token texts. */
    public static ChatTemplate of(String name, String source, String bosToken, String eosToken) {
        return new ChatTemplate(name, source, bosToken, eosToken, true);
    }

    public static ChatTemplate of(BuiltinTemplate builtin, String bosToken, String eosToken) {
        return new ChatTemplate(builtin.templateName(), builtin.source(), bosToken, eosToken, false);
    }

    /**
     * The template to use for a model: {@code override} when given (a built-in's name, or a file holding a Jinja
     * template), else the model's own template, else ChatML (llama.cpp's fallback).
     *
     * @param override {@code --chat-template NAME|FILE}, or {@code null}
     * @param modelTemplate the model's {@code tokenizer.chat_template}, or {@code null}
     */
    public static ChatTemplate resolve(String override, String modelTemplate, String bosToken, String eosToken) {
        if (override != null && !override.isEmpty()) {
            BuiltinTemplate builtin = BuiltinTemplate.named(override);
            if (builtin != null) {
                return of(builtin, bosToken, eosToken);
            }
            Path file = Path.of(override);
            if (Files.isRegularFile(file)) {
                try {
                    return of(file.getFileName().toString(), Files.readString(file), bosToken, eosToken);
                } catch (IOException e) {
                    throw new ChatTemplateException(
                            "cannot read chat template file " + file + ": " + e.getMessage(), e);
                }
            }
            throw new ChatTemplateException("unknown chat template '" + override + "': not a built-in ("
                    + String.join(", ", builtinNames()) + ") and not a file");
        }
        if (modelTemplate != null && !modelTemplate.isBlank()) {
            return of("model", modelTemplate, bosToken, eosToken);
        }
        return of(BuiltinTemplate.CHATML, bosToken, eosToken);
    }

    /**
     * {@link #resolve} with the BOS and EOS texts taken from the model's tokenizer, as llama.cpp passes them (the
     * token's text, also for a vocabulary whose BOS is only llama.cpp's default).
     */
    public static ChatTemplate forModel(Tokenizer tokenizer, String modelTemplate, String override) {
        String bos = tokenizer.bosId() >= 0 ? tokenizer.piece(tokenizer.bosId(), true) : "";
        String eos = tokenizer.eosId() >= 0 ? tokenizer.piece(tokenizer.eosId(), true) : "";
        return resolve(override, modelTemplate, bos, eos);
    }

    private static List<String> builtinNames() {
        List<String> names = new ArrayList<>();
        for (BuiltinTemplate t : BuiltinTemplate.values()) {
            names.add(t.templateName());
        }
        return names;
    }

    public String name() {
        return name;
    }

    public String source() {
        return source;
    }

    /** Renders a conversation without tools or extra variables. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, null, addGenerationPrompt, Map.of());
    }

    /**
     * Renders a conversation.
     *
     * @param tools tool definitions as OpenAI's API gives them ({@code {"type": "function", "function": {...}}}), or
     *     {@code null} for none
     * @param addGenerationPrompt end with the opening of an assistant turn
     * @param extra further template variables ({@code enable_thinking}, ...)
     * @throws ChatTemplateException when the template fails for this conversation (including its own
     *     {@code raise_exception})
     */
    public String render(
            List<ChatMessage> messages,
            List<Map<String, Object>> tools,
            boolean addGenerationPrompt,
            Map<String, Object> extra) {
        Map<String, Object> vars = new LinkedHashMap<>(extra);
        vars.put("messages", messagesAsValues(messages));
        if (tools != null && !tools.isEmpty()) {
            vars.put("tools", tools);
        }
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.put("bos_token", bosToken);
        vars.put("eos_token", eosToken);
        String text;
        try {
            text = template.render(vars);
        } catch (JinjaException e) {
            throw new ChatTemplateException("chat template '" + name + "' failed: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new ChatTemplateException("chat template '" + name + "' failed: " + e, e);
        }
        // As llama.cpp: the tokenizer adds BOS (and EOS) itself, so a template's own are taken off the ends.
        if (trimsBosEos && !bosToken.isEmpty() && text.startsWith(bosToken)) {
            text = text.substring(bosToken.length());
        }
        if (trimsBosEos && !eosToken.isEmpty() && text.endsWith(eosToken)) {
            text = text.substring(0, text.length() - eosToken.length());
        }
        return text;
    }

    /** Messages as the maps templates read, with llama.cpp's key order. */
    static List<Object> messagesAsValues(List<ChatMessage> messages) {
        List<Object> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("role", m.role());
            map.put("content", m.content());
            if (m.reasoningContent() != null) {
                map.put("reasoning_content", m.reasoningContent());
            }
            if (m.name() != null) {
                map.put("name", m.name());
            }
            if (m.toolCallId() != null) {
                map.put("tool_call_id", m.toolCallId());
            }
            if (!m.toolCalls().isEmpty()) {
                List<Object> calls = new ArrayList<>();
                for (ToolCall c : m.toolCalls()) {
                    Map<String, Object> function = new LinkedHashMap<>();
                    function.put("name", c.name());
                    function.put("arguments", c.arguments());
                    Map<String, Object> call = new LinkedHashMap<>();
                    call.put("type", "function");
                    call.put("function", function);
                    if (c.id() != null) {
                        call.put("id", c.id());
                    }
                    calls.add(call);
                }
                map.put("tool_calls", calls);
            }
            out.add(map);
        }
        return out;
    }
}
