package dev.spindle.synth;

import java.util.Locale;

/** The model architectures Spindle synthesizes, by their GGUF names ({@code general.architecture}). */
public enum Architecture {
    /** Llama 1/2/3, TinyLlama, Mistral-style dense models. */
    LLAMA("llama"),
    /** Qwen2 and Qwen2.5: biases on the Q, K and V projections. */
    QWEN2("qwen2"),
    /** Qwen3: RMS norms on each head of Q and K, and a head size of its own ({@code key_length}). */
    QWEN3("qwen3");

    private final String ggufName;

    Architecture(String ggufName) {
        this.ggufName = ggufName;
    }

    /** The name GGUF files use, which also prefixes the hyper-parameter keys. */
    public String ggufName() {
        return ggufName;
    }

    /** The architecture called {@code name} ({@code llama}, {@code qwen2}, {@code qwen3}). */
    public static Architecture byName(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name.toLowerCase(Locale.ROOT))) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown architecture '" + name + "' (known: llama, qwen2, qwen3)");
    }
}
