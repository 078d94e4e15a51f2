package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.gguf.GgufFile;
import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.oracle.LlamaOracle;
import dev.spindle.quant.GgmlType;
import dev.spindle.quantize.ModelQuantizer;
import dev.spindle.quantize.TensorChoice;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * stories260K quantized by {@code spindle quantize} ({@link ModelQuantizer}) to Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1:
 * greedy generation equals llama.cpp's on the same file for 64 tokens. (No K-quant applies: every row of
 * stories260K is 64 or 172 long, not a multiple of 256, so the quantizer would keep its fallbacks.)
 *
 * <p>Equality needs the same bits, not merely close ones: llama.cpp rounds every product's activations to 8 bits per
 * block of 32, so a last-bit difference anywhere upstream can move an activation by a whole step and this small
 * model's logits by a few hundredths, which often decides between its two best tokens. So we compute what llama.cpp
 * computes, operation by operation:
 *
 * <ul>
 *   <li>llama.cpp's default attention (F16 cache, no flash attention, {@link LlamaOracle.Attention#DEFAULT}),
 *       reproduced by the cache's {@link AttentionNumerics#LLAMA_CPP} kernels: query and softmax weights rounded to
 *       halves, ggml's dot-product orders, its vector exponential, a two-pass softmax;
 *   <li>8-bit products of Q8_0, Q4_1, Q5_0, Q5_1 in ggml's AVX2 lane order (quantization module), the 172-wide F16
 *       {@code ffn_down} on activations rounded to halves in {@code ggml_vec_dot_f16}'s order ({@code
 *       ActivationFormat.F16});
 *   <li>SiLU with ggml's vector exponential and glibc's {@code expf} for a row's tail, RoPE's angles as ggml's float
 *       cache with glibc's {@code cosf}/{@code sinf} and fused rotations ({@code GgmlMath}); rmsnorm as before (sum
 *       of squares in double);
 *   <li>Q4_0 as llama.cpp runs it on x86: matrices whose row count is a multiple of 8 (the attention projections)
 *       repacked, one accumulator per (row, token) and a block's whole integer sum per FMA; the 172-row {@code
 *       ffn_gate}/{@code ffn_up}, which it does not repack, in {@code ggml_vec_dot_q4_0_q8_0}'s lane order.
 * </ul>
 *
 * <p>Every step was checked against ggml itself ({@code LlamaCppArithmeticTest}, the quantization module's {@code
 * LlamaCppReferenceTest}). Measured: 25 of 25 equal for all 64 tokens. Where a run parts, the failure names the step,
 * both tokens and the float64 reference's top-2 margin there (how near a tie it was), to tell a near-tie slip from a
 * real error.
 */
class StoriesQuantizedLlamaCppTest {
    private static final int TOKENS = 64;
    private static final List<GgmlType> TYPES =
            List.of(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1);

    static Path quantized(GgmlType type) throws Exception {
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "stories-quantized");
        Files.createDirectories(dir);
        Path out = dir.resolve("stories260K-" + type.name().toLowerCase() + ".gguf");
        try (GgufFile in = GgufFile.open(StoriesForwardTest.stories())) {
            ModelQuantizer quantizer = new ModelQuantizer(type);
            List<TensorChoice> plan = quantizer.plan(in);
            assertTrue(
                    plan.stream().anyMatch(c -> c.type() == type),
                    "the quantizer must quantize some tensor to " + type + ": " + plan);
            quantizer.write(in, plan, out, (tensor, done, total) -> {});
        }
        return out;
    }

    @Test
    void greedyEqualsLlamaCpps() throws Exception {
        List<int[]> prompts = StoriesLlamaCppTest.prompts();
        List<Path> files = new ArrayList<>();
        LlamaOracle.Batch oracle = LlamaOracle.batch();
        List<LlamaOracle.Pending<int[]>> expected = new ArrayList<>();
        for (GgmlType type : TYPES) {
            Path file = quantized(type);
            files.add(file);
            for (int[] prompt : prompts) {
                expected.add(oracle.greedy(file, prompt, TOKENS, true, LlamaOracle.Attention.DEFAULT));
            }
        }
        oracle.run();
        List<String> failures = new ArrayList<>();
        int exact = 0;
        int oursIsReferenceBest = 0;
        int parted = 0;
        int next = 0;
        for (int f = 0; f < files.size(); f++) {
            try (Model model = Model.open(files.get(f));
                    KvCache cache = TestCaches.cache(model, 64, KvType.F16, AttentionNumerics.LLAMA_CPP);
                    ForwardPass forward = new ForwardPass(model, cache, 256, 1, 2)) {
                ReferenceTransformer reference = new ReferenceTransformer(model, true);
                for (int[] prompt : prompts) {
                    int[] theirs = expected.get(next++).get();
                    int[] ours = new GreedyDriver(forward, 256, 1, 16)
                            .banning(2)
                            .run(new int[][] {prompt}, new int[] {prompt.length}, TOKENS)[0];
                    int step = 0;
                    while (step < TOKENS && ours[step] == theirs[step]) {
                        step++;
                    }
                    if (step == TOKENS) {
                        exact++;
                        continue;
                    }
                    parted++;
                    int[] prefix = Arrays.copyOf(prompt, prompt.length + step);
                    System.arraycopy(ours, 0, prefix, prompt.length, step);
                    double[] logits = reference.logits(prefix);
                    double margin = SynthLlamaCppTest.topTwoMargin(logits, 2);
                    boolean oursBest = logits[ours[step]] >= logits[theirs[step]];
                    if (oursBest) {
                        oursIsReferenceBest++;
                    }
                    String line = "%s, prompt of %d: parts at step %d (ours %d, llama.cpp's %d), reference margin %.3g"
                            .formatted(TYPES.get(f), prompt.length, step, ours[step], theirs[step], margin);
                    System.out.println(line);
                    failures.add(line);
                }
            }
        }
        System.out.printf(
                "%d of %d equal llama.cpp's for all %d tokens; where they part, the reference prefers our token in"
                        + " %d of %d%n",
                exact, next, TOKENS, oursIsReferenceBest, parted);
        assertTrue(failures.isEmpty(), "generations that part from llama.cpp's:\n" + String.join("\n", failures));
    }
}
