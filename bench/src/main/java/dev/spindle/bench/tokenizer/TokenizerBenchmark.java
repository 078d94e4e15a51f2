package dev.spindle.bench.tokenizer;

import dev.spindle.hf.HfTokenizer;
import dev.spindle.tokenizer.IncrementalDetokenizer;
import dev.spindle.tokenizer.Tokenizer;
import dev.spindle.tokenizer.TokenizerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Tokenizer speed on one core with the real Qwen3 and Llama 3 vocabularies (read from the shared {@code
 * tokenizer.json} files: set {@code -Dspindle.shared=DIR} or {@code SPINDLE_SHARED}, default {@code ../shared}).
 *
 * <ul>
 *   <li>{@code encode}: one operation is the encoding of 1,000,000 bytes of mixed-language text, so operations per
 *       second are MB/s (target: 10 or more, the range of Hugging Face's Rust tokenizers).
 *   <li>{@code detokenize}: streaming decode through {@link IncrementalDetokenizer} with two stop strings, in
 *       nanoseconds per token (target: well under 1,000).
 * </ul>
 *
 * <p>Run: {@code spindle bench TokenizerBenchmark -f 1 -wi 3 -i 5}.
 */
@State(Scope.Benchmark)
@Fork(
        value = 1,
        jvmArgsAppend = {"-Xmx2g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TokenizerBenchmark {

    static final int TEXT_BYTES = 1_000_000;
    static final int DETOKENIZED_TOKENS = 100_000;

    @Param({"qwen3", "llama3"})
    public String vocabulary;

    Tokenizer tokenizer;
    String text;
    int[] ids;
    StringBuilder out;

    @Setup(Level.Trial)
    public void load() throws IOException {
        HfTokenizer hf = HfTokenizer.load(sharedDir().resolve("tokenizers").resolve(vocabulary));
        tokenizer = Tokenizer.create(TokenizerSpec.fromHuggingFace(hf, null));
        text = MixedText.ofSize(TEXT_BYTES, 42);
        int[] all = tokenizer.encode(text, false, false);
        ids = java.util.Arrays.copyOf(all, Math.min(all.length, DETOKENIZED_TOKENS));
        out = new StringBuilder(1 << 20);
    }

    static Path sharedDir() {
        String property = System.getProperty("spindle.shared");
        if (property != null) {
            return Path.of(property);
        }
        String env = System.getenv("SPINDLE_SHARED");
        if (env != null) {
            return Path.of(env);
        }
        Path sibling = Path.of("..", "shared");
        if (Files.isDirectory(sibling)) {
            return sibling;
        }
        throw new IllegalStateException("shared test data not found: set -Dspindle.shared=DIR or SPINDLE_SHARED");
    }

    /** Encodes 1 MB of text: operations per second are MB/s. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public int[] encode() {
        return tokenizer.encode(text, false, false);
    }

    /** Streams 100,000 generated tokens to text: the score is time per token. */
    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    @OperationsPerInvocation(DETOKENIZED_TOKENS)
    public void detokenize(Blackhole bh) {
        IncrementalDetokenizer d = tokenizer.detokenizer(List.of("<|stop|>", "\n\nUser:"), false);
        out.setLength(0);
        for (int id : ids) {
            d.accept(id, out);
        }
        d.flush(out);
        bh.consume(out.length());
    }
}
