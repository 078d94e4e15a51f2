package dev.spindle.tokenizer;

import java.util.List;

/**
 * Turns one sequence's generated token ids into text as they arrive, emitting only text that is final.
 *
 * <p>Two things hold text back. A token may end inside a multi-byte UTF-8 character (byte-level vocabularies split
 * emoji and CJK across tokens): its bytes wait until the character completes, so no broken character is ever emitted.
 * And text that could be the beginning of a stop string waits until the next tokens show whether the stop string
 * follows: on a match, the text before it is emitted, the stop string and everything after it are dropped, and the
 * detokenizer reports that the sequence stopped.
 *
 * <pre>
 *   emitted text | held: could start a stop string | pending: bytes of an unfinished character
 * </pre>
 *
 * <p>Allocation-light: text is appended to the caller's {@link StringBuilder}; the state is a few bytes and a short
 * builder no longer than the longest stop string. Not thread-safe: one per sequence.
 */
public final class IncrementalDetokenizer {

    private static final char REPLACEMENT = '\uFFFD';

    private final Tokenizer tokenizer;
    private final String[] stops;
    private final boolean special;

    /** Decoded text not yet emitted because it may begin a stop string. */
    private final StringBuilder held = new StringBuilder();

    /** The code point being assembled from UTF-8 bytes, and how many continuation bytes it still needs. */
    private int partial;

    private int needed;
    /** The smallest code point the current sequence length may encode; below it the sequence is overlong. */
    private int minimum;

    private String stoppedBy;

    IncrementalDetokenizer(Tokenizer tokenizer, List<String> stopStrings, boolean special) {
        this.tokenizer = tokenizer;
        this.stops = stopStrings.stream().filter(s -> !s.isEmpty()).toArray(String[]::new);
        this.special = special;
    }

    /**
     * Feeds one generated token and appends the text that became final to {@code out}.
     *
     * @return whether a stop string completed; the text before it has been appended, and further tokens are ignored
     */
    public boolean accept(int token, StringBuilder out) {
        if (stoppedBy != null) {
            return true;
        }
        int searchFrom = held.length();
        byte[] piece = tokenizer.pieceView(token, special);
        for (byte b : piece) {
            decodeByte(b & 0xff);
        }
        return settle(searchFrom, out, false);
    }

    /** {@link #accept(int, StringBuilder)} returning the new text (possibly empty). */
    public String accept(int token) {
        StringBuilder out = new StringBuilder();
        accept(token, out);
        return out.toString();
    }

    /**
     * Ends the sequence: appends whatever is still held (text that turned out not to be a stop string, and a U+FFFD for
     * an unfinished character).
     */
    public void flush(StringBuilder out) {
        if (stoppedBy != null) {
            return;
        }
        if (needed > 0) {
            held.append(REPLACEMENT);
            needed = 0;
        }
        out.append(held);
        held.setLength(0);
    }

    /** Whether a stop string has matched. */
    public boolean stopped() {
        return stoppedBy != null;
    }

    /** The stop string that matched, or {@code null}. */
    public String stopString() {
        return stoppedBy;
    }

    /** Checks the held text for stop strings and emits what can no longer be part of one. */
    private boolean settle(int searchFrom, StringBuilder out, boolean end) {
        if (stops.length == 0) {
            out.append(held);
            held.setLength(0);
            return false;
        }
        int best = -1;
        String bestStop = null;
        for (String stop : stops) {
            // A match must end in the new text, so it starts at most stop.length() - 1 before it.
            int from = Math.max(0, searchFrom - stop.length() + 1);
            int at = held.indexOf(stop, from);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
                bestStop = stop;
            }
        }
        if (best >= 0) {
            out.append(held, 0, best);
            held.setLength(0);
            stoppedBy = bestStop;
            return true;
        }
        int keep = 0;
        if (!end) {
            for (String stop : stops) {
                keep = Math.max(keep, longestSuffixThatStarts(stop));
            }
        }
        int emit = held.length() - keep;
        if (emit > 0) {
            out.append(held, 0, emit);
            held.delete(0, emit);
        }
        return false;
    }

    /** The length of the longest suffix of {@link #held} that is a proper prefix of {@code stop}. */
    private int longestSuffixThatStarts(String stop) {
        int n = held.length();
        for (int len = Math.min(n, stop.length() - 1); len > 0; len--) {
            boolean match = true;
            for (int i = 0; i < len; i++) {
                if (held.charAt(n - len + i) != stop.charAt(i)) {
                    match = false;
                    break;
                }
            }
            if (match) {
                return len;
            }
        }
        return 0;
    }

    private void decodeByte(int b) {
        if (needed > 0) {
            if ((b & 0xc0) == 0x80) {
                partial = (partial << 6) | (b & 0x3f);
                if (--needed == 0) {
                    completeCodepoint();
                }
                return;
            }
            // The character was cut short: mark it and start over with this byte.
            held.append(REPLACEMENT);
            needed = 0;
        }
        if (b < 0x80) {
            held.append((char) b);
        } else if (b >= 0xc2 && b < 0xe0) {
            start(b & 0x1f, 1, 0x80);
        } else if (b >= 0xe0 && b < 0xf0) {
            start(b & 0x0f, 2, 0x800);
        } else if (b >= 0xf0 && b < 0xf5) {
            start(b & 0x07, 3, 0x10000);
        } else {
            held.append(REPLACEMENT);
        }
    }

    private void start(int bits, int continuation, int min) {
        partial = bits;
        needed = continuation;
        minimum = min;
    }

    private void completeCodepoint() {
        int cp = partial;
        if (cp < minimum || cp > Character.MAX_CODE_POINT || (cp >= 0xd800 && cp <= 0xdfff)) {
            held.append(REPLACEMENT);
        } else {
            held.appendCodePoint(cp);
        }
    }
}
