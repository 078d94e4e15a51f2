package dev.spindle.synth;

import dev.spindle.gguf.GgufWriter;
import dev.spindle.hf.HfTokenizer;
import dev.spindle.quant.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a complete GGUF model with random weights: the tensors and metadata llama.cpp expects for the architecture,
 * at a named shape, with a synthetic SentencePiece vocabulary or a real Hugging Face tokenizer.
 *
 * <p><b>Weights.</b> Matrices are drawn from N(0, 1/fan_in), fan_in being the row length, so that each projection of a
 * unit-RMS input has unit-variance outputs and activations stay of order one through the layers; token embeddings
 * from N(0, 1); norm weights uniformly from [0.5, 1.5] (near one, but far enough from it that a model ignoring them
 * computes something else); Qwen2's Q/K/V biases from N(0, 0.25). Every row of every tensor has its own generator,
 * seeded from the seed, the tensor's name and the row index, so a seed always gives the same file, whatever the
 * threading. One-dimensional tensors (norms, biases, RoPE factors) are F32 whatever the weight type, as llama.cpp's
 * converter writes them; matrices get the weight type through its quantizer ({@code GgmlType.kernels().quantize},
 * llama.cpp's reference quantizers), or llama.cpp's substitute when their rows are not whole blocks of it
 * ({@link #fitType}). {@code general.file_type} names the requested type.
 *
 * <p><b>Per architecture</b> (GGML shapes, row length first; {@code hd} is the head size):
 *
 * <pre>
 *   token_embd.weight            [dim, vocab]
 *   rope_freqs.weight            [hd/2]          llama with Llama-3 RoPE scaling only
 *   blk.N.attn_norm.weight       [dim]
 *   blk.N.attn_q.weight          [dim, heads*hd]   (+ .bias [heads*hd] for qwen2)
 *   blk.N.attn_k.weight          [dim, kvHeads*hd] (+ .bias for qwen2)
 *   blk.N.attn_v.weight          [dim, kvHeads*hd] (+ .bias for qwen2)
 *   blk.N.attn_q_norm.weight     [hd]            qwen3 only
 *   blk.N.attn_k_norm.weight     [hd]            qwen3 only
 *   blk.N.attn_output.weight     [heads*hd, dim]
 *   blk.N.ffn_norm.weight        [dim]
 *   blk.N.ffn_gate.weight        [dim, ffn]
 *   blk.N.ffn_up.weight          [dim, ffn]
 *   blk.N.ffn_down.weight        [ffn, dim]
 *   output_norm.weight           [dim]
 *   output.weight                [dim, vocab]    omitted with tied embeddings
 * </pre>
 *
 * Head size is {@code dim/heads}, except for qwen3, which (like Qwen3-0.6B's 1024 wide, 16 heads of 128) uses twice
 * that, declared in {@code qwen3.attention.key_length}/{@code value_length}. RoPE base: 10,000 for llama, 500,000
 * with Llama-3 scaling, 1,000,000 for Qwen; RMS-norm epsilon 1e-5 for llama, 1e-6 for Qwen.
 *
 * <p><b>Llama-3 RoPE scaling</b> writes what llama.cpp's converter writes for {@code rope_type: llama3} (factor 8,
 * low/high frequency factors 1 and 4, original context 8192): the {@code rope_freqs.weight} tensor of per-dimension
 * frequency divisors and no {@code rope.scaling.*} keys, since llama.cpp would apply a {@code linear} scaling type on top
 * of the factors.
 */
public final class ModelSynthesizer {

    /** Llama 3.1's {@code rope_scaling}: factor, low and high frequency factors, original context. */
    static final double LLAMA3_FACTOR = 8;

    static final double LLAMA3_LOW_FREQ_FACTOR = 1;
    static final double LLAMA3_HIGH_FREQ_FACTOR = 4;
    static final double LLAMA3_ORIGINAL_CONTEXT = 8192;

    private final Architecture arch;
    private final Shape shape;
    private GgmlType type = GgmlType.F16;
    private long seed;
    private boolean tied;
    private boolean llama3Rope;
    private Path tokenizer;
    private String pre;

    public ModelSynthesizer(Architecture arch, Shape shape) {
        this.arch = Objects.requireNonNull(arch, "arch");
        this.shape = Objects.requireNonNull(shape, "shape");
    }

    /** The weight types the synthesizer can write: those with a quantizer. */
    public static Set<GgmlType> supportedTypes() {
        Set<GgmlType> types = EnumSet.noneOf(GgmlType.class);
        for (GgmlType t : GgmlType.values()) {
            if (t.kernels().canQuantize()) {
                types.add(t);
            }
        }
        return types;
    }

    /** The type of the two-dimensional weights (default F16). */
    public ModelSynthesizer type(GgmlType type) {
        if (!supportedTypes().contains(type)) {
            throw new IllegalArgumentException(
                    "cannot write %s weights (supported: %s)".formatted(type, supportedTypes()));
        }
        this.type = type;
        return this;
    }

    /** The random seed (default 0). */
    public ModelSynthesizer seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** Whether the output projection is the token embedding (no {@code output.weight}). */
    public ModelSynthesizer tied(boolean tied) {
        this.tied = tied;
        return this;
    }

    /** Llama-3 RoPE scaling (llama only): a {@code rope_freqs.weight} tensor and a RoPE base of 500,000. */
    public ModelSynthesizer llama3Rope(boolean llama3Rope) {
        if (llama3Rope && arch != Architecture.LLAMA) {
            throw new IllegalArgumentException("Llama-3 RoPE scaling applies to llama only, not " + arch.ggufName());
        }
        this.llama3Rope = llama3Rope;
        return this;
    }

    /** A folder with a Hugging Face {@code tokenizer.json} (and {@code tokenizer_config.json}) to embed. */
    public ModelSynthesizer tokenizer(Path dir) {
        this.tokenizer = dir;
        return this;
    }

    /** {@code tokenizer.ggml.pre} for the tokenizer, instead of the one recognised from its regex. */
    public ModelSynthesizer pre(String pre) {
        this.pre = pre;
        return this;
    }

    /** Head size: {@code dim/heads}, doubled for qwen3. */
    int headDim() {
        int base = shape.dim() / shape.heads();
        return arch == Architecture.QWEN3 ? 2 * base : base;
    }

    /** Writes the model to {@code out}. */
    public void write(Path out) throws IOException {
        GgufWriter w = new GgufWriter();
        String a = arch.ggufName();
        w.putString("general.architecture", a);
        w.putString("general.name", "synthetic %s %s".formatted(a, shape.name()));
        w.putString(
                "general.description",
                "Random weights (seed %d) from Spindle's synthesizer: not a trained model.".formatted(seed));
        w.alignment(32);
        w.putUInt32("general.file_type", fileType(type));

        HfTokenizer hf = tokenizer == null ? null : HfTokenizer.load(tokenizer);
        int vocab = hf == null ? shape.vocab() : hf.size();
        int hd = headDim();
        w.putUInt32(a + ".context_length", shape.context());
        w.putUInt32(a + ".embedding_length", shape.dim());
        w.putUInt32(a + ".block_count", shape.layers());
        w.putUInt32(a + ".feed_forward_length", shape.ffn());
        w.putUInt32(a + ".attention.head_count", shape.heads());
        w.putUInt32(a + ".attention.head_count_kv", shape.kvHeads());
        w.putFloat32(a + ".rope.freq_base", ropeBase());
        w.putFloat32(a + ".attention.layer_norm_rms_epsilon", arch == Architecture.LLAMA ? 1e-5f : 1e-6f);
        if (arch == Architecture.QWEN3) {
            w.putUInt32(a + ".attention.key_length", hd);
            w.putUInt32(a + ".attention.value_length", hd);
        }
        w.putUInt32(a + ".rope.dimension_count", hd);
        if (arch == Architecture.LLAMA) {
            w.putUInt32(a + ".vocab_size", vocab);
        }

        if (hf == null) {
            TokenizerMetadata.syntheticSentencePiece(w, vocab);
        } else {
            String chosen = pre != null ? pre : hf.detectPre();
            if (chosen == null) {
                throw new IllegalArgumentException("cannot tell llama.cpp's pre-tokenizer for " + tokenizer
                        + " from its split regex; name one (e.g. qwen2, llama-bpe)");
            }
            TokenizerMetadata.byteLevelBpe(w, hf, chosen);
        }

        for (TensorPlan t : plan(vocab)) {
            GgmlType tensorType = t.shape.length == 1 ? GgmlType.F32 : fitType(type, t.shape[0]);
            w.addTensor(t.name, tensorType, t.shape, target -> fill(t, tensorType, target));
        }
        w.write(out);
    }

    private float ropeBase() {
        return switch (arch) {
            case LLAMA -> llama3Rope ? 500_000f : 10_000f;
            case QWEN2, QWEN3 -> 1_000_000f;
        };
    }

    /** How a tensor's values are drawn. */
    private enum Init {
        /** N(0, scale^2). */
        NORMAL,
        /** Uniform in [0.5, 1.5]. */
        NEAR_ONE,
        /** Llama-3 RoPE frequency divisors (deterministic). */
        ROPE_FACTORS
    }

    private record TensorPlan(String name, long[] shape, Init init, double scale) {}

    /** The tensors in file order. */
    private List<TensorPlan> plan(int vocab) {
        int dim = shape.dim();
        int hd = headDim();
        int q = shape.heads() * hd;
        int kv = shape.kvHeads() * hd;
        int ffn = shape.ffn();
        List<TensorPlan> p = new ArrayList<>();
        p.add(new TensorPlan("token_embd.weight", new long[] {dim, vocab}, Init.NORMAL, 1.0));
        if (llama3Rope) {
            p.add(new TensorPlan("rope_freqs.weight", new long[] {hd / 2}, Init.ROPE_FACTORS, 0));
        }
        for (int i = 0; i < shape.layers(); i++) {
            String b = "blk." + i + ".";
            p.add(new TensorPlan(b + "attn_norm.weight", new long[] {dim}, Init.NEAR_ONE, 0));
            p.add(matrix(b + "attn_q.weight", dim, q));
            if (arch == Architecture.QWEN2) {
                p.add(new TensorPlan(b + "attn_q.bias", new long[] {q}, Init.NORMAL, 0.5));
            }
            p.add(matrix(b + "attn_k.weight", dim, kv));
            if (arch == Architecture.QWEN2) {
                p.add(new TensorPlan(b + "attn_k.bias", new long[] {kv}, Init.NORMAL, 0.5));
            }
            p.add(matrix(b + "attn_v.weight", dim, kv));
            if (arch == Architecture.QWEN2) {
                p.add(new TensorPlan(b + "attn_v.bias", new long[] {kv}, Init.NORMAL, 0.5));
            }
            if (arch == Architecture.QWEN3) {
                p.add(new TensorPlan(b + "attn_q_norm.weight", new long[] {hd}, Init.NEAR_ONE, 0));
                p.add(new TensorPlan(b + "attn_k_norm.weight", new long[] {hd}, Init.NEAR_ONE, 0));
            }
            p.add(matrix(b + "attn_output.weight", q, dim));
            p.add(new TensorPlan(b + "ffn_norm.weight", new long[] {dim}, Init.NEAR_ONE, 0));
            p.add(matrix(b + "ffn_gate.weight", dim, ffn));
            p.add(matrix(b + "ffn_up.weight", dim, ffn));
            p.add(matrix(b + "ffn_down.weight", ffn, dim));
        }
        p.add(new TensorPlan("output_norm.weight", new long[] {dim}, Init.NEAR_ONE, 0));
        if (!tied) {
            p.add(matrix("output.weight", dim, vocab));
        }
        return p;
    }

    /** A matrix of {@code rows} rows of {@code fanIn} elements, N(0, 1/fanIn). */
    private static TensorPlan matrix(String name, int fanIn, int rows) {
        return new TensorPlan(name, new long[] {fanIn, rows}, Init.NORMAL, 1 / Math.sqrt(fanIn));
    }

    private void fill(TensorPlan t, GgmlType tensorType, MemorySegment target) {
        int cols = (int) t.shape[0];
        int rows = t.shape.length == 1 ? 1 : (int) t.shape[1];
        long rowBytes = tensorType.bytesFor(cols);
        if (t.init == Init.ROPE_FACTORS) {
            encodeRow(tensorType, llama3RopeFactors(ropeBase(), 2 * cols), target, 0);
            return;
        }
        long tensorSeed = mix(seed ^ fnv1a(t.name));
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom random = new SplittableRandom(mix(tensorSeed + (r + 1) * 0x9E37_79B9_7F4A_7C15L));
            float[] row = new float[cols];
            for (int i = 0; i < cols; i++) {
                row[i] = switch (t.init) {
                    case NORMAL -> (float) (random.nextGaussian() * t.scale);
                    case NEAR_ONE -> (float) (0.5 + random.nextDouble());
                    case ROPE_FACTORS -> throw new AssertionError("written above");
                };
            }
            encodeRow(tensorType, row, target, r * rowBytes);
        });
    }

    /**
     * Llama 3.1's RoPE frequency divisors for a head of {@code headDim}: 1 for wavelengths shorter than the original
     * context over the high-frequency factor, the scaling factor for those longer than it over the low-frequency
     * factor, and a smooth interpolation between.
     */
    static float[] llama3RopeFactors(double base, int headDim) {
        float[] factors = new float[headDim / 2];
        double lowWavelength = LLAMA3_ORIGINAL_CONTEXT / LLAMA3_LOW_FREQ_FACTOR;
        double highWavelength = LLAMA3_ORIGINAL_CONTEXT / LLAMA3_HIGH_FREQ_FACTOR;
        for (int i = 0; i < factors.length; i++) {
            double frequency = 1 / Math.pow(base, 2.0 * i / headDim);
            double wavelength = 2 * Math.PI / frequency;
            if (wavelength < highWavelength) {
                factors[i] = 1;
            } else if (wavelength > lowWavelength) {
                factors[i] = (float) LLAMA3_FACTOR;
            } else {
                double smooth = (LLAMA3_ORIGINAL_CONTEXT / wavelength - LLAMA3_LOW_FREQ_FACTOR)
                        / (LLAMA3_HIGH_FREQ_FACTOR - LLAMA3_LOW_FREQ_FACTOR);
                factors[i] = (float) (1 / ((1 - smooth) / LLAMA3_FACTOR + smooth));
            }
        }
        return factors;
    }

    /** Writes one row of floats in {@code type} at {@code offset}, through the type's quantizer. */
    static void encodeRow(GgmlType type, float[] row, MemorySegment dst, long offset) {
        type.kernels().quantize(row, 0, row.length, dst, offset);
    }

    /**
     * The type a matrix with rows of {@code rowLength} gets when {@code type} is asked for: {@code type} itself when a
     * row is whole blocks of it, else llama.cpp's quantizer's substitute (Q4_K by Q5_0, Q5_K by Q5_1, Q6_K by Q8_0),
     * and F16 when even that does not fit.
     */
    static GgmlType fitType(GgmlType type, long rowLength) {
        if (rowLength % type.blockSize() == 0) {
            return type;
        }
        GgmlType substitute = switch (type) {
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 -> GgmlType.F16;
        };
        return rowLength % substitute.blockSize() == 0 ? substitute : GgmlType.F16;
    }

    /** llama.cpp's {@code general.file_type} of a file whose weights are all {@code type}. */
    static int fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q4_K -> 14; // Q4_K_S: every tensor Q4_K
            case Q5_K -> 16; // Q5_K_S
            case Q6_K -> 18;
            case BF16 -> 32;
        };
    }

    private static long fnv1a(String s) {
        long h = 0xCBF2_9CE4_8422_2325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100_0000_01B3L;
        }
        return h;
    }

    /** A 64-bit finalizer (MurmurHash3's fmix64): spreads nearby seeds apart. */
    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51_AFD7_ED55_8CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CE_B9FE_1A85_EC53L;
        return z ^ (z >>> 33);
    }
}
