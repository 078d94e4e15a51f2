package dev.spindle.quant.ggml;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * llama.cpp's ggml, from the native library inside the {@code de.kherud:llama} jar (build b4916), called through the
 * FFM API: its quantizers and dequantizers are the reference for ours. Only plain C functions of ggml are called,
 * never the JNI binding, so none of its quirks apply. The library is extracted into a directory of its own under
 * {@code java.io.tmpdir}, so concurrent JVMs never share a half-written file.
 */
public final class GgmlLibrary {

    private static final Linker LINKER = Linker.nativeLinker();
    private static volatile GgmlLibrary instance;

    private final SymbolLookup symbols;
    private final MethodHandle quantizeChunk;

    private GgmlLibrary(SymbolLookup symbols) {
        this.symbols = symbols;
        // ggml reads half-precision numbers through a table that its initialisation fills: without it every
        // scale reads as zero. ggml_cpu_init fills it (and calls ggml_init's own set-up).
        MethodHandle cpuInit = LINKER.downcallHandle(symbols.findOrThrow("ggml_cpu_init"), FunctionDescriptor.ofVoid());
        try {
            cpuInit.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        // size_t ggml_quantize_chunk(enum ggml_type, const float *src, void *dst, int64_t start, int64_t nrows,
        //                            int64_t n_per_row, const float *imatrix)
        this.quantizeChunk = LINKER.downcallHandle(
                symbols.findOrThrow("ggml_quantize_chunk"),
                FunctionDescriptor.of(
                        ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG,
                        ValueLayout.ADDRESS));
    }

    /** Whether this platform has the library (Linux x86_64 or aarch64, macOS). */
    public static boolean available() {
        return resource() != null;
    }

    /** The library, loaded on first use. */
    public static GgmlLibrary get() {
        GgmlLibrary lib = instance;
        if (lib == null) {
            synchronized (GgmlLibrary.class) {
                lib = instance;
                if (lib == null) {
                    instance = lib = load();
                }
            }
        }
        return lib;
    }

    private static String resource() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String cpu =
                arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") ? "aarch64" : null;
        if (cpu == null) {
            return null;
        }
        String path;
        if (os.contains("linux")) {
            path = "de/kherud/llama/Linux/" + cpu + "/libjllama.so";
        } else if (os.contains("mac")) {
            path = "de/kherud/llama/Mac/" + cpu + "/libjllama.dylib";
        } else {
            return null;
        }
        return GgmlLibrary.class.getClassLoader().getResource(path) != null ? path : null;
    }

    private static GgmlLibrary load() {
        String resource = resource();
        if (resource == null) {
            throw new IllegalStateException("no llama.cpp library for this platform in de.kherud:llama");
        }
        try {
            Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "ggml-");
            Path file = dir.resolve(Path.of(resource).getFileName().toString());
            try (InputStream in = GgmlLibrary.class.getClassLoader().getResourceAsStream(resource)) {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            file.toFile().deleteOnExit();
            dir.toFile().deleteOnExit();
            return new GgmlLibrary(SymbolLookup.libraryLookup(file, Arena.global()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code ggml_quantize_chunk} without importance matrix, as {@code llama-quantize} calls it: {@code rows} rows of
     * {@code perRow} floats from {@code src} into {@code dst} (native memory).
     */
    public long quantize(int ggmlType, MemorySegment src, MemorySegment dst, long rows, long perRow) {
        try {
            return (long) quantizeChunk.invokeExact(ggmlType, src, dst, 0L, rows, perRow, MemorySegment.NULL);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code dequantize_row_<name>(const void *x, float *y, int64_t k)}, ggml's reference dequantizer of a
     * quantized type (lower-case name as in ggml: {@code q4_0}, {@code q4_K}).
     */
    public void dequantize(String name, MemorySegment src, MemorySegment dst, long count) {
        MethodHandle h = LINKER.downcallHandle(
                symbols.findOrThrow("dequantize_row_" + name),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        try {
            h.invokeExact(src, dst, count);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code quantize_row_<name>(const float *x, void *y, int64_t k)} of ggml's CPU backend ({@code q8_0}, {@code
     * q8_1}): how llama.cpp rounds activations before a product with quantized weights. Not the {@code _ref}
     * quantizers: on x86 these are their own (AVX2) code.
     */
    public void quantizeRow(String name, MemorySegment src, MemorySegment dst, long count) {
        MethodHandle h = LINKER.downcallHandle(
                symbols.findOrThrow("quantize_row_" + name),
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
        try {
            h.invokeExact(src, dst, count);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * {@code ggml_vec_dot_<weights>_<activations>(int n, float *s, size_t bs, const void *vx, size_t bx, const void
     * *vy, size_t by, int nrc)} for one row ({@code nrc = 1}): the dot product llama.cpp computes for one row of
     * weights ({@code q4_0}, ...) and one token's quantized activations ({@code q8_0}, {@code q8_1}).
     */
    public float vecDot(String weights, String activations, int n, MemorySegment vx, MemorySegment vy) {
        MethodHandle h = LINKER.downcallHandle(
                symbols.findOrThrow("ggml_vec_dot_" + weights + "_" + activations),
                FunctionDescriptor.ofVoid(
                        ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG,
                        ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG,
                        ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(ValueLayout.JAVA_FLOAT);
            h.invokeExact(n, s, 0L, vx, 0L, vy, 0L, 1);
            return s.get(ValueLayout.JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
