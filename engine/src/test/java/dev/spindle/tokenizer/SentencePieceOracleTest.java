package dev.spindle.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.gguf.GgufFile;
import dev.spindle.oracle.LlamaOracle;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** stories260K's SentencePiece vocabulary tokenizes the corpus exactly as llama.cpp does. */
class SentencePieceOracleTest {

    static final Path STORIES = Path.of(System.getProperty("spindle.shared"), "models", "stories260K.gguf");

    @Test
    void corpusMatchesLlamaCpp() throws IOException {
        Tokenizer tokenizer;
        try (GgufFile f = GgufFile.open(STORIES)) {
            tokenizer = Tokenizer.fromGguf(f.metadata());
        }
        List<String> corpus = TokenizerCorpus.generate(260, 2400);
        List<int[]> expected = LlamaOracle.tokenize(STORIES, corpus);
        OracleComparison.assertSameIds(tokenizer, corpus, expected, "stories260K");
    }

    /**
     * With byte fallback, SentencePiece is lossless for plain text: special-token spellings read as text, and the
     * space encoding adds in front comes off again. (Text around a parsed special token gains that space, so
     * spellings of special tokens are read as text here.)
     */
    @Test
    void decodingGivesBackEveryCorpusString() throws IOException {
        Tokenizer tokenizer;
        try (GgufFile f = GgufFile.open(STORIES)) {
            tokenizer = Tokenizer.fromGguf(f.metadata());
        }
        List<String> failures = new ArrayList<>();
        for (String s : TokenizerCorpus.generate(260, 2400)) {
            String expected = new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
            String decoded = tokenizer.decode(tokenizer.encode(s, false, false), true);
            if (!decoded.equals(expected)) {
                failures.add(OracleComparison.escape(s) + " -> " + OracleComparison.escape(decoded));
            }
        }
        assertTrue(
                failures.isEmpty(),
                failures.size() + " strings differ, first: "
                        + failures.stream().limit(5).toList());
        assertEquals(
                List.of(1, 403, 407, 261, 378),
                Arrays.stream(tokenizer.encode("Once upon a time", true, false))
                        .boxed()
                        .toList());
    }
}
