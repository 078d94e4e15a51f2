package dev.spindle.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(
        name = "synth",
        mixinStandardHelpOptions = true,
        description = "Writes a GGUF model with random weights at a named shape.")
final class SynthCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("spindle synth: not yet implemented");
        return 2;
    }
}
