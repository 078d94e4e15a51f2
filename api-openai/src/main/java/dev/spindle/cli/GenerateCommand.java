package dev.spindle.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "generate", mixinStandardHelpOptions = true, description = "Generates text from a prompt or a chat.")
final class GenerateCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("spindle generate: not yet implemented");
        return 2;
    }
}
