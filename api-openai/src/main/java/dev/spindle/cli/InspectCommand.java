package dev.spindle.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = "Describes a GGUF model file: architecture, hyper-parameters, tokenizer, tensors.")
final class InspectCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("spindle inspect: not yet implemented");
        return 2;
    }
}
