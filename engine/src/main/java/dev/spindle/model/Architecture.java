package dev.spindle.model;

/**
 * The model architectures the engine runs, by their GGUF {@code general.architecture} name, with what sets each apart
 * from the Llama baseline (pre-norm decoder, RMSNorm, RoPE, grouped-query attention, SwiGLU feed-forward).
 */
public enum Architecture {
    /**
     * Llama 2/3/3.1/3.2, Mistral, TinyLlama, SmolLM. RoPE rotates adjacent pairs: the GGUF converter permuted the
     * rows of Q and K so that Hugging Face's half-split rotation becomes the original interleaved one.
     */
    LLAMA("llama", RopeStyle.NORMAL, false, false),
    /** Qwen2 and Qwen2.5: biases on the Q, K and V projections; RoPE on the half-split (NeoX) pairs. */
    QWEN2("qwen2", RopeStyle.NEOX, true, false),
    /** Qwen3: an RMSNorm over each head of Q and of K, before RoPE; no biases; NeoX RoPE. */
    QWEN3("qwen3", RopeStyle.NEOX, false, true);

    private final String ggufName;
    private final RopeStyle ropeStyle;
    private final boolean qkvBias;
    private final boolean qkNorm;

    Architecture(String ggufName, RopeStyle ropeStyle, boolean qkvBias, boolean qkNorm) {
        this.ggufName = ggufName;
        this.ropeStyle = ropeStyle;
        this.qkvBias = qkvBias;
        this.qkNorm = qkNorm;
    }

    /** The name in {@code general.architecture}, which also prefixes the hyper-parameter keys. */
    public String ggufName() {
        return ggufName;
    }

    /** Which dimensions RoPE rotates together. */
    public RopeStyle ropeStyle() {
        return ropeStyle;
    }

    /** Whether Q, K and V projections must carry biases ({@code blk.N.attn_q.bias}, ...). */
    public boolean requiresQkvBias() {
        return qkvBias;
    }

    /** Whether each head of Q and K is RMS-normalised before RoPE ({@code blk.N.attn_q_norm.weight}, ...). */
    public boolean hasQkNorm() {
        return qkNorm;
    }

    /**
     * The architecture named {@code name} in a GGUF file.
     *
     * @throws UnsupportedModelException naming it when the engine does not run it
     */
    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        StringBuilder supported = new StringBuilder();
        for (Architecture a : values()) {
            supported.append(supported.isEmpty() ? "" : ", ").append(a.ggufName);
        }
        throw new UnsupportedModelException("unsupported architecture '" + name + "' (Spindle runs " + supported + ")");
    }
}
