package dev.spindle.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Serves a model over an OpenAI-compatible HTTP API.")
final class ServeCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("spindle serve: not yet implemented");
        return 2;
    }
}
