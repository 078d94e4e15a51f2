package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.quant.GgmlType;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A sequence's greedy output does not depend on what else shares its steps, nor on how its prompt is chunked: every
 * per-token computation is the same whatever the batch. Checked on the tokens and, stronger, on the bits of every
 * logit the sequence gets.
 */
class BatchInvarianceTest {

    private static int[] prompt(SplittableRandom random, int length, int vocab) {
        int[] tokens = new int[length];
        tokens[0] = 1;
        for (int i = 1; i < length; i++) {
            tokens[i] = random.nextInt(3, vocab);
        }
        return tokens;
    }

    static void assertBatchInvariant(Path modelPath, int steps) throws Exception {
        assertBatchInvariant(modelPath, steps, AttentionNumerics.ONLINE);
    }

    static void assertBatchInvariant(Path modelPath, int steps, AttentionNumerics numerics) throws Exception {
        try (Model model = Model.open(modelPath);
                KvCache cache = TestCaches.cache(model, 8 * 16, KvType.F16, numerics);
                ForwardPass forward = new ForwardPass(model, cache, 512, 8, 2)) {
            int vocab = model.config().vocabSize();
            GreedyDriver driver = new GreedyDriver(forward, 512, 8, 16);
            SplittableRandom random = new SplittableRandom(11);
            int[] lengths = {70, 3, 120, 1, 33, 64, 9, 150};
            int[][] prompts = new int[8][];
            for (int s = 0; s < 8; s++) {
                prompts[s] = prompt(random, lengths[s], vocab);
            }
            int[] subject = prompts[0];
            int[] alone = driver.run(new int[][] {subject}, new int[] {subject.length}, steps)[0];
            long aloneBits = driver.checksums()[0];
            for (int chunk : new int[] {1, 7, 64}) {
                int[] chunked = driver.run(new int[][] {subject}, new int[] {chunk}, steps)[0];
                assertArrayEquals(alone, chunked, "prompt prefilled in chunks of " + chunk);
                assertEquals(aloneBits, driver.checksums()[0], "logit bits, prompt in chunks of " + chunk);
            }
            int[][] together = driver.run(prompts, new int[] {70, 1, 7, 64, 5, 64, 2, 100}, steps);
            long[] togetherBits = driver.checksums();
            assertArrayEquals(alone, together[0], "alone vs. with 7 other sequences");
            assertEquals(aloneBits, togetherBits[0], "logit bits, alone vs. with 7 other sequences");
            for (int s = 1; s < 8; s++) {
                int[] own = driver.run(new int[][] {prompts[s]}, new int[] {prompts[s].length}, steps)[0];
                assertArrayEquals(own, together[s], "sequence " + s + " alone vs. in the batch of 8");
                assertEquals(driver.checksums()[0], togetherBits[s], "logit bits of sequence " + s);
            }
        }
    }

    @Test
    void stories260K() throws Exception {
        assertBatchInvariant(StoriesForwardTest.stories(), 32);
    }

    /**
     * With llama.cpp's arithmetic, as {@link StoriesQuantizedLlamaCppTest} runs it: its attention kernel, the F16
     * {@code ffn_down} of odd width on halves, 8-bit activations (llama.cpp itself is batch-invariant there too).
     */
    @Test
    void stories260KQuantizedWithLlamaCppArithmetic() throws Exception {
        assertBatchInvariant(StoriesQuantizedLlamaCppTest.quantized(GgmlType.Q5_1), 32, AttentionNumerics.LLAMA_CPP);
    }

    /** Every weight type's multi-token kernels must replay its single-token kernel exactly. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(
            value = GgmlType.class,
            names = {"F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"})
    void synthetic(GgmlType type) throws Exception {
        assertBatchInvariant(SynthModels.file(SynthModels.Variant.QWEN2, type), 12);
    }
}
