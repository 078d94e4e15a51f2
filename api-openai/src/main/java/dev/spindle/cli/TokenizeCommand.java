package dev.spindle.cli;

import dev.spindle.gguf.GgufFile;
import dev.spindle.tokenizer.Tokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
        name = "tokenize",
        mixinStandardHelpOptions = true,
        description = {
            "Tokenizes text with a model's tokenizer, exactly as llama.cpp does.",
            "Prints each id with the text it stands for; with --jsonl, reads one JSON string per line from standard"
                    + " input and writes one JSON array of ids per line."
        })
final class TokenizeCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "GGUF model file.")
    Path model;

    @Option(names = "--add-special", description = "Add the model's BOS/EOS tokens where its vocabulary asks for them.")
    boolean addSpecial;

    @Option(
            names = "--no-parse-special",
            description = "Tokenize text that spells a control token (such as <|im_start|>) as plain text.")
    boolean noParseSpecial;

    @Option(names = "--jsonl", description = "Batch mode: JSON strings in on standard input, JSON arrays of ids out.")
    boolean jsonl;

    @Parameters(arity = "0..1", paramLabel = "TEXT", description = "The text to tokenize.")
    String text;

    @Override
    public Integer call() throws IOException {
        if (jsonl == (text != null)) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(), "give either TEXT or --jsonl (and the texts on standard input)");
        }
        Tokenizer tokenizer;
        try (GgufFile file = GgufFile.open(model)) {
            tokenizer = Tokenizer.fromGguf(file.metadata());
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        if (jsonl) {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            StringBuilder line = new StringBuilder();
            int number = 0;
            for (String l = in.readLine(); l != null; l = in.readLine()) {
                number++;
                if (l.isBlank()) {
                    continue;
                }
                String s;
                try {
                    s = JsonString.parse(l.strip());
                } catch (IllegalArgumentException e) {
                    out.flush();
                    System.err.println("spindle tokenize: line " + number + ": " + e.getMessage());
                    return 1;
                }
                int[] ids = tokenizer.encode(s, addSpecial, !noParseSpecial);
                line.setLength(0);
                line.append('[');
                for (int i = 0; i < ids.length; i++) {
                    if (i > 0) {
                        line.append(',');
                    }
                    line.append(ids[i]);
                }
                out.println(line.append(']'));
            }
            out.flush();
            return 0;
        }
        int[] ids = tokenizer.encode(text, addSpecial, !noParseSpecial);
        out.println(ids.length + " tokens");
        for (int id : ids) {
            out.printf("%8d  %s%n", id, JsonString.quote(tokenizer.piece(id, true)));
        }
        out.flush();
        return 0;
    }
}
