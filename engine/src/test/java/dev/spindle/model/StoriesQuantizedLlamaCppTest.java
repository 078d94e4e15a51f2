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
 * greedy generation equals llama.cpp's on the same file for 64 tokens, up to near-ties. (No K-quant applies: every
 * row of stories260K is 64 or 172 long, not a multiple of 256, so the quantizer would keep its fallbacks.)
 *
 * <p>Our products with these weights are llama.cpp's bit for bit: both round the activations to 8 bits per block
 * of 32 and add the blocks in the same lanes and order (the quantization module's {@code LlamaCppReferenceTest}
 * checks it against ggml itself). What still differs is the input of the products, in the last bits: llama.cpp
 * sums rmsnorm's squares in double, computes RoPE's angles, SiLU and softmax with its own exponentials and
 * cosines, rounds Q and the softmax weights to F16 for its attention products with the F16 cache, and rounds the
 * activations of F16 products (stories260K's 172-wide {@code ffn_down}, kept in F16) to F16. A last-bit difference
 * that lands on a step of the 8-bit rounding moves an activation by a step (1/127 of its block's largest), and the
 * logits of this small model by a few hundredths. So where the two best tokens are that close, llama.cpp and we may
 * pick differently. The rule: the outputs may part only at a step where the reference's top-2 margin (the float64
 * reference with llama.cpp's rounding of activations and of the F16 cache) is below {@value #TOLERANCE}, and are not
 * compared after it. Measured: 11 of 25 equal for all 64 tokens; where they part, the reference's margin is at most
 * 0.103 and it prefers our token in 11 of 14. */
class StoriesQuantizedLlamaCppTest {
    static final double TOLERANCE = 0.15;
    static final LlamaOracle.Attention ATTENTION =
            LlamaOracle.Attention.valueOf(System.getProperty("exact.attention", "DEFAULT"));
    static final KvType CACHE = KvType.F16;
    static final AttentionNumerics NUMERICS =
            AttentionNumerics.valueOf(System.getProperty("exact.numerics", "LLAMA_CPP"));

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
    void greedyEqualsLlamaCppsUpToNearTies() throws Exception {
        List<int[]> prompts = StoriesLlamaCppTest.prompts();
        List<Path> files = new ArrayList<>();
        LlamaOracle.Batch oracle = LlamaOracle.batch();
        List<LlamaOracle.Pending<int[]>> expected = new ArrayList<>();
        for (GgmlType type : TYPES) {
            Path file = quantized(type);
            files.add(file);
            for (int[] prompt : prompts) {
                expected.add(oracle.greedy(file, prompt, TOKENS, true, ATTENTION));
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
                    KvCache cache = TestCaches.cache(model, 64, CACHE, NUMERICS);
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
                    if (!(margin < TOLERANCE)) {
                        failures.add(line);
                    }
                }
            }
        }
        System.out.printf(
                "%d of %d equal llama.cpp's for all %d tokens; where they part, the reference prefers our token in"
                        + " %d of %d%n",
                exact, next, TOKENS, oursIsReferenceBest, parted);
        assertTrue(failures.isEmpty(), "divergences at clear margins:\n" + String.join("\n", failures));
    }
}
