package dev.spindle.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Cuts text into fragments of plain text and special tokens spelled in it, before any model sees the text.
 *
 * <p>The result is llama.cpp's: special tokens are taken longest text first, and each splits every remaining plain
 * fragment at its leftmost non-overlapping occurrences. Which tokens take part depends on the caller: user-defined
 * tokens always, control and unknown tokens only when special tokens are allowed. Since most texts contain no special
 * token at all, a single pass over the bytes first finds which tokens occur, and only those are split on.
 *
 * <p>Fragments are written as triples {@code (start, end, token)} with token -1 for plain text.
 */
final class SpecialTokenSplitter {

    /** Special token ids, longest text first (ties by id). */
    private final int[] ordered;

    private final byte[][] texts;
    private final boolean[] needsPermission;
    /** For each first byte, the indices into {@link #ordered} of tokens whose text starts with it. */
    private final int[][] byFirstByte;

    SpecialTokenSplitter(String[] tokenTexts, TokenType[] types) {
        List<Integer> ids = new ArrayList<>();
        for (int id = 0; id < tokenTexts.length; id++) {
            if (types[id].isSpecial() && !tokenTexts[id].isEmpty()) {
                ids.add(id);
            }
        }
        byte[][] utf8 = new byte[tokenTexts.length][];
        for (int id : ids) {
            utf8[id] = tokenTexts[id].getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        ids.sort(Comparator.<Integer>comparingInt(id -> -utf8[id].length).thenComparingInt(id -> id));
        ordered = ids.stream().mapToInt(Integer::intValue).toArray();
        texts = new byte[ordered.length][];
        needsPermission = new boolean[ordered.length];
        List<List<Integer>> lists = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            lists.add(new ArrayList<>());
        }
        for (int k = 0; k < ordered.length; k++) {
            texts[k] = utf8[ordered[k]];
            needsPermission[k] = types[ordered[k]].needsPermission();
            lists.get(texts[k][0] & 0xff).add(k);
        }
        byFirstByte = new int[256][];
        for (int b = 0; b < 256; b++) {
            byFirstByte[b] = lists.get(b).stream().mapToInt(Integer::intValue).toArray();
        }
    }

    /** Splits {@code text[0, length)} into {@code out}; {@code scratch} is working space. */
    void split(byte[] text, int length, boolean allowSpecial, GrowableInts out, GrowableInts scratch) {
        out.clear();
        if (length == 0) {
            return;
        }
        out.add(0);
        out.add(length);
        out.add(-1);
        if (ordered.length == 0) {
            return;
        }
        // Which tokens occur anywhere: positions of each candidate first byte, checked against that byte's tokens.
        GrowableInts present = scratch;
        present.clear();
        boolean[] seen = null;
        for (int i = 0; i < length; i++) {
            int[] candidates = byFirstByte[text[i] & 0xff];
            for (int k : candidates) {
                if (needsPermission[k] && !allowSpecial) {
                    continue;
                }
                byte[] t = texts[k];
                if (i + t.length <= length
                        && (t.length == 1 || text[i + 1] == t[1])
                        && Arrays.equals(text, i, i + t.length, t, 0, t.length)) {
                    if (seen == null) {
                        seen = new boolean[ordered.length];
                    }
                    if (!seen[k]) {
                        seen[k] = true;
                        present.add(k);
                    }
                }
            }
        }
        if (seen == null) {
            return;
        }
        // Longest first, as the order of `ordered`.
        Arrays.sort(present.data, 0, present.size);
        GrowableInts next = new GrowableInts(out.size + 6 * present.size);
        GrowableInts current = out;
        for (int p = 0; p < present.size; p++) {
            int k = present.data[p];
            byte[] t = texts[k];
            next.clear();
            for (int f = 0; f < current.size; f += 3) {
                int start = current.data[f];
                int end = current.data[f + 1];
                int token = current.data[f + 2];
                if (token >= 0) {
                    next.add(start);
                    next.add(end);
                    next.add(token);
                    continue;
                }
                int base = start;
                while (true) {
                    int match = indexOf(text, base, end, t);
                    if (match < 0) {
                        break;
                    }
                    if (match > base) {
                        next.add(base);
                        next.add(match);
                        next.add(-1);
                    }
                    next.add(match);
                    next.add(match + t.length);
                    next.add(ordered[k]);
                    base = match + t.length;
                }
                if (base < end) {
                    next.add(base);
                    next.add(end);
                    next.add(-1);
                }
            }
            GrowableInts swap = current;
            current = next;
            next = swap;
        }
        if (current != out) {
            out.clear();
            out.addAll(current.data, 0, current.size);
        }
    }

    private static int indexOf(byte[] text, int from, int to, byte[] needle) {
        int last = to - needle.length;
        byte first = needle[0];
        for (int i = from; i <= last; i++) {
            if (text[i] == first && Arrays.equals(text, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }
}
