package dev.spindle.tokenizer;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Compares Spindle's ids with llama.cpp's for a whole corpus and reports every difference at once. */
final class OracleComparison {

    private OracleComparison() {}

    /** llama.cpp's {@code encode}: no BOS/EOS, special tokens parsed. */
    static void assertSameIds(Tokenizer tokenizer, List<String> corpus, List<int[]> expected, String name) {
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < corpus.size(); i++) {
            int[] ours = tokenizer.encode(corpus.get(i), false, true);
            if (!Arrays.equals(ours, expected.get(i))) {
                failures.add("#" + i + " " + escape(corpus.get(i)) + "\n    llama.cpp "
                        + Arrays.toString(expected.get(i)) + "\n    spindle   " + Arrays.toString(ours));
            }
        }
        if (!failures.isEmpty()) {
            fail(name + ": " + failures.size() + " of " + corpus.size() + " strings differ from llama.cpp:\n"
                    + String.join("\n", failures.subList(0, Math.min(20, failures.size()))));
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            if (c < 0x20
                    || (c >= 0x7f && c < 0xa0)
                    || Character.isSurrogate(c)
                    || Character.isSpaceChar(c) && c != ' ') {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append(s.length() > 200 ? "\"..." : "\"").toString();
    }
}
