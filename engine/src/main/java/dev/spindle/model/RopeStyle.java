package dev.spindle.model;

/** Which two dimensions of a head one RoPE rotation mixes, for pair {@code i} of a head of {@code d} rotated dims. */
public enum RopeStyle {
    /** Adjacent dimensions {@code (2i, 2i + 1)}: the original RoPE layout, used by llama GGUF files. */
    NORMAL,
    /** Dimensions {@code (i, i + d/2)}: GPT-NeoX's half-split layout, used by Qwen. */
    NEOX
}
