package dev.spindle.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(
        name = "quantize",
        mixinStandardHelpOptions = true,
        description = "Rewrites a GGUF model with its weights in another type.")
final class QuantizeCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("spindle quantize: not yet implemented");
        return 2;
    }
}
