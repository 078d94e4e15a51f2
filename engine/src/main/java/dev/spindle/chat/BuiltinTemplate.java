package dev.spindle.chat;

import java.util.Arrays;
import java.util.Locale;

/**
 * Chat formats for models whose file carries no template, by the names llama.cpp gives them, rendering exactly what
 * llama.cpp's built-in formats render. Each is written as a Jinja template. Like llama.cpp's, none starts with BOS
 * (the tokenizer adds it) and none strips the ends of its output.
 */
public enum BuiltinTemplate {
    /** {@code <|im_start|>role\ncontent<|im_end|>\n}: Qwen, SmolLM, many fine-tunes. llama.cpp's fallback. */
    CHATML("chatml", """
            {%- for message in messages -%}
            {{- '<|im_start|>' + message.role + '\\n' + (message.content or '') + '<|im_end|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}
            """),
    /** Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>}, content trimmed. */
    LLAMA3("llama3", """
            {%- for message in messages -%}
            {{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + (message.content or '') | trim + '<|eot_id|>' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}
            """),
    /**
     * Llama 2 without system-prompt markup: {@code [INST] user [/INST]assistant</s>[INST] ...}; a system message is
     * written as a line of its own.
     */
    LLAMA2("llama2", llama2(false, false)),
    /** Llama 2 with {@code <<SYS>>\nsystem\n<</SYS>>\n\n} inside the first instruction. */
    LLAMA2_SYS("llama2-sys", llama2(true, false)),
    /** As {@link #LLAMA2_SYS}, with {@code <s>} before every instruction after the first. */
    LLAMA2_SYS_BOS("llama2-sys-bos", llama2(true, true)),
    /**
     * Mistral Instruct v1 ({@code mistral} for short): {@code  [INST] user [/INST] assistant</s>}; a system message
     * is put before the next user message.
     */
    MISTRAL_V1("mistral-v1", mistral(" ", " ", false)),
    /** Mistral Instruct v3: {@code [INST] user[/INST] assistant</s>}, assistant content trimmed. */
    MISTRAL_V3("mistral-v3", mistral("", " ", true)),
    /** Mistral v7: {@code [SYSTEM_PROMPT] s[/SYSTEM_PROMPT][INST] u[/INST] a</s>}. */
    MISTRAL_V7("mistral-v7", """
            {%- for message in messages -%}
            {%- if message.role == 'system' -%}{{- '[SYSTEM_PROMPT] ' + (message.content or '') + '[/SYSTEM_PROMPT]' -}}
            {%- elif message.role == 'user' -%}{{- '[INST] ' + (message.content or '') + '[/INST]' -}}
            {%- else -%}{{- ' ' + (message.content or '') + '</s>' -}}
            {%- endif -%}
            {%- endfor -%}
            """),
    /** Zephyr: {@code <|role|>\ncontent<|endoftext|>\n}. */
    ZEPHYR("zephyr", """
            {%- for message in messages -%}
            {{- '<|' + message.role + '|>\\n' + (message.content or '') + '<|endoftext|>\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}
            """);

    private final String templateName;
    private final String source;

    BuiltinTemplate(String name, String source) {
        this.templateName = name;
        this.source = source;
    }

    private static String llama2(boolean systemMarkup, boolean bosInsideHistory) {
        String system = systemMarkup
                ? "'<<SYS>>\\n' + (message.content or '') + '\\n<</SYS>>\\n\\n'"
                : "(message.content or '') + '\\n'";
        String reopen = bosInsideHistory ? "<s>[INST] " : "[INST] ";
        return """
                {%- set ns = namespace(inside=true) -%}
                {{- '[INST] ' -}}
                {%- for message in messages -%}
                {%- if not ns.inside -%}{%- set ns.inside = true -%}{{- 'REOPEN' -}}{%- endif -%}
                {%- if message.role == 'system' -%}{{- SYSTEM -}}
                {%- elif message.role == 'user' -%}{{- (message.content or '') + ' [/INST]' -}}
                {%- else -%}{{- (message.content or '') + '</s>' -}}{%- set ns.inside = false -%}
                {%- endif -%}
                {%- endfor -%}
                """.replace("REOPEN", reopen).replace("SYSTEM", system);
    }

    private static String mistral(String leadingSpace, String trailingSpace, boolean trimAssistant) {
        String assistant = trimAssistant ? "((message.content or '') | trim)" : "(message.content or '')";
        return """
                {%- set ns = namespace(inside=false) -%}
                {%- for message in messages -%}
                {%- if not ns.inside -%}{{- 'LEAD[INST]TRAIL' -}}{%- set ns.inside = true -%}{%- endif -%}
                {%- if message.role == 'system' -%}{{- (message.content or '') + '\\n\\n' -}}
                {%- elif message.role == 'user' -%}{{- (message.content or '') + 'LEAD[/INST]' -}}
                {%- else -%}{{- 'TRAIL' + ASSISTANT + '</s>' -}}{%- set ns.inside = false -%}
                {%- endif -%}
                {%- endfor -%}
                """.replace("LEAD", leadingSpace).replace("TRAIL", trailingSpace).replace("ASSISTANT", assistant);
    }

    /** The name used on the command line and by llama.cpp. */
    public String templateName() {
        return templateName;
    }

    /** The Jinja source. */
    public String source() {
        return source;
    }

    /** The built-in called {@code name} (case-insensitive; {@code mistral} is {@code mistral-v1}), or {@code null}. */
    public static BuiltinTemplate named(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.equals("mistral")) {
            return MISTRAL_V1;
        }
        return Arrays.stream(values())
                .filter(t -> t.templateName.equals(n))
                .findFirst()
                .orElse(null);
    }
}
