package dev.spindle.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.spindle.kvcache.KvCache;
import dev.spindle.model.ForwardPass;
import dev.spindle.model.Model;
import dev.spindle.model.TestCaches;
import dev.spindle.sampling.SamplingParams;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static Path stories() {
        return Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");
    }

    private static int[] prompt(int length) {
        int[] p = new int[length];
        p[0] = 1;
        for (int i = 1; i < length; i++) {
            p[i] = 3 + (i * 37) % 500;
        }
        return p;
    }

    @Test
    void samplesOfOneRequestShareThePromptAndMatchARequestOfOne() throws Exception {
        try (Model model = Model.open(stories());
                KvCache cache = TestCaches.cache(model, 64);
                ForwardPass forward = new ForwardPass(model, cache, 64, 4, 2)) {
            Generator generator = new Generator(forward, 64, 4, new int[] {2});
            for (int length : new int[] {5, 32, 45}) { // inside the first block, exactly two blocks, a partial third
                int[] prompt = prompt(length);
                SamplingParams one = SamplingParams.builder()
                        .temperature(0)
                        .maxTokens(40)
                        .ignoreEos(true)
                        .build();
                int[] alone = generator.generate(prompt, one, (s, t, l) -> {}).tokens()[0];
                assertEquals(40, alone.length);
                List<int[]> streamed = new ArrayList<>();
                Generator.Result three = generator.generate(
                        prompt, one.toBuilder().n(3).build(), (s, t, l) -> streamed.add(new int[] {s, t}));
                for (int s = 0; s < 3; s++) {
                    assertArrayEquals(alone, three.tokens()[s], "prompt " + length + ", sample " + s);
                    assertEquals(Generator.FinishReason.LENGTH, three.finishReasons()[s]);
                }
                assertEquals(120, streamed.size());
            }
        }
    }

    @Test
    void aSeedReproducesSamplesAndSamplesDiffer() throws Exception {
        try (Model model = Model.open(stories());
                KvCache cache = TestCaches.cache(model, 64);
                ForwardPass forward = new ForwardPass(model, cache, 64, 4, 2)) {
            Generator generator = new Generator(forward, 64, 4, new int[] {2});
            SamplingParams params = SamplingParams.builder()
                    .temperature(1.0f)
                    .topP(0.95f)
                    .seed(42)
                    .n(2)
                    .maxTokens(30)
                    .ignoreEos(true)
                    .build();
            int[] prompt = prompt(9);
            int[][] first = generator.generate(prompt, params, (s, t, l) -> {}).tokens();
            int[][] second = generator.generate(prompt, params, (s, t, l) -> {}).tokens();
            assertArrayEquals(first[0], second[0]);
            assertArrayEquals(first[1], second[1]);
            assertNotEquals(Arrays.toString(first[0]), Arrays.toString(first[1]));
        }
    }

    @Test
    void stopsAtAStopTokenAndAtTheContext() throws Exception {
        try (Model model = Model.open(stories());
                KvCache cache = TestCaches.cache(model, 4);
                ForwardPass forward = new ForwardPass(model, cache, 64, 4, 2)) {
            int[] prompt = prompt(20);
            SamplingParams greedy = SamplingParams.builder()
                    .temperature(0)
                    .maxTokens(100)
                    .ignoreEos(true)
                    .build();
            Generator generator = new Generator(forward, 64, 1, new int[0]);
            Generator.Result full = generator.generate(prompt, greedy, (s, t, l) -> {});
            // 4 blocks of 16 hold 64 positions: 20 prompt tokens, then 44 generated ones fill the cache, plus one more
            assertEquals(Generator.FinishReason.CONTEXT, full.finishReasons()[0]);
            assertEquals(45, full.tokens()[0].length);
            int stop = full.tokens()[0][10];
            int firstStop = 0;
            while (full.tokens()[0][firstStop] != stop) {
                firstStop++;
            }
            Generator stopping = new Generator(forward, 64, 1, new int[] {stop});
            Generator.Result stopped = stopping.generate(
                    prompt, greedy.toBuilder().ignoreEos(false).build(), (s, t, l) -> {});
            assertEquals(Generator.FinishReason.STOP, stopped.finishReasons()[0]);
            assertArrayEquals(Arrays.copyOf(full.tokens()[0], firstStop + 1), stopped.tokens()[0]);
        }
    }
}
