package dev.spindle.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Streaming text from generated ids: never a broken character, never the start of a stop string too early. */
class IncrementalDetokenizerTest {

    static final Tokenizer LLAMA = HuggingFaceVocabularies.llama3();

    /** Feeds the ids of {@code text} one by one and records what each step emitted. */
    static List<String> stream(IncrementalDetokenizer d, String text) {
        List<String> steps = new java.util.ArrayList<>();
        for (int id : LLAMA.encode(text, false, true)) {
            steps.add(d.accept(id));
        }
        return steps;
    }

    @Test
    void aCharacterSplitOverTokensIsHeldUntilComplete() {
        IncrementalDetokenizer d = LLAMA.detokenizer(List.of(), true);
        List<String> steps = stream(d, "🦙");
        assertTrue(steps.size() > 1);
        for (int i = 0; i < steps.size() - 1; i++) {
            assertEquals("", steps.get(i), "no partial character is emitted");
        }
        assertEquals("🦙", steps.getLast());
    }

    @Test
    void everyEmittedPieceIsWholeAndTheyAddUpToTheText() {
        String text = "Grüße 👩‍💻 中文 and ASCII";
        IncrementalDetokenizer d = LLAMA.detokenizer(List.of(), true);
        StringBuilder all = new StringBuilder();
        for (String step : stream(d, text)) {
            assertFalse(step.contains("\uFFFD"), step);
            all.append(step);
        }
        d.flush(all);
        assertEquals(text, all.toString());
    }

    @Test
    void textThatMayStartAStopStringIsHeldBackAndDroppedWhenItCompletes() {
        IncrementalDetokenizer d = LLAMA.detokenizer(List.of("STOP here"), true);
        StringBuilder out = new StringBuilder();
        boolean stopped = false;
        for (int id : LLAMA.encode("Hello STOP there STOP here and more", false, true)) {
            stopped = d.accept(id, out);
            if (stopped) {
                break;
            }
        }
        assertTrue(stopped);
        assertTrue(d.stopped());
        assertEquals("STOP here", d.stopString());
        assertEquals("Hello STOP there ", out.toString());
    }

    @Test
    void heldTextIsReleasedWhenItTurnsOutNotToBeAStopString() {
        IncrementalDetokenizer d = LLAMA.detokenizer(List.of("</answer>"), true);
        StringBuilder out = new StringBuilder();
        for (int id : LLAMA.encode("a </ans", false, true)) {
            d.accept(id, out);
        }
        assertEquals("a ", out.toString(), "'</ans' may begin the stop string");
        for (int id : LLAMA.encode("wer", false, true)) {
            d.accept(id, out);
        }
        assertEquals("a </answer".length(), out.length() + "</answer".length(), "still a possible prefix");
        d.flush(out);
        assertEquals("a </answer", out.toString());
        assertFalse(d.stopped());
    }

    @Test
    void specialTokensStreamOnlyWhenAsked() {
        int[] ids = LLAMA.encode("<|eot_id|>", false, true);
        assertEquals("", LLAMA.detokenizer(List.of(), false).accept(ids[0]));
        assertEquals("<|eot_id|>", LLAMA.detokenizer(List.of(), true).accept(ids[0]));
    }
}
