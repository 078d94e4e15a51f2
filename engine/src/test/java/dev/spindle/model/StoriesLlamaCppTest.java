package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.spindle.kvcache.KvCache;
import dev.spindle.oracle.LlamaOracle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Greedy generation on the real stories260K model equals llama.cpp's, token for token. */
class StoriesLlamaCppTest {
    private static final int TOKENS = 128;
    private static final List<String> PROMPTS = List.of(
            "Once upon a time",
            "Tom and Lily went to the park",
            "The little dog was sad because",
            "One day, a big bird flew over the house. It saw a cat on the roof and said",
            "Sue");

    /** The prompts as llama.cpp tokenizes them, BOS first. */
    static List<int[]> prompts() {
        List<int[]> prompts = new ArrayList<>();
        for (int[] ids : LlamaOracle.tokenize(StoriesForwardTest.stories(), PROMPTS)) {
            int[] withBos = new int[ids.length + 1];
            withBos[0] = 1;
            System.arraycopy(ids, 0, withBos, 1, ids.length);
            prompts.add(withBos);
        }
        return prompts;
    }

    @Test
    void first128GreedyTokensEqualLlamaCpps() throws Exception {
        Path path = StoriesForwardTest.stories();
        List<int[]> prompts = prompts();
        LlamaOracle.Batch oracle = LlamaOracle.batch();
        List<LlamaOracle.Pending<int[]>> expected = new ArrayList<>();
        for (int[] prompt : prompts) {
            expected.add(oracle.greedy(path, prompt, TOKENS, true));
        }
        oracle.run();
        try (Model model = Model.open(path);
                KvCache cache = TestCaches.cache(model, 64);
                ForwardPass forward = new ForwardPass(model, cache, 256, 8, 2)) {
            // the oracle runs llama.cpp with ignore_eos, which bans EOS (id 2)
            GreedyDriver driver = new GreedyDriver(forward, 256, 8, 16).banning(2);
            for (int i = 0; i < prompts.size(); i++) {
                int[] prompt = prompts.get(i);
                int[] ours = driver.run(new int[][] {prompt}, new int[] {prompt.length}, TOKENS)[0];
                assertArrayEquals(expected.get(i).get(), ours, "prompt \"" + PROMPTS.get(i) + "\"");
            }
        }
    }
}
