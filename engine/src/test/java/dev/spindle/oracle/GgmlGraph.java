package dev.spindle.oracle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Single operations of llama.cpp's CPU backend, run by ggml itself: the native library of the {@code de.kherud:llama}
 * jar (build b4916, x86-64 with AVX2) called through FFM, never through its JNI binding. A test builds a small graph
 * ({@link #rmsNorm}, {@link #silu}, {@link #rope}, {@link #mulMat}, {@link #softMax}, ...) from tensors it fills, runs
 * it on one thread ({@link #compute}) and reads the result: the exact bits llama.cpp's forward pass computes for that
 * operation on those inputs, to hold ours against.
 *
 * <p>One instance owns one ggml context of 64 MiB; {@link #close} frees it. Linux x86-64 only ({@link #available}).
 */
public final class GgmlGraph implements AutoCloseable {
    /** ggml's tensor types used here. */
    public static final int F32 = 0;

    public static final int F16 = 1;
    public static final int I32 = 26;

    /** ggml's RoPE modes: adjacent pairs, and NeoX halves. */
    public static final int ROPE_NORMAL = 0;

    public static final int ROPE_NEOX = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final String RESOURCE = "de/kherud/llama/Linux/x86_64/libjllama.so";
    private static final StructLayout INIT_PARAMS =
            MemoryLayout.structLayout(JAVA_LONG, ADDRESS, JAVA_BOOLEAN, MemoryLayout.paddingLayout(7));
    private static Library library;

    private record Library(
            MethodHandle init,
            MethodHandle free,
            MethodHandle tensor1d,
            MethodHandle tensor2d,
            MethodHandle tensor3d,
            MethodHandle data,
            MethodHandle newGraph,
            MethodHandle expand,
            MethodHandle compute,
            MethodHandle rmsNorm,
            MethodHandle mul,
            MethodHandle silu,
            MethodHandle rope,
            MethodHandle mulMat,
            MethodHandle softMax,
            MethodHandle permute) {}

    private final Library lib;
    private final MemorySegment context;

    public GgmlGraph() {
        this.lib = library();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(INIT_PARAMS);
            params.set(JAVA_LONG, 0, 64L << 20);
            params.set(ADDRESS, 8, MemorySegment.NULL);
            params.set(JAVA_BOOLEAN, 16, false);
            this.context = (MemorySegment) lib.init.invokeExact(params);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Whether ggml's library is there for this platform. */
    public static boolean available() {
        return System.getProperty("os.name").toLowerCase().contains("linux")
                && System.getProperty("os.arch").matches("amd64|x86_64")
                && GgmlGraph.class.getClassLoader().getResource(RESOURCE) != null;
    }

    private static synchronized Library library() {
        if (library == null) {
            try {
                Path dir = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "ggml-graph-");
                Path file = dir.resolve("libjllama.so");
                try (InputStream in = GgmlGraph.class.getClassLoader().getResourceAsStream(RESOURCE)) {
                    Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                }
                file.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
                SymbolLookup s = SymbolLookup.libraryLookup(file, Arena.global());
                // ggml_cpu_init fills the half-precision tables the CPU code reads.
                handle(s, "ggml_cpu_init", null).invokeExact();
                library = new Library(
                        handle(s, "ggml_init", ADDRESS, INIT_PARAMS),
                        handle(s, "ggml_free", null, ADDRESS),
                        handle(s, "ggml_new_tensor_1d", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG),
                        handle(s, "ggml_new_tensor_2d", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG),
                        handle(s, "ggml_new_tensor_3d", ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                        handle(s, "ggml_get_data", ADDRESS, ADDRESS),
                        handle(s, "ggml_new_graph", ADDRESS, ADDRESS),
                        handle(s, "ggml_build_forward_expand", null, ADDRESS, ADDRESS),
                        handle(s, "ggml_graph_compute_with_ctx", JAVA_INT, ADDRESS, ADDRESS, JAVA_INT),
                        handle(s, "ggml_rms_norm", ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT),
                        handle(s, "ggml_mul", ADDRESS, ADDRESS, ADDRESS, ADDRESS),
                        handle(s, "ggml_silu", ADDRESS, ADDRESS, ADDRESS),
                        handle(
                                s,
                                "ggml_rope_ext",
                                ADDRESS,
                                ADDRESS,
                                ADDRESS,
                                ADDRESS,
                                ADDRESS,
                                JAVA_INT,
                                JAVA_INT,
                                JAVA_INT,
                                JAVA_FLOAT,
                                JAVA_FLOAT,
                                JAVA_FLOAT,
                                JAVA_FLOAT,
                                JAVA_FLOAT,
                                JAVA_FLOAT),
                        handle(s, "ggml_mul_mat", ADDRESS, ADDRESS, ADDRESS, ADDRESS),
                        handle(s, "ggml_soft_max_ext", ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT, JAVA_FLOAT),
                        handle(s, "ggml_permute", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }
        return library;
    }

    private static MethodHandle handle(SymbolLookup s, String name, MemoryLayout result, MemoryLayout... args) {
        return LINKER.downcallHandle(
                s.findOrThrow(name),
                result == null ? FunctionDescriptor.ofVoid(args) : FunctionDescriptor.of(result, args));
    }

    /** A tensor of floats, {@code shape[0]} the row length (ggml's order), filled from {@code values}. */
    public MemorySegment floats(float[] values, long... shape) {
        MemorySegment t = tensor(F32, shape);
        MemorySegment.copy(values, 0, data(t, 4L * values.length), JAVA_FLOAT, 0, values.length);
        return t;
    }

    /** A tensor of halves, each value rounded to half precision. */
    public MemorySegment halves(float[] values, long... shape) {
        MemorySegment t = tensor(F16, shape);
        MemorySegment d = data(t, 2L * values.length);
        for (int i = 0; i < values.length; i++) {
            d.setAtIndex(JAVA_SHORT, i, Float.floatToFloat16(values[i]));
        }
        return t;
    }

    /** A one-dimensional tensor of ints (RoPE's positions). */
    public MemorySegment ints(int[] values) {
        MemorySegment t = tensor(I32, values.length);
        MemorySegment.copy(values, 0, data(t, 4L * values.length), JAVA_INT, 0, values.length);
        return t;
    }

    private MemorySegment tensor(int type, long... shape) {
        try {
            return switch (shape.length) {
                case 1 -> (MemorySegment) lib.tensor1d.invokeExact(context, type, shape[0]);
                case 2 -> (MemorySegment) lib.tensor2d.invokeExact(context, type, shape[0], shape[1]);
                case 3 -> (MemorySegment) lib.tensor3d.invokeExact(context, type, shape[0], shape[1], shape[2]);
                default -> throw new IllegalArgumentException("rank " + shape.length);
            };
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private MemorySegment data(MemorySegment tensor, long bytes) {
        try {
            return ((MemorySegment) lib.data.invokeExact(tensor)).reinterpret(bytes);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_rms_norm(a, eps)}. */
    public MemorySegment rmsNorm(MemorySegment a, float eps) {
        try {
            return (MemorySegment) lib.rmsNorm.invokeExact(context, a, eps);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_mul(a, b)}, element by element ({@code b} broadcast over rows). */
    public MemorySegment mul(MemorySegment a, MemorySegment b) {
        try {
            return (MemorySegment) lib.mul.invokeExact(context, a, b);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_silu(a)}. */
    public MemorySegment silu(MemorySegment a) {
        try {
            return (MemorySegment) lib.silu.invokeExact(context, a);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code ggml_rope_ext} as llama.cpp calls it for a model without YaRN: {@code a} is {@code [headDim][heads]
     * [tokens]}, {@code positions} one int per token, no frequency factors, extrapolation factor 0, attention factor 1.
     */
    public MemorySegment rope(MemorySegment a, MemorySegment positions, int dims, int mode, float base, float scale) {
        try {
            return (MemorySegment) lib.rope.invokeExact(
                    context, a, positions, MemorySegment.NULL, dims, mode, 2048, base, scale, 0f, 1f, 32f, 1f);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_mul_mat(a, b)}: every row of {@code a} dotted with every row of {@code b}. */
    public MemorySegment mulMat(MemorySegment a, MemorySegment b) {
        try {
            return (MemorySegment) lib.mulMat.invokeExact(context, a, b);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_soft_max_ext(a, mask, scale, 0)}: softmax of {@code a * scale + mask} along rows. */
    public MemorySegment softMax(MemorySegment a, MemorySegment mask, float scale) {
        try {
            return (MemorySegment) lib.softMax.invokeExact(context, a, mask, scale, 0f);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ggml_permute(a, ...)}: a view with the axes moved (not contiguous). */
    public MemorySegment permute(MemorySegment a, int axis0, int axis1, int axis2, int axis3) {
        try {
            return (MemorySegment) lib.permute.invokeExact(context, a, axis0, axis1, axis2, axis3);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Computes {@code result} and what it depends on, on one thread; returns its first {@code count} floats. */
    public float[] compute(MemorySegment result, int count) {
        try {
            MemorySegment graph = (MemorySegment) lib.newGraph.invokeExact(context);
            lib.expand.invokeExact(graph, result);
            int status = (int) lib.compute.invokeExact(context, graph, 1);
            if (status != 0) {
                throw new IllegalStateException("ggml_graph_compute returned " + status);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        float[] out = new float[count];
        MemorySegment.copy(data(result, 4L * count), JAVA_FLOAT, 0, out, 0, count);
        return out;
    }

    @Override
    public void close() {
        try {
            lib.free.invokeExact(context);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException(t);
    }
}
