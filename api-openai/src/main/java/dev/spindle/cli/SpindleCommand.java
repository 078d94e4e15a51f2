package dev.spindle.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code spindle} command line: one subcommand per task, each with its own {@code --help}. */
@Command(
        name = "spindle",
        mixinStandardHelpOptions = true,
        version = "spindle 0.1.0",
        description = "An LLM serving engine for the JVM.",
        subcommands = {
            CommandLine.HelpCommand.class,
            InspectCommand.class,
            SynthCommand.class,
            QuantizeCommand.class,
            TokenizeCommand.class,
            GenerateCommand.class,
            ServeCommand.class,
            BenchCommand.class
        })
public final class SpindleCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.err);
    }

    public static void main(String[] args) {
        int exit = new CommandLine(new SpindleCommand()).execute(args);
        System.exit(exit);
    }
}
