package dev.spindle.tokenizer;

import dev.spindle.gguf.GgufFile;
import dev.spindle.oracle.LlamaOracle;
import java.io.IOException;
import java.nio.file.Path;
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
}
