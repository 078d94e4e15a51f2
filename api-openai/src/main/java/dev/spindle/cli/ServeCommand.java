package dev.spindle.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code spindle serve}: takes the options README.md documents, so that its set-up command runs, and says plainly
 * that the HTTP server is not built yet (its issue is not filed).
 */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Serves a model over an OpenAI-compatible HTTP API (not yet implemented).")
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "The GGUF model file to serve.")
    Path model;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "Port to listen on (default: ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println("spindle serve: not yet implemented (the HTTP API is a later issue)");
        spec.commandLine().getErr().flush();
        return 2;
    }
}
