package dev.spindle.oracle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.gguf.GgufFile;
import dev.spindle.oracle.LlamaOracle.ChatMessage;
import dev.spindle.oracle.LlamaOracle.Pending;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The oracle answers as llama.cpp does: every request below runs in one forked JVM. */
class LlamaOracleTest {

    static final Path STORIES = Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");

    /** llama.cpp's greedy continuation of "Once upon a time", recorded in shared/models/README.md. */
    static final String STORY = ", there was a little girl named Lily. She loved to play outside in the park. One day,"
            + " she saw a big, red ball. She wanted to play with it, but it was too high.\nLily's mom said";

    static final List<String> TEXTS = List.of(
            "Once upon a time",
            "",
            "héllo wörld ✓ 你好 🦙",
            "lone \uD800 surrogate",
            "lone ? surrogate",
            "tabs\tand\nnewlines \"quoted\" \\ back");

    static Pending<int[]> greedyText;
    static Pending<int[]> greedyIds;
    static Pending<int[]> greedyUntilEos;
    static Pending<List<int[]>> tokens;
    static Pending<byte[]> detokenized;
    static Pending<String> chat;
    static Pending<int[]> missingModel;

    @BeforeAll
    static void askLlamaCpp() {
        LlamaOracle.Batch batch = LlamaOracle.batch();
        greedyText = batch.greedy(STORIES, "Once upon a time", 64, true);
        greedyIds = batch.greedy(STORIES, new int[] {1, 403, 407, 261, 378}, 64, true);
        greedyUntilEos = batch.greedy(STORIES, "Once upon a time", 400, false);
        tokens = batch.tokenize(STORIES, TEXTS);
        detokenized = batch.detokenize(STORIES, new int[] {1, 403, 407, 261, 378, 2});
        chat = batch.applyChatTemplate(
                STORIES, List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "hi")), true, true);
        missingModel = batch.greedy(Path.of("/nonexistent/model.gguf"), "x", 4, true);
        batch.run();
    }

    /** Decodes SentencePiece ids with the vocabulary of the file, independently of llama.cpp. */
    static String decode(int[] ids) throws IOException {
        try (GgufFile f = GgufFile.open(STORIES)) {
            List<String> vocab = f.metadata().getStringArray("tokenizer.ggml.tokens");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int id : ids) {
                String piece = vocab.get(id);
                if (piece.matches("<0x[0-9A-F]{2}>")) {
                    out.write(Integer.parseInt(piece.substring(3, 5), 16));
                } else {
                    out.writeBytes(piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8));
                }
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void greedyContinuationOfStories260KIsTheRecordedStory() throws IOException {
        int[] ids = greedyText.get();
        assertEquals(64, ids.length);
        assertEquals(STORY, decode(ids));
    }

    @Test
    void aTokenPromptGivesTheSameContinuationAsItsText() {
        assertArrayEquals(greedyText.get(), greedyIds.get());
    }

    @Test
    void withoutIgnoreEosTheStoryRunsToTheLimit() {
        // llama2.c's TinyStories data separates stories with BOS, never EOS: the model does not stop on its own.
        int[] ids = greedyUntilEos.get();
        assertEquals(400, ids.length);
        assertArrayEquals(greedyText.get(), java.util.Arrays.copyOf(ids, 64));
    }

    @Test
    void tokenizationOmitsBosAndCarriesAnyString() {
        List<int[]> t = tokens.get();
        assertEquals(TEXTS.size(), t.size());
        assertArrayEquals(new int[] {403, 407, 261, 378}, t.get(0), "shared/models/README.md");
        assertArrayEquals(new int[0], t.get(1));
        assertTrue(t.get(2).length > 5, "unicode falls back to byte tokens");
        // The binding encodes strings with String.getBytes(UTF_8): an unpaired surrogate reaches llama.cpp as '?'.
        assertArrayEquals(t.get(4), t.get(3));
        assertTrue(t.get(5).length > 5);
    }

    @Test
    void detokenizationRendersSpecialTokens() {
        assertEquals("<s> Once upon a time</s>", new String(detokenized.get(), StandardCharsets.UTF_8));
    }

    @Test
    void chatTemplateFallsBackToChatMlWithoutATemplate() {
        assertEquals(
                "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                chat.get());
    }

    @Test
    void aFailingRequestFailsAlone() {
        LlamaOracleException e = assertThrows(LlamaOracleException.class, missingModel::get);
        assertTrue(e.getMessage().contains("could not load /nonexistent/model.gguf"), e.getMessage());
        assertEquals(64, greedyText.get().length);
    }

    @Test
    void resultsExistOnlyAfterTheBatchRuns() {
        LlamaOracle.Batch batch = LlamaOracle.batch();
        Pending<int[]> pending = batch.tokenize(STORIES, "x");
        assertThrows(IllegalStateException.class, pending::get);
    }
}
