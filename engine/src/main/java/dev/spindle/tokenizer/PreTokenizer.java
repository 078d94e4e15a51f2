package dev.spindle.tokenizer;

import static dev.spindle.tokenizer.Codepoints.LETTER;
import static dev.spindle.tokenizer.Codepoints.NUMBER;
import static dev.spindle.tokenizer.Codepoints.PUNCTUATION;
import static dev.spindle.tokenizer.Codepoints.WHITESPACE;

/**
 * The split of text into words that byte-level BPE merges within, named as GGUF's {@code tokenizer.ggml.pre} names it.
 *
 * <p>Each split is the regular expression of the model's Hugging Face tokenizer, executed by hand over code points
 * (as llama.cpp's {@code unicode.cpp} does) because a general regex engine is several times slower here. Splits
 * produce word boundaries as code-point indices; they never drop text.
 */
enum PreTokenizer {
    /**
     * GPT-2: {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)}, used by GPT-2, Phi-2 and
     * the Jina and RoBERTa BPE models.
     */
    GPT2,
    /**
     * Llama 3: {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
     * \s*[\r\n]+|\s+(?!\S)|\s+}.
     */
    LLAMA3,
    /** Qwen2, Qwen2.5 and Qwen3: Llama 3's expression with single digits ({@code \p{N}} instead of {@code \p{N}{1,3}}). */
    QWEN2,
    /** SmolLM and StarCoder: each digit alone, then GPT-2's split. */
    SMOLLM,
    /**
     * llama.cpp's default for a vocabulary that names no pre-tokenizer: runs of punctuation, then GPT-2's split, then
     * runs of numbers, then groups of three ASCII digits.
     */
    DEFAULT;

    /** The split GGUF's {@code tokenizer.ggml.pre} value names, with llama.cpp's aliases. */
    static PreTokenizer forName(String pre) {
        if (pre == null || pre.isEmpty()) {
            return DEFAULT;
        }
        return switch (pre) {
            case "default" -> DEFAULT;
            case "llama3", "llama-v3", "llama-bpe", "falcon3" -> LLAMA3;
            case "qwen2", "deepseek-r1-qwen" -> QWEN2;
            case "smollm", "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "command-r", "stablelm2" ->
                SMOLLM;
            case "gpt-2",
                    "gpt2",
                    "phi-2",
                    "jina-es",
                    "jina-de",
                    "gigachat",
                    "jina-v1-en",
                    "jina-v2-es",
                    "jina-v2-de",
                    "jina-v2-code",
                    "roberta-bpe",
                    "mpt",
                    "olmo",
                    "jais" -> GPT2;
            default -> throw new IllegalArgumentException("unknown pre-tokenizer type: '" + pre + "'");
        };
    }

    /** Whether a word that is a vocabulary entry is taken whole before any merge (llama.cpp's ignore_merges). */
    boolean takesWholeWords() {
        return this == LLAMA3;
    }

    /**
     * Splits {@code cps[0, n)} and appends the end index of each word to {@code ends}; {@code scratch} is working
     * space.
     */
    void split(int[] cps, int n, GrowableInts ends, GrowableInts scratch) {
        ends.clear();
        switch (this) {
            case GPT2 -> gpt2(cps, 0, n, ends);
            case LLAMA3 -> llama3(cps, 0, n, 3, ends);
            case QWEN2 -> llama3(cps, 0, n, 1, ends);
            case SMOLLM -> {
                scratch.clear();
                isolate(cps, 0, n, NUMBER, false, scratch);
                eachChunk(scratch, cps, ends, Stage.GPT2);
            }
            case DEFAULT -> {
                GrowableInts a = scratch;
                a.clear();
                runs(cps, 0, n, Stage.PUNCTUATION_RUNS, a);
                eachChunk(a, cps, ends, Stage.GPT2);
                a.clear();
                eachChunk(ends, cps, a, Stage.NUMBER_RUNS);
                ends.clear();
                eachChunk(a, cps, ends, Stage.THREE_DIGITS);
            }
        }
    }

    private enum Stage {
        GPT2,
        PUNCTUATION_RUNS,
        NUMBER_RUNS,
        THREE_DIGITS
    }

    /** Applies {@code stage} within each chunk that {@code chunks} ends, as llama.cpp chains its expressions. */
    private static void eachChunk(GrowableInts chunks, int[] cps, GrowableInts out, Stage stage) {
        int start = 0;
        for (int c = 0; c < chunks.size; c++) {
            int end = chunks.data[c];
            switch (stage) {
                case GPT2 -> gpt2(cps, start, end, out);
                case PUNCTUATION_RUNS, NUMBER_RUNS -> runs(cps, start, end, stage, out);
                case THREE_DIGITS -> threeDigits(cps, start, end, out);
            }
            start = end;
        }
    }

    private static int flagsAt(int[] cps, int pos, int end) {
        return pos < end ? Codepoints.flags(cps[pos]) : 0;
    }

    private static boolean inRange(int pos, int end) {
        return pos < end;
    }

    private static void gpt2(int[] cps, int start, int end, GrowableInts out) {
        int pos = start;
        while (pos < end) {
            int cp = cps[pos];
            int flags = Codepoints.flags(cp);
            // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
            if (cp == '\'' && pos + 1 < end) {
                int next = cps[pos + 1];
                if (next == 's' || next == 't' || next == 'm' || next == 'd') {
                    pos += 2;
                    out.add(pos);
                    continue;
                }
                if (pos + 2 < end) {
                    int next2 = cps[pos + 2];
                    if ((next == 'r' && next2 == 'e')
                            || (next == 'v' && next2 == 'e')
                            || (next == 'l' && next2 == 'l')) {
                        pos += 3;
                        out.add(pos);
                        continue;
                    }
                }
            }
            int lead = cp == ' ' ? pos + 1 : pos;
            int leadFlags = cp == ' ' ? flagsAt(cps, pos + 1, end) : flags;
            // ' ?\p{L}+', ' ?\p{N}+'
            if ((leadFlags & (LETTER | NUMBER)) != 0) {
                int cls = leadFlags & LETTER;
                int want = cls != 0 ? LETTER : NUMBER;
                pos = lead;
                while (pos < end && (Codepoints.flags(cps[pos]) & want) != 0) {
                    pos++;
                }
                out.add(pos);
                continue;
            }
            // ' ?[^\s\p{L}\p{N}]+'
            if (inRange(lead, end) && (leadFlags & (WHITESPACE | LETTER | NUMBER)) == 0) {
                pos = lead;
                while (pos < end && (Codepoints.flags(cps[pos]) & (WHITESPACE | LETTER | NUMBER)) == 0) {
                    pos++;
                }
                out.add(pos);
                continue;
            }
            pos = whitespace(cps, pos, end, false, out);
        }
    }

    private static void llama3(int[] cps, int start, int end, int maxDigits, GrowableInts out) {
        int pos = start;
        while (pos < end) {
            int cp = cps[pos];
            int flags = Codepoints.flags(cp);
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if (cp == '\'' && pos + 1 < end) {
                int next = asciiLower(cps[pos + 1]);
                if (next == 's' || next == 't' || next == 'm' || next == 'd') {
                    pos += 2;
                    out.add(pos);
                    continue;
                }
                if (pos + 2 < end) {
                    int next2 = asciiLower(cps[pos + 2]);
                    if ((next == 'r' && next2 == 'e')
                            || (next == 'v' && next2 == 'e')
                            || (next == 'l' && next2 == 'l')) {
                        pos += 3;
                        out.add(pos);
                        continue;
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (cp != '\r' && cp != '\n' && (flags & NUMBER) == 0) {
                if ((flags & LETTER) != 0 || (flagsAt(cps, pos + 1, end) & LETTER) != 0) {
                    pos++;
                    while (pos < end && (Codepoints.flags(cps[pos]) & LETTER) != 0) {
                        pos++;
                    }
                    out.add(pos);
                    continue;
                }
            }
            // \p{N}{1,maxDigits}
            if ((flags & NUMBER) != 0) {
                int taken = 0;
                while (pos < end && taken < maxDigits && (Codepoints.flags(cps[pos]) & NUMBER) != 0) {
                    pos++;
                    taken++;
                }
                out.add(pos);
                continue;
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            int lead = cp == ' ' ? pos + 1 : pos;
            int leadFlags = cp == ' ' ? flagsAt(cps, pos + 1, end) : flags;
            if (inRange(lead, end) && (leadFlags & (WHITESPACE | LETTER | NUMBER)) == 0) {
                pos = lead;
                while (pos < end && (Codepoints.flags(cps[pos]) & (WHITESPACE | LETTER | NUMBER)) == 0) {
                    pos++;
                }
                while (pos < end && (cps[pos] == '\r' || cps[pos] == '\n')) {
                    pos++;
                }
                out.add(pos);
                continue;
            }
            pos = whitespace(cps, pos, end, true, out);
        }
    }

    /**
     * The whitespace alternatives at {@code pos}: {@code \s*[\r\n]+} (when {@code lineBreaks}), then
     * {@code \s+(?!\S)}, then {@code \s+}; a character no alternative matches stands alone. Returns the new position.
     */
    private static int whitespace(int[] cps, int pos, int end, boolean lineBreaks, GrowableInts out) {
        int run = 0;
        int lastBreakEnd = -1;
        while (pos + run < end && (Codepoints.flags(cps[pos + run]) & WHITESPACE) != 0) {
            int c = cps[pos + run];
            run++;
            if (c == '\r' || c == '\n') {
                lastBreakEnd = pos + run;
            }
        }
        if (lineBreaks && lastBreakEnd > 0) {
            out.add(lastBreakEnd);
            return lastBreakEnd;
        }
        if (run > 1 && pos + run < end) {
            // \s+(?!\S): leave the last whitespace character to lead the next word.
            out.add(pos + run - 1);
            return pos + run - 1;
        }
        if (run > 0) {
            out.add(pos + run);
            return pos + run;
        }
        out.add(pos + 1);
        return pos + 1;
    }

    private static int asciiLower(int c) {
        return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
    }

    /**
     * Matches of a one-character class {@code flag}, each alone (when {@code !joined}) or as maximal runs, with the
     * text between matches as chunks of its own.
     */
    private static void isolate(int[] cps, int start, int end, int flag, boolean joined, GrowableInts out) {
        int pos = start;
        while (pos < end) {
            boolean match = (Codepoints.flags(cps[pos]) & flag) != 0;
            if (match) {
                pos++;
                if (joined) {
                    while (pos < end && (Codepoints.flags(cps[pos]) & flag) != 0) {
                        pos++;
                    }
                }
            } else {
                while (pos < end && (Codepoints.flags(cps[pos]) & flag) == 0) {
                    pos++;
                }
            }
            out.add(pos);
        }
    }

    private static boolean punctuationLike(int cp) {
        return (Codepoints.flags(cp) & PUNCTUATION) != 0
                || cp == '$'
                || cp == '+'
                || cp == '<'
                || cp == '='
                || cp == '>'
                || cp == '^'
                || cp == '~'
                || cp == '|';
    }

    private static void runs(int[] cps, int start, int end, Stage stage, GrowableInts out) {
        if (stage == Stage.NUMBER_RUNS) {
            isolate(cps, start, end, NUMBER, true, out);
            return;
        }
        int pos = start;
        while (pos < end) {
            boolean match = punctuationLike(cps[pos]);
            while (pos < end && punctuationLike(cps[pos]) == match) {
                pos++;
            }
            out.add(pos);
        }
    }

    /** {@code [0-9][0-9][0-9]}: leftmost non-overlapping triples of ASCII digits, the rest as chunks between. */
    private static void threeDigits(int[] cps, int start, int end, GrowableInts out) {
        int pending = start;
        int pos = start;
        while (pos + 3 <= end) {
            if (isAsciiDigit(cps[pos]) && isAsciiDigit(cps[pos + 1]) && isAsciiDigit(cps[pos + 2])) {
                if (pos > pending) {
                    out.add(pos);
                }
                pos += 3;
                out.add(pos);
                pending = pos;
            } else {
                pos++;
            }
        }
        if (pending < end) {
            out.add(end);
        }
    }

    private static boolean isAsciiDigit(int c) {
        return c >= '0' && c <= '9';
    }
}
