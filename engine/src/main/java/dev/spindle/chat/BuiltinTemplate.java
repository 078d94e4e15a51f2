package dev.spindle.chat;

import java.util.Arrays;
import java.util.Locale;

/**
 * Chat formats for models whose file carries no template, by the names llama.cpp uses. Each is written as a Jinja
 * template that renders the format's documented layout; like llama.cpp's built-ins they start without BOS (the
 * tokenizer adds it), except where the format repeats BOS between turns.
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
     * Llama 2: {@code [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] assistant</s><s>[INST] user [/INST]}; the
     * system prompt goes inside the first instruction.
     */
    LLAMA2("llama2", """
            {%- set ns = namespace(system='') -%}
            {%- for message in messages -%}
            {%- if message.role == 'system' -%}
            {%- set ns.system = '<<SYS>>\\n' + (message.content or '') + '\\n<</SYS>>\\n\\n' -%}
            {%- elif message.role == 'user' -%}
            {{- ('' if loop.first or loop.previtem.role == 'system' else bos_token) + '[INST] ' + ns.system + (message.content or '') | trim + ' [/INST]' -}}
            {%- set ns.system = '' -%}
            {%- elif message.role == 'assistant' -%}
            {{- ' ' + (message.content or '') | trim + eos_token -}}
            {%- endif -%}
            {%- endfor -%}
            """),
    /** Mistral Instruct (v1): {@code [INST] user [/INST]assistant</s>}; a system prompt leads the first user turn. */
    MISTRAL("mistral", """
            {%- set ns = namespace(system='') -%}
            {%- for message in messages -%}
            {%- if message.role == 'system' -%}
            {%- set ns.system = (message.content or '') + '\\n\\n' -%}
            {%- elif message.role == 'user' -%}
            {{- '[INST] ' + ns.system + (message.content or '') + ' [/INST]' -}}
            {%- set ns.system = '' -%}
            {%- elif message.role == 'assistant' -%}
            {{- (message.content or '') + eos_token -}}
            {%- endif -%}
            {%- endfor -%}
            """),
    /** Zephyr: {@code <|role|>\ncontent</s>\n}. */
    ZEPHYR("zephyr", """
            {%- for message in messages -%}
            {{- '<|' + message.role + '|>\\n' + (message.content or '') + eos_token + '\\n' -}}
            {%- endfor -%}
            {%- if add_generation_prompt -%}{{- '<|assistant|>\\n' -}}{%- endif -%}
            """);

    private final String templateName;
    private final String source;

    BuiltinTemplate(String name, String source) {
        this.templateName = name;
        this.source = source;
    }

    /** The name used on the command line and by llama.cpp. */
    public String templateName() {
        return templateName;
    }

    /** The Jinja source. */
    public String source() {
        return source;
    }

    /** The built-in called {@code name} (case-insensitive), or {@code null}. */
    public static BuiltinTemplate named(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return Arrays.stream(values())
                .filter(t -> t.templateName.equals(n))
                .findFirst()
                .orElse(null);
    }
}
