package dev.spindle.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.model.Model;
import dev.spindle.sampling.SamplingParams;
import dev.spindle.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Prompt in, streamed text out, on stories260K: the text, where it stops, and how the KV cache is sized. */
class TextGeneratorTest {
    private static Model model;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void open() throws Exception {
        model = Model.open(Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf"));
        tokenizer = Tokenizer.fromGguf(model.file().metadata());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static SamplingParams greedy(int maxTokens) {
        return SamplingParams.builder().temperature(0).maxTokens(maxTokens).build();
    }

    private static int[] once() {
        return tokenizer.encode("Once upon a time", true, true);
    }

    /** A generator whose KV cache is sized from the requests. */
    private static TextGenerator sizedFromRequests(int context, int reserve) {
        return new TextGenerator(model, tokenizer, 2, context, KvType.F16, 0, reserve);
    }

    @Test
    void theStreamedPiecesAreTheDecodedTokens() {
        try (TextGenerator g = sizedFromRequests(model.config().contextLength(), 0)) {
            List<String> pieces = new ArrayList<>();
            TextGenerator.Completion c = g.generate(once(), greedy(64), List.of(), t -> pieces.add(t.toString()));
            assertEquals(64, c.tokens().length);
            assertEquals(Generator.FinishReason.LENGTH, c.finishReason());
            assertEquals(tokenizer.decode(c.tokens(), false), String.join("", pieces));
            assertEquals(String.join("", pieces), c.text());
            assertTrue(c.text().startsWith(", there was a little girl named Lily."), c.text());
            assertTrue(pieces.stream().noneMatch(String::isEmpty));
            assertEquals(5, c.promptTokens());
            assertEquals(63, c.decodedTokens());
            assertNull(c.stopString());
        }
    }

    @Test
    void aStopStringEndsTheRequestAndIsNotEmitted() {
        try (TextGenerator g = sizedFromRequests(model.config().contextLength(), 0)) {
            String full = g.generate(once(), greedy(64), List.of(), t -> {}).text();
            StringBuilder streamed = new StringBuilder();
            TextGenerator.Completion c = g.generate(once(), greedy(64), List.of("ball", "Lily"), streamed::append);
            assertEquals(full.substring(0, full.indexOf("Lily")), c.text());
            assertEquals(c.text(), streamed.toString());
            assertEquals("Lily", c.stopString());
            assertEquals(Generator.FinishReason.STOP, c.finishReason());
            assertTrue(c.tokens().length < 64);
            // the tokens up to the one that completed the stop string, not one more
            assertTrue(tokenizer.decode(c.tokens(), false).endsWith("Lily"));
        }
    }

    @Test
    void theContextLimitsTheTokensAndThePrompt() {
        try (TextGenerator g = sizedFromRequests(16, 0)) {
            TextGenerator.Completion c = g.generate(once(), greedy(100), List.of(), t -> {});
            assertEquals(11, c.tokens().length); // 5 of prompt, 11 generated
            assertEquals(Generator.FinishReason.CONTEXT, c.finishReason());
            int[] long17 = Arrays.copyOf(once(), 17);
            Arrays.fill(long17, 5, 17, 300);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> g.generate(long17, greedy(4), List.of(), t -> {}));
            assertTrue(e.getMessage().contains("more than the context of 16 tokens"), e.getMessage());
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> sizedFromRequests(model.config().contextLength() + 1, 0));
    }

    @Test
    void aCacheSizedFromTheRequestsGrowsByDoublingAndKeepsPrefixesUntilItGrows() {
        int[] prompt = new int[40];
        prompt[0] = 1;
        for (int i = 1; i < prompt.length; i++) {
            prompt[i] = 3 + (i * 37) % 500;
        }
        try (TextGenerator g = sizedFromRequests(model.config().contextLength(), 0)) {
            assertEquals(0, g.kvCacheTokens());
            g.generate(Arrays.copyOf(prompt, 5), greedy(10), List.of(), t -> {});
            assertEquals(16, g.kvCacheTokens()); // 15 tokens: one block of 16

            TextGenerator.Completion grown = g.generate(Arrays.copyOf(prompt, 17), greedy(1), List.of(), t -> {});
            assertEquals(32, g.kvCacheTokens()); // 18 tokens: two blocks
            assertEquals(0, grown.cachedPromptTokens()); // a new cache starts empty

            TextGenerator.Completion reused = g.generate(Arrays.copyOf(prompt, 20), greedy(8), List.of(), t -> {});
            assertEquals(32, g.kvCacheTokens());
            assertEquals(16, reused.cachedPromptTokens()); // the previous request's full block

            g.generate(prompt, greedy(1), List.of(), t -> {});
            assertEquals(64, g.kvCacheTokens()); // 41 tokens: three blocks, but growth at least doubles

            try (TextGenerator fresh = sizedFromRequests(model.config().contextLength(), 0)) {
                int[] computed = fresh.generate(Arrays.copyOf(prompt, 20), greedy(8), List.of(), t -> {})
                        .tokens();
                assertArrayEquals(computed, reused.tokens());
            }
        }
        try (TextGenerator reserved = sizedFromRequests(model.config().contextLength(), 100)) {
            reserved.generate(Arrays.copyOf(prompt, 5), greedy(1), List.of(), t -> {});
            assertEquals(112, reserved.kvCacheTokens());
        }
    }

    @Test
    void aFixedCacheHoldsWhatItsBudgetHoldsAndNoMore() {
        // stories260K keeps 5 layers x 4 KV heads x 8 dims in F16: 10 KiB per block of 16 tokens
        try (TextGenerator g =
                new TextGenerator(model, tokenizer, 2, model.config().contextLength(), KvType.F16, 20 << 10, 0)) {
            assertEquals(32, g.kvCacheTokens());
            TextGenerator.Completion c = g.generate(once(), greedy(64), List.of(), t -> {});
            assertEquals(Generator.FinishReason.CONTEXT, c.finishReason());
            assertEquals(28, c.tokens().length); // 32 positions: 5 of prompt, 27 generated ones, and a last token
            assertEquals(32, g.kvCacheTokens());
            int[] long40 = new int[40];
            Arrays.fill(long40, 300);
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> g.generate(long40, greedy(1), List.of(), t -> {}));
            assertTrue(e.getMessage().contains("the KV cache holds 32"), e.getMessage());
        }
        assertThrows(
                IllegalArgumentException.class,
                () -> new TextGenerator(model, tokenizer, 2, 64, KvType.F16, 1 << 10, 0)); // not one block
    }

    @Test
    void llamaCppAttentionNumericsAreRefusedWithoutAnF16Cache() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new TextGenerator(model, tokenizer, 2, 64, KvType.F32, AttentionNumerics.LLAMA_CPP, 0, 0));
        assertTrue(e.getMessage().contains("default F16 cache only, not F32"), e.getMessage());
    }
}
