package dev.spindle.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Runs the benchmarks of the bench module in a JVM of their own, so that they measure with the same flags as the
 * server and never share a heap with this launcher.
 */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = {
            "Runs Spindle's benchmarks (bench/) beside llama.cpp.",
            "Without --main, the arguments go to JMH: for example `spindle bench -l` lists the benchmarks,"
                    + " `spindle bench MatVec -f 1 -wi 2 -i 3` runs the matrix-vector kernels.",
            "With --main CLASS, runs that class of the bench module (for benchmarks that are plain programs)."
        })
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--main", paramLabel = "CLASS", description = "Run this main class of the bench module.")
    String mainClass;

    @Parameters(paramLabel = "ARGS", description = "Arguments for JMH, or for the --main class.")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws IOException, InterruptedException {
        Path home = Path.of(System.getProperty("spindle.home", "."));
        Path jar = home.resolve("bench/target/spindle-bench.jar");
        if (isStale(jar, home)) {
            int built = new ProcessBuilder(
                            home.resolve("mvnw").toString(),
                            "-B",
                            "-q",
                            "-ntp",
                            "-DskipTests",
                            "-Dspotless.check.skip=true",
                            "-pl",
                            "bench",
                            "-am",
                            "package")
                    .directory(home.toFile())
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start()
                    .waitFor();
            if (built != 0 || !Files.isRegularFile(jar)) {
                System.err.println("spindle bench: could not build " + jar);
                return 1;
            }
        }
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules",
                "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                jar.toString(),
                mainClass != null ? mainClass : "org.openjdk.jmh.Main"));
        command.addAll(args);
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    /** Whether the bench jar is missing or older than any source or build file it is made from. */
    private static boolean isStale(Path jar, Path home) throws IOException {
        if (!Files.isRegularFile(jar)) {
            return true;
        }
        long built = Files.getLastModifiedTime(jar).toMillis();
        for (String module : List.of("quantization", "kvcache", "engine", "scheduler", "api-openai", "bench")) {
            Path sources = home.resolve(module).resolve("src/main");
            if (Files.getLastModifiedTime(home.resolve(module).resolve("pom.xml"))
                            .toMillis()
                    > built) {
                return true;
            }
            if (Files.isDirectory(sources)) {
                try (var files = Files.walk(sources)) {
                    if (files.anyMatch(f -> lastModified(f) > built)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static long lastModified(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis();
        } catch (IOException e) {
            return Long.MAX_VALUE;
        }
    }
}
