package dev.spindle.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "tokenize", mixinStandardHelpOptions = true, description = "Tokenizes text with a model's tokenizer.")
final class TokenizeCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("spindle tokenize: not yet implemented");
        return 2;
    }
}
