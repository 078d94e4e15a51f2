package dev.spindle.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A deterministic corpus of strings that stress tokenizers: every category that pre-tokenizer rules, merges, byte
 * fallback or special-token splitting treat differently, alone and mixed.
 */
final class TokenizerCorpus {

    private static final String[] WORDS = {
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "was",
        "tokenizer",
        "merge",
        "Hello",
        "World",
        "a",
        "I",
        "you",
        "ran",
        "quickly",
        "Zürich",
        "naïve",
        "façade",
        "déjà",
        "vu",
        "HTTP",
        "JSON",
        "camelCase",
        "snake_case",
        "iPhone",
        "e-mail",
        "co-operate",
        "x",
        "Q",
        "ABC",
        "theorem",
        "Supercalifragilistic",
        "once",
        "upon",
        "time",
        "Lily"
    };

    private static final String[] FRAGMENTS = {
        // accented Latin
        "Ça va très bien, merci",
        "Straße über Äpfel",
        "¿Dónde está la estación?",
        "smørrebrød og æbleskiver",
        "Łódź, Kraków i Gdańsk",
        "São Paulo não é longe",
        // Greek, Cyrillic
        "Καλημέρα κόσμε",
        "Ελληνικά: αβγδε ΑΒΓΔΕ",
        "Привет, мир!",
        "Съешь же ещё этих мягких французских булок",
        // CJK, Korean, Japanese
        "你好，世界",
        "我喜欢学习中文。",
        "東京都渋谷区",
        "ひらがなとカタカナ",
        "한국어 텍스트입니다",
        "中文English混合123",
        // Arabic, Hebrew, Devanagari, Thai
        "مرحبا بالعالم",
        "اللغة العربية جميلة",
        "שלום עולם",
        "नमस्ते दुनिया",
        "สวัสดีครับ",
        // emoji with modifiers and ZWJ sequences, flags, keycaps
        "🙂",
        "👍🏽",
        "👩‍💻",
        "👨‍👩‍👧‍👦",
        "🏳️‍🌈",
        "🇫🇷🇯🇵",
        "1️⃣",
        "❤️‍🔥",
        "🦙 llama",
        "✓ done ✗",
        // code
        "def f(x):\n    return x ** 2\n",
        "for (int i = 0; i < n; i++) { sum += a[i]; }",
        "if (a != b && c >= d) { return -1; }",
        "const url = `https://${host}:${port}/api`;",
        "<div class=\"main\">Hello</div>",
        "SELECT * FROM users WHERE id = 42;",
        "x += 1  # comment",
        "#include <stdio.h>\nint main(void) {\n\treturn 0;\n}",
        "{\"key\": [1, 2.5, true, null]}",
        // URLs and addresses
        "https://example.com/path?query=1&b=two#frag",
        "http://localhost:8080/v1/chat/completions",
        "mailto:someone@example.org",
        "ftp://files.example.net/pub/file-1.2.3.tar.gz",
        "www.wikipedia.org/wiki/Tokenizer",
        // numbers
        "1234567890",
        "3.14159265358979",
        "1,000,000",
        "-42",
        "+7 (495) 123-45-67",
        "2024-01-31T12:34:56Z",
        "0x1F600",
        "1e-9",
        "١٢٣٤٥",
        "²³¹ ½ ¾ Ⅻ",
        "१२३",
        // contractions
        "I'm",
        "you're",
        "he'll",
        "it's",
        "we've",
        "they'd",
        "don't",
        "WE'LL",
        "IT'S",
        "She'S",
        "y'all",
        "'tis",
        "rock 'n' roll",
        "''",
        "'s",
        " 're",
        // punctuation runs
        "!!!",
        "???",
        "...",
        "—",
        "–",
        "«quoted»",
        "“curly” ‘quotes’",
        "(((nested)))",
        "!?!?",
        "--- *** ___",
        "@#$%^&*",
        "~~~~",
        "|||",
        ":-)",
        ";)",
        "\\\\",
        // whitespace oddities
        "\u00a0non-breaking\u00a0space",
        "ideographic\u3000space",
        "line\u2028separator",
        "next\u0085line",
        "vertical\u000btab",
        "form\ffeed",
        "zero\u200bwidth",
        "soft\u00adhyphen",
        "joiner\u200dx",
        "combining e\u0301 and a\u0308",
        "\u001funit separator",
    };

    private static final String[] SPECIALS = {
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "<think>",
        "</think>",
        "<tool_call>",
        "<|begin_of_text|>",
        "<|eot_id|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<s>",
        "</s>",
        "<unk>",
        "<|im_start|",
        "<|im_start |>",
        "<|reserved_special_token_5|>",
        "<|fim_prefix|>",
        "<0x41>",
        "<|"
    };

    private static final String[] SPACES = {" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\t\t", "    ", ""};

    private TokenizerCorpus() {}

    /** {@code count} strings, the same for the same seed. */
    static List<String> generate(long seed, int count) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(count);
        // Every fragment and special spelling alone, and with surrounding spaces.
        for (String f : FRAGMENTS) {
            out.add(f);
            out.add(" " + f);
        }
        for (String s : SPECIALS) {
            out.add(s);
            out.add("a" + s + "b");
            out.add(" " + s + " x");
        }
        out.add("");
        out.add(" ");
        out.add("  ");
        out.add("\n");
        out.add("\t");
        out.add("\uD83D");
        out.add("lone \uD800 high and \uDC00 low");
        out.add("x\uDBFF");
        while (out.size() < count) {
            out.add(
                    switch (r.nextInt(12)) {
                        case 0 -> prose(r);
                        case 1 -> spaced(r);
                        case 2 -> numbers(r);
                        case 3 -> mixed(r, 2 + r.nextInt(6));
                        case 4 -> withSpecials(r);
                        case 5 -> longWord(r);
                        case 6 -> surrogates(r);
                        case 7 -> randomCodepoints(r);
                        case 8 -> pick(r, FRAGMENTS) + pick(r, SPACES) + pick(r, FRAGMENTS);
                        case 9 -> contractions(r);
                        case 10 -> punctuation(r);
                        default -> mixed(r, 8 + r.nextInt(20));
                    });
        }
        return out;
    }

    private static String pick(SplittableRandom r, String[] options) {
        return options[r.nextInt(options.length)];
    }

    private static String prose(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = 3 + r.nextInt(15);
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(pick(r, WORDS));
            if (r.nextInt(6) == 0) {
                sb.append(pick(r, new String[] {",", ".", ";", ":", "!", "?"}));
            }
        }
        return sb.toString();
    }

    private static String spaced(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(6);
        for (int i = 0; i < n; i++) {
            sb.append(pick(r, SPACES)).append(pick(r, WORDS));
        }
        return sb.append(pick(r, SPACES)).append(pick(r, SPACES)).toString();
    }

    private static String numbers(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            int digits = 1 + r.nextInt(r.nextInt(4) == 0 ? 60 : 8);
            for (int d = 0; d < digits; d++) {
                sb.append((char) ('0' + r.nextInt(10)));
            }
            sb.append(pick(r, new String[] {" ", ".", ",", "-", "x", " and ", "\n", "%", "$", ""}));
        }
        return sb.toString();
    }

    private static String mixed(SplittableRandom r, int parts) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < parts; i++) {
            switch (r.nextInt(4)) {
                case 0 -> sb.append(pick(r, WORDS));
                case 1 -> sb.append(pick(r, FRAGMENTS));
                case 2 -> sb.append(pick(r, SPACES));
                default -> sb.append(numbers(r));
            }
        }
        return sb.toString();
    }

    private static String withSpecials(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(5);
        for (int i = 0; i < n; i++) {
            sb.append(pick(r, SPECIALS));
            if (r.nextBoolean()) {
                sb.append(pick(r, SPACES));
            }
            sb.append(r.nextBoolean() ? pick(r, WORDS) : pick(r, FRAGMENTS));
        }
        return sb.toString();
    }

    private static String longWord(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int length = 100 + r.nextInt(r.nextInt(4) == 0 ? 3000 : 400);
        switch (r.nextInt(6)) {
            case 0 -> {
                for (int i = 0; i < length; i++) {
                    sb.append((char) ('a' + r.nextInt(26)));
                }
            }
            case 1 -> sb.append("a".repeat(length));
            case 2 -> {
                while (sb.length() < length) {
                    sb.append(pick(r, WORDS));
                }
            }
            case 3 -> {
                for (int i = 0; i < length; i++) {
                    sb.append((char) ('0' + r.nextInt(10)));
                }
            }
            case 4 -> sb.append("ab".repeat(length / 2)).append(" ").append("é".repeat(length / 4));
            default -> sb.append("https://example.com/").append("very-long-path-segment/".repeat(length / 23));
        }
        return sb.toString();
    }

    private static String surrogates(SplittableRandom r) {
        StringBuilder sb = new StringBuilder(pick(r, WORDS));
        sb.append((char) (0xd800 + r.nextInt(0x800)));
        if (r.nextBoolean()) {
            sb.append(pick(r, FRAGMENTS));
        }
        return sb.toString();
    }

    /** Code points from across the planes: controls, symbols, rare scripts, private use. */
    private static String randomCodepoints(SplittableRandom r) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(12);
        for (int i = 0; i < n; i++) {
            int cp = switch (r.nextInt(6)) {
                case 0 -> r.nextInt(0x80);
                case 1 -> 0x80 + r.nextInt(0x780);
                case 2 -> 0x800 + r.nextInt(0x2000);
                case 3 -> 0x4e00 + r.nextInt(0x5000);
                case 4 -> 0x1f300 + r.nextInt(0x600);
                default -> 0x2000 + r.nextInt(0x1000);
            };
            if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 'x';
            }
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }

    private static String contractions(SplittableRandom r) {
        String[] forms = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "'x", "'"
        };
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            sb.append(pick(r, WORDS)).append(pick(r, forms));
            sb.append(r.nextBoolean() ? " " : "");
        }
        return sb.toString();
    }

    private static String punctuation(SplittableRandom r) {
        String chars = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~…—–«»“”‘’¡¿§¶•";
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(20);
        for (int i = 0; i < n; i++) {
            sb.append(chars.charAt(r.nextInt(chars.length())));
            if (r.nextInt(5) == 0) {
                sb.append(pick(r, SPACES));
            }
            if (r.nextInt(5) == 0) {
                sb.append(pick(r, WORDS));
            }
        }
        return sb.toString();
    }
}
