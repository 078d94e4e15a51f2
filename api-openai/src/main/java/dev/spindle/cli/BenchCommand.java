package dev.spindle.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "bench", mixinStandardHelpOptions = true, description = "Runs Spindle's benchmarks beside llama.cpp.")
final class BenchCommand implements Callable<Integer> {

    @Override
    public Integer call() {
        System.err.println("spindle bench: not yet implemented");
        return 2;
    }
}
