package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.KvCache;
import dev.spindle.kvcache.memory.KvType;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class StoriesForwardTest {
    static Path stories() {
        return Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");
    }

    @Test
    void finalLogitsMatchTheReference() throws Exception {
        try (Model model = Model.open(stories());
                KvCache cache = TestCaches.cache(model, 16, KvType.F32);
                ForwardPass forward = new ForwardPass(model, cache, 128, 4, 1)) {
            ReferenceTransformer reference = new ReferenceTransformer(model);
            ForwardBatch batch = new ForwardBatch(128, 4);
            int[] blocks = new int[16];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = 15 - i;
            }
            SplittableRandom random = new SplittableRandom(5);
            for (int length : new int[] {1, 7, 100}) {
                int[] tokens = new int[length];
                tokens[0] = 1;
                for (int i = 1; i < length; i++) {
                    tokens[i] = random.nextInt(3, 512);
                }
                batch.clear();
                batch.add(blocks, 0, tokens, 0, length, true);
                float[] logits = forward.forward(batch);
                double[] expected = reference.logits(tokens);
                double maxDiff = 0;
                for (int i = 0; i < expected.length; i++) {
                    maxDiff = Math.max(maxDiff, Math.abs(expected[i] - logits[i]));
                }
                System.out.println("length " + length + ": max |logit - reference| = " + maxDiff);
                assertTrue(maxDiff < 1e-3, "length " + length + ": " + maxDiff);
            }
        }
    }
}
