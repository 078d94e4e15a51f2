package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.quant.ActivationFormat;
import dev.spindle.quant.GgmlType;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine's final-position logits agree with the float64 reference ({@link ReferenceTransformer}) on synthetic
 * models of every architecture and weight type, for prompts of 1, 7 and 100 tokens (prefixes of one sequence).
 *
 * <p>Both read the same quantized weights (the reference through the scalar dequantizers), so what differs is the
 * arithmetic: float against double; where the engine's KV cache is F16, the reference rounds its keys and values to
 * half precision too. Tolerances, on the largest absolute difference of any logit (logits here are of order 1 to
 * 10): {@value #TOLERANCE_F32_CACHE} with K and V stored in F32, {@value #TOLERANCE} with them in F16 (the default,
 * as llama.cpp's).
 *
 * <p>Weight types whose products round the activations to 8 bits (every quantized type: llama.cpp's semantics, which
 * the reference models, {@link ActivationFormat}) are compared differently. A difference {@code e} between the
 * engine's float activation and the reference's double one moves the rounded value by a whole step {@code d} (1/127
 * of the block's largest activation) with probability about {@code e / d}: the same error on average, but in rare
 * large jumps that the next layers carry on. Without such a flip the engine agrees to about 1e-6; with one, single
 * logits move by a few hundredths (up to about 0.6 on QWEN3, whose synthetic weights amplify every difference about
 * twenty-fold). So for these types the checks are {@value #TOLERANCE_ROUNDED} on the largest difference and
 * {@value #RELATIVE_RMS_ROUNDED} on the RMS of the difference over all logits relative to the RMS of the reference's
 * logits. A wrong scale, minimum or sub-block order gives differences of the order of the logits.
 */
class ReferenceAgreementTest {
    static final double TOLERANCE_F32_CACHE = 5e-4;
    static final double TOLERANCE = 5e-2;
    static final double RELATIVE_RMS_ROUNDED = 5e-2;

    /** The largest logit difference allowed where the activations are rounded to 8 bits. */
    static final double TOLERANCE_ROUNDED = 1.0;

    static Stream<Arguments> models() {
        return SynthModels.all().stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("models")
    void finalLogitsAgreeWithTheReference(SynthModels.Variant variant, GgmlType type) throws Exception {
        try (Model model = Model.open(SynthModels.file(variant, type))) {
            int vocab = model.config().vocabSize();
            int[] sequence = SynthModels.prompt(100, vocab, 100);
            int[] lengths = {1, 7, 100};
            double[][] exactCache = new ReferenceTransformer(model, false).logitsAfter(sequence, lengths);
            double[][] halfCache = new ReferenceTransformer(model, true).logitsAfter(sequence, lengths);
            boolean rounded = type.kernels().activationFormat() != ActivationFormat.FLOAT;
            for (int l = 0; l < lengths.length; l++) {
                int length = lengths[l];
                int[] prompt = java.util.Arrays.copyOf(sequence, length);
                for (KvType kv : List.of(KvType.F32, KvType.F16)) {
                    double[] expected = kv == KvType.F32 ? exactCache[l] : halfCache[l];
                    double tolerance = rounded ? TOLERANCE_ROUNDED : kv == KvType.F32 ? TOLERANCE_F32_CACHE : TOLERANCE;
                    float[] logits = engineLogits(model, kv, prompt);
                    double worst = 0;
                    double differences = 0;
                    double magnitudes = 0;
                    for (int i = 0; i < vocab; i++) {
                        double difference = logits[i] - expected[i];
                        worst = Math.max(worst, Math.abs(difference));
                        differences += difference * difference;
                        magnitudes += expected[i] * expected[i];
                    }
                    double relativeRms = Math.sqrt(differences / magnitudes);
                    String what = "%s %s, %d tokens, %s cache: max |logit - reference| = %.2e, relative rms %.2e"
                            .formatted(variant, type, length, kv, worst, relativeRms);
                    System.out.println(what);
                    if (rounded) {
                        assertTrue(
                                relativeRms <= RELATIVE_RMS_ROUNDED, what + ": relative rms > " + RELATIVE_RMS_ROUNDED);
                    }
                    assertTrue(worst <= tolerance, what + " > " + tolerance);
                }
            }
        }
    }

    /** The engine's logits after {@code prompt}, prefilled in one step. */
    static float[] engineLogits(Model model, KvType kv, int[] prompt) {
        int blocks = (prompt.length + TestCaches.BLOCK - 1) / TestCaches.BLOCK;
        try (KvCache cache = TestCaches.cache(model, blocks, kv);
                ForwardPass forward = new ForwardPass(model, cache, prompt.length, 1, 2)) {
            int[] table = new int[blocks];
            for (int b = 0; b < blocks; b++) {
                table[b] = blocks - 1 - b;
            }
            ForwardBatch batch = new ForwardBatch(prompt.length, 1);
            batch.add(table, 0, prompt, 0, prompt.length, true);
            return forward.forward(batch).clone();
        }
    }
}
