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
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line with Spindle's error manners: a bad option or a failure is one line on stderr naming the
     * command and the problem, never a usage wall or a stack trace (set {@code SPINDLE_DEBUG=1} for the trace).
     */
    static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new SpindleCommand());
        commandLine.setParameterExceptionHandler((e, args) -> {
            CommandLine failed = e.getCommandLine();
            failed.getErr()
                    .printf(
                            "%s: %s (see %s --help)%n",
                            failed.getCommandSpec().qualifiedName(),
                            e.getMessage(),
                            failed.getCommandSpec().qualifiedName());
            return 2;
        });
        commandLine.setExecutionExceptionHandler((e, failed, parseResult) -> {
            if (System.getenv("SPINDLE_DEBUG") != null) {
                e.printStackTrace(failed.getErr());
            }
            String message =
                    e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
            failed.getErr().printf("%s: %s%n", failed.getCommandSpec().qualifiedName(), message);
            return 1;
        });
        return commandLine;
    }
}
