package dev.spindle.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.gguf.GgufFile;
import dev.spindle.gguf.GgufTensor;
import dev.spindle.oracle.LlamaOracle;
import dev.spindle.quant.GgmlType;
import dev.spindle.quant.QuantizedMatrix;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code spindle quantize}'s model rewriting, on stories260K (F32, dim 64, feed-forward 172, vocabulary 512). */
class ModelQuantizerTest {

    static final Path STORIES = Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");

    @TempDir
    Path dir;

    private static Map<String, GgmlType> choices(GgmlType target) throws IOException {
        try (GgufFile in = GgufFile.open(STORIES)) {
            return new ModelQuantizer(target)
                    .plan(in).stream().collect(Collectors.toMap(c -> c.tensor().name(), TensorChoice::type));
        }
    }

    @Test
    void matricesTakeTheTypeVectorsStayF32TheHeadGetsMoreBitsAndOddRowsFallBack() throws IOException {
        Map<String, GgmlType> q4 = choices(GgmlType.Q4_0);
        assertEquals(GgmlType.Q4_0, q4.get("blk.0.attn_q.weight"));
        assertEquals(GgmlType.Q4_0, q4.get("blk.0.ffn_up.weight"), "rows of 64: whole Q4_0 blocks");
        assertEquals(GgmlType.F32, q4.get("blk.0.attn_norm.weight"));
        assertEquals(GgmlType.F32, q4.get("output_norm.weight"));
        // ffn_down's rows are 172 long: not whole blocks of 32, so llama.cpp would stop; we write F16.
        assertEquals(GgmlType.F16, q4.get("blk.0.ffn_down.weight"));
        assertEquals(GgmlType.Q4_0, q4.get("token_embd.weight"), "an embedding apart from the head");
        // The output head gets more bits: Q6_K needs rows of 256, so Q8_0.
        assertEquals(GgmlType.Q8_0, q4.get("output.weight"));

        Map<String, GgmlType> q4k = choices(GgmlType.Q4_K);
        assertEquals(GgmlType.Q5_0, q4k.get("blk.0.attn_q.weight"), "llama.cpp's fallback for Q4_K");
        assertEquals(GgmlType.Q5_1, choices(GgmlType.Q5_K).get("blk.0.attn_q.weight"));
        assertEquals(GgmlType.Q8_0, choices(GgmlType.Q6_K).get("blk.0.attn_q.weight"));
        assertEquals(GgmlType.F16, choices(GgmlType.F16).get("output.weight"), "no head rule for float types");
    }

    @Test
    void quantizedWeightsReadBackWithinTheirTypesErrorAndLlamaCppRunsTheFile() throws IOException {
        Path q8 = dir.resolve("stories-q8_0.gguf");
        try (GgufFile in = GgufFile.open(STORIES)) {
            ModelQuantizer quantizer = new ModelQuantizer(GgmlType.Q8_0);
            quantizer.write(in, quantizer.plan(in), q8, (tensor, done, total) -> {});
        }
        try (GgufFile in = GgufFile.open(STORIES);
                GgufFile out = GgufFile.open(q8)) {
            assertEquals(7, out.metadata().getInt("general.file_type", -1), "llama.cpp's MOSTLY_Q8_0");
            assertEquals(
                    in.metadata().keys().size() + 2,
                    out.metadata().keys().size(),
                    "plus file type, quantization version");
            assertEquals(in.tensors().size(), out.tensors().size());
            int quantized = 0;
            for (GgufTensor source : in.tensors()) {
                GgufTensor written = out.tensor(source.name());
                assertArrayEquals(source.shape(), written.shape(), source.name());
                if (written.type() == GgmlType.F32) {
                    assertEquals(-1, source.data().mismatch(written.data()), source.name() + " copied");
                    continue;
                }
                quantized++;
                assertCloseRowByRow(source, written);
            }
            assertTrue(quantized >= 10, quantized + " tensors quantized");
        }
        // llama.cpp loads our file and writes the same story as from the F32 model for a while.
        LlamaOracle.Batch batch = LlamaOracle.batch();
        LlamaOracle.Pending<int[]> original = batch.greedy(STORIES, "Once upon a time", 24, true);
        LlamaOracle.Pending<int[]> quantized = batch.greedy(q8, "Once upon a time", 24, true);
        batch.run();
        assertEquals(24, quantized.get().length);
        int same = 0;
        while (same < 24 && original.get()[same] == quantized.get()[same]) {
            same++;
        }
        assertTrue(same >= 16, "Q8_0 and F32 stories agree for " + same + " tokens");
    }

    /** Every element within one Q8_0 step (max|x|/127 of its block, plus the half-precision scale's rounding). */
    private static void assertCloseRowByRow(GgufTensor source, GgufTensor written) {
        int cols = (int) source.rowLength();
        int rows = (int) source.rows();
        QuantizedMatrix before = new QuantizedMatrix(source.type(), rows, cols, source.data());
        QuantizedMatrix after = new QuantizedMatrix(written.type(), rows, cols, written.data());
        float[] x = new float[cols];
        float[] y = new float[cols];
        int block = written.type().blockSize();
        for (int r = 0; r < rows; r++) {
            before.dequantizeRow(r, x, 0);
            after.dequantizeRow(r, y, 0);
            for (int b = 0; b < cols; b += block) {
                float amax = 0;
                for (int i = b; i < b + block; i++) {
                    amax = Math.max(amax, Math.abs(x[i]));
                }
                // F16: half an ulp, and subnormal halves step by 2^-24.
                float bound = written.type() == GgmlType.F16
                        ? amax * 0x1p-11f + 0x1p-25f
                        : amax / 127 * 0.51f + amax * 0x1p-10f;
                for (int i = b; i < b + block; i++) {
                    assertEquals(x[i], y[i], bound, source.name() + " row " + r + " element " + i);
                }
            }
        }
    }

    @Test
    void everyRequestedTypeWritesAFileThatReadsBack() throws IOException {
        for (GgmlType type : List.of(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.BF16)) {
            Path out = dir.resolve("stories-" + type + ".gguf");
            try (GgufFile in = GgufFile.open(STORIES)) {
                ModelQuantizer quantizer = new ModelQuantizer(type);
                quantizer.write(in, quantizer.plan(in), out, (tensor, done, total) -> {});
            }
            try (GgufFile back = GgufFile.open(out)) {
                assertEquals(type, back.tensor("blk.1.attn_v.weight").type());
                assertEquals(ModelQuantizer.fileType(type), back.metadata().getInt("general.file_type", -1));
            }
            assertTrue(Files.size(out) < Files.size(STORIES), type + " is smaller than F32");
        }
    }
}
