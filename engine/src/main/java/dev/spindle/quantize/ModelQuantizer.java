package dev.spindle.quantize;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufTensor;
import dev.spindle.gguf.GgufValue;
import dev.spindle.gguf.GgufWriter;
import dev.spindle.quant.GgmlType;
import dev.spindle.quant.TypeKernels;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

/**
 * Rewrites a GGUF model with its weight matrices in another type, as llama.cpp's {@code llama-quantize} does for a
 * plain type (its {@code Q4_0}, {@code Q8_0}, ... {@code Q4_K_S}-like choices, without importance matrix):
 *
 * <ul>
 *   <li>Every tensor of two or more dimensions whose name ends in {@code weight} becomes the requested type, except
 *       norms, MoE router weights ({@code ffn_gate_inp}) and position or token-type embeddings. One-dimensional
 *       tensors (norms, biases) and everything else are copied unchanged: F32 stays F32.
 *   <li>The output head ({@code output.weight}, or {@code token_embd.weight} when the file has no output head and the
 *       embedding is tied to it) becomes Q6_K for every quantized type but Q8_0, which it keeps: the head is the most
 *       sensitive matrix. A separate token embedding gets the requested type.
 *   <li>A row length that is not a whole number of the type's blocks falls back as llama.cpp does: Q4_K to Q5_0,
 *       Q5_K to Q5_1, Q6_K to Q8_0, and then to F16 if still not whole. llama.cpp stops with an error where the
 *       32-element types do not fit; we fall back to F16 there too, so small models (stories260K's 172-wide feed
 *       forward) can be quantized. llama.cpp reads such files.
 *   <li>Unlike llama.cpp's K-quant mixtures ({@code Q4_K_M}), no layer gets more bits than asked: {@code Q4_K} here is
 *       {@code Q4_K_S} without its upgrades of the first {@code attn_v} and {@code ffn_down} matrices.
 *   <li>Quantized inputs are dequantized and quantized again (llama.cpp's {@code --allow-requantize}); a tensor
 *       already in its chosen type is copied.
 * </ul>
 *
 * Quantizing follows llama.cpp's reference quantizers bit for bit (see the quantization module's tests), so the
 * output holds the bytes {@code llama-quantize} writes for the same choices. {@code general.file_type} and {@code
 * general.quantization_version} are set as llama.cpp sets them.
 */
public final class ModelQuantizer {

    /** Reports progress: called from worker threads as rows are done. */
    @FunctionalInterface
    public interface Progress {
        /** {@code done} of {@code total} elements are written; {@code tensor} is the one being written. */
        void update(String tensor, long done, long total);
    }

    private final GgmlType target;

    /** A quantizer to {@code target}: a type with a quantizer ({@link TypeKernels#canQuantize()}). */
    public ModelQuantizer(GgmlType target) {
        if (!target.kernels().canQuantize()) {
            throw new IllegalArgumentException("cannot quantize to " + target);
        }
        this.target = target;
    }

    public GgmlType target() {
        return target;
    }

    /** The type chosen for every tensor of {@code in}, in file order. */
    public List<TensorChoice> plan(GgufFile in) {
        boolean tied = in.findTensor("output.weight").isEmpty();
        List<TensorChoice> choices = new ArrayList<>();
        for (GgufTensor t : in.tensors()) {
            choices.add(choose(t, tied));
        }
        return choices;
    }

    private TensorChoice choose(GgufTensor t, boolean tied) {
        String name = t.name();
        if (!quantizable(t)) {
            return new TensorChoice(t, t.type(), t.rank() < 2 ? "vector" : "kept as llama.cpp keeps it");
        }
        GgmlType type = target;
        String reason = "requested";
        boolean head = name.equals("output.weight") || (tied && name.equals("token_embd.weight"));
        if (head && target.isQuantized()) {
            if (t.rowLength() % target.blockSize() != 0) {
                type = GgmlType.Q8_0;
                reason = "output head, a row of %d is not whole %s blocks".formatted(t.rowLength(), target);
            } else if (target != GgmlType.Q8_0) {
                type = GgmlType.Q6_K;
                reason = "output head";
            }
        }
        if (t.rowLength() % type.blockSize() != 0) {
            GgmlType fallback = switch (type) {
                case Q4_K -> GgmlType.Q5_0;
                case Q5_K -> GgmlType.Q5_1;
                case Q6_K -> GgmlType.Q8_0;
                default -> GgmlType.F16;
            };
            if (t.rowLength() % fallback.blockSize() != 0) {
                fallback = GgmlType.F16;
            }
            String why = "a row of %d is not whole %s blocks".formatted(t.rowLength(), type);
            reason = head ? "output head as " + type + ", but " + why : why;
            type = fallback;
        }
        return new TensorChoice(t, type, reason);
    }

    /** llama.cpp's rule for which tensors to quantize (those of the architectures Spindle runs). */
    static boolean quantizable(GgufTensor t) {
        String name = t.name();
        return t.rank() >= 2
                && name.endsWith("weight")
                && !name.contains("_norm.weight")
                && !name.contains("ffn_gate_inp.weight")
                && !name.equals("position_embd.weight")
                && !name.equals("token_types.weight");
    }

    /** {@code general.file_type}: llama.cpp's {@code llama_ftype} number for a model mostly of {@code type}. */
    static int fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q4_K -> 14; // Q4_K_S
            case Q5_K -> 16; // Q5_K_S
            case Q6_K -> 18;
            case BF16 -> 32;
        };
    }

    /**
     * Writes {@code in} with {@code choices} (from {@link #plan}) to {@code out}, quantizing rows on all processors.
     */
    public void write(GgufFile in, List<TensorChoice> choices, Path out, Progress progress) throws IOException {
        GgufWriter writer = new GgufWriter().putAll(in.metadata());
        writer.put("general.file_type", GgufValue.uint32(fileType(target)));
        writer.put("general.quantization_version", GgufValue.uint32(2));
        long total = 0;
        for (TensorChoice c : choices) {
            total += c.tensor().elementCount();
        }
        AtomicLong done = new AtomicLong();
        long all = total;
        for (TensorChoice c : choices) {
            GgufTensor t = c.tensor();
            writer.addTensor(t.name(), c.type(), t.shape(), target -> {
                if (c.copied()) {
                    MemorySegment.copy(t.data(), 0, target, 0, target.byteSize());
                    progress.update(t.name(), done.addAndGet(t.elementCount()), all);
                } else {
                    convert(t, c.type(), target, done, all, progress);
                }
            });
        }
        writer.write(out);
    }

    /** Dequantizes each row of {@code t} to floats and quantizes it to {@code type}, rows in parallel. */
    private static void convert(
            GgufTensor t, GgmlType type, MemorySegment target, AtomicLong done, long total, Progress progress) {
        int cols = Math.toIntExact(t.rowLength());
        long rows = t.rows();
        TypeKernels from = t.type().kernels();
        TypeKernels to = type.kernels();
        long inRow = t.rowBytes();
        long outRow = type.bytesFor(cols);
        // Chunks of rows, so that progress reports and scratch arrays are per chunk, not per row.
        int chunkRows = (int) Math.max(1, Math.min(rows, (1 << 20) / Math.max(1, cols)));
        int chunks = (int) ((rows + chunkRows - 1) / chunkRows);
        IntStream.range(0, chunks).parallel().forEach(chunk -> {
            float[] row = new float[cols];
            long first = (long) chunk * chunkRows;
            long last = Math.min(rows, first + chunkRows);
            for (long r = first; r < last; r++) {
                from.dequantizeScalar(t.data(), r * inRow, row, 0, cols);
                to.quantize(row, 0, cols, target, r * outRow);
            }
            progress.update(t.name(), done.addAndGet((last - first) * cols), total);
        });
    }
}
