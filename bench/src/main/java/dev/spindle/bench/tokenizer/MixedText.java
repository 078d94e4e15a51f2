package dev.spindle.bench.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * A deterministic mixed-language text of a given size in UTF-8: sentences of English prose (about half), German,
 * French, Spanish, Russian, Greek, Chinese, Japanese, Korean, Arabic and Hindi, source code, numbers, URLs and emoji,
 * in paragraphs, drawn from a fixed seed.
 */
final class MixedText {

    private static final String[] SENTENCES = {
        "The quick brown fox jumps over the lazy dog.",
        "Tokenizers turn text into the numbers that language models read, one piece at a time.",
        "In 2024, the team shipped version 3.2.1 with 1,250 fixes and a 17% faster startup.",
        "She said she'd be there by nine, but the train was late again.",
        "We're going to need a bigger boat, and they'll want to know why.",
        "Continuous batching keeps the accelerator busy while requests arrive and leave.",
        "Please read the documentation at https://example.com/docs/getting-started before asking.",
        "The results, summarised in Table 4, show no significant difference (p = 0.31).",
        "Once upon a time, there was a little girl named Lily who loved to play outside.",
        "Don't panic: the answer is forty-two, or so the book says.",
        "Der schnelle braune Fuchs springt über den faulen Hund, während es draußen regnet.",
        "Les modèles de langage apprennent à prédire le mot suivant à partir du contexte.",
        "¿Dónde está la biblioteca? Está al lado de la estación de tren.",
        "Съешь же ещё этих мягких французских булок, да выпей чаю.",
        "Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί.",
        "大型语言模型通过预测下一个词来生成文本，这需要大量的计算资源。",
        "今日はとても良い天気ですね。散歩に行きましょう。",
        "토크나이저는 텍스트를 숫자로 바꾸는 도구입니다.",
        "النماذج اللغوية الكبيرة تتعلم من كميات هائلة من النصوص.",
        "भाषा मॉडल अगले शब्द की भविष्यवाणी करना सीखते हैं।",
        "def encode(text):\n    return [vocab[w] for w in text.split()]\n",
        "for (int i = 0; i < n; i++) {\n    sum += weights[i] * inputs[i];\n}\n",
        "SELECT id, name FROM users WHERE created_at > '2024-01-01' ORDER BY id;",
        "{\"model\": \"qwen3\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi!\"}], \"stream\": true}",
        "Great job! 🎉 See you tomorrow 👋🏽 — the team 👩‍💻👨‍💻",
        "Temperature: 21.5°C, humidity: 64%, wind: 12 km/h NNE.",
    };

    private MixedText() {}

    static String ofSize(int bytes, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(bytes);
        int size = 0;
        while (true) {
            // About half English (the first ten sentences), the rest spread over the other languages and code.
            String s = r.nextBoolean() ? SENTENCES[r.nextInt(10)] : SENTENCES[10 + r.nextInt(SENTENCES.length - 10)];
            String sep = r.nextInt(8) == 0 ? "\n\n" : " ";
            int add = (s + sep).getBytes(StandardCharsets.UTF_8).length;
            if (size + add > bytes) {
                break;
            }
            sb.append(s).append(sep);
            size += add;
        }
        while (size < bytes) {
            sb.append('.');
            size++;
        }
        return sb.toString();
    }
}
