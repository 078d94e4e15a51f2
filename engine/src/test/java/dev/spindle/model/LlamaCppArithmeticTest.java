package dev.spindle.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.spindle.kvcache.attention.AttentionNumerics;
import dev.spindle.kvcache.attention.PagedAttention;
import dev.spindle.kvcache.memory.HostKvMemory;
import dev.spindle.kvcache.memory.KvCacheShape;
import dev.spindle.kvcache.memory.KvLayout;
import dev.spindle.kvcache.memory.KvType;
import dev.spindle.oracle.GgmlGraph;
import dev.spindle.quant.GgmlType;
import dev.spindle.quant.MatMul;
import dev.spindle.quant.QuantizedMatrix;
import dev.spindle.quant.parallel.WorkerPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The operations of our forward pass that follow llama.cpp's arithmetic give ggml's bits, operation by operation:
 * each is run by ggml itself ({@link GgmlGraph}: the CPU backend of the binding's native library, as llama.cpp builds
 * its graph) on the same inputs and compared bit for bit. These are the operations that decide whether a greedy
 * generation equals llama.cpp's ({@link StoriesQuantizedLlamaCppTest}).
 */
class LlamaCppArithmeticTest {

    @BeforeAll
    static void ggmlIsHere() {
        assumeTrue(GgmlGraph.available(), "ggml's library of the binding is built for Linux x86-64");
    }

    private static float[] gaussian(SplittableRandom random, int n, double sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (sigma * random.nextGaussian());
        }
        return x;
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            int index = i;
            assertEquals(
                    Float.floatToRawIntBits(expected[i]),
                    Float.floatToRawIntBits(actual[i]),
                    () -> what + " [" + index + "]: ggml " + expected[index] + ", ours " + actual[index]);
        }
    }

    /** SwiGLU's SiLU as the forward pass applies it to a row: 8-lane chunks from the start, then the tail. */
    @ParameterizedTest
    @ValueSource(ints = {172, 64, 7})
    void siluIsGgmls(int width) {
        SplittableRandom random = new SplittableRandom(width);
        int rows = 400;
        float[] g = gaussian(random, rows * width, 4);
        for (int i = 0; i < g.length; i += 13) {
            g[i] *= 30; // some inputs on ggml's slow paths (|n| > 126, > 192)
        }
        float[] ours = g.clone();
        float[] one = new float[g.length];
        java.util.Arrays.fill(one, 1f);
        for (int r = 0; r < rows; r++) {
            VectorMath.swiglu(ours, one, r * width, width); // silu(g) * 1 is silu(g) exactly
        }
        try (GgmlGraph ggml = new GgmlGraph()) {
            float[] theirs = ggml.compute(ggml.silu(ggml.floats(g, width, rows)), g.length);
            assertBits(theirs, ours, "silu, width " + width);
        }
    }

    /** RoPE's angles and rotation, adjacent pairs (llama) and NeoX halves (qwen), for positions 0 to 599. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void ropeIsGgmls(boolean neox) {
        int headDim = neox ? 64 : 8;
        int heads = 4;
        int tokens = 600;
        float base = neox ? 1_000_000f : 10_000f;
        ModelConfig config = new ModelConfig(
                neox ? Architecture.QWEN2 : Architecture.LLAMA,
                heads * headDim,
                1,
                172,
                heads,
                heads,
                headDim,
                512,
                2048,
                1e-5f,
                neox ? RopeStyle.NEOX : RopeStyle.NORMAL,
                headDim,
                base,
                1f);
        Rope rope = new Rope(config, null);
        SplittableRandom random = new SplittableRandom(neox ? 2 : 1);
        float[] x = gaussian(random, tokens * heads * headDim, 1);
        int[] positions = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            positions[t] = t;
        }
        float[] cos = new float[tokens * rope.pairs()];
        float[] sin = new float[tokens * rope.pairs()];
        rope.angles(positions, tokens, cos, sin);
        float[] ours = x.clone();
        for (int t = 0; t < tokens; t++) {
            rope.rotate(ours, t * heads * headDim, heads, headDim, cos, sin, t);
        }
        try (GgmlGraph ggml = new GgmlGraph()) {
            MemorySegment in = ggml.floats(x, headDim, heads, tokens);
            int mode = neox ? GgmlGraph.ROPE_NEOX : GgmlGraph.ROPE_NORMAL;
            float[] theirs = ggml.compute(ggml.rope(in, ggml.ints(positions), headDim, mode, base, 1f), x.length);
            assertBits(theirs, ours, "rope");
        }
    }

    /**
     * An F16 matrix whose rows are not a multiple of 8 long (stories260K's {@code ffn_down}): llama.cpp rounds the
     * activations to halves and multiplies in {@code ggml_vec_dot_f16}'s order, for one token and for a batch.
     */
    @ParameterizedTest
    @ValueSource(ints = {172, 100, 21})
    void oddWidthF16ProductsAreGgmls(int cols) {
        int rows = 64;
        int tokens = 5;
        SplittableRandom random = new SplittableRandom(cols);
        float[] w = gaussian(random, rows * cols, 0.1);
        float[] x = gaussian(random, tokens * cols, 1);
        try (Arena arena = Arena.ofConfined();
                WorkerPool pool = new WorkerPool(1);
                GgmlGraph ggml = new GgmlGraph()) {
            MemorySegment data = arena.allocate(2L * rows * cols);
            for (int i = 0; i < w.length; i++) {
                data.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(w[i]));
            }
            QuantizedMatrix matrix = new QuantizedMatrix(GgmlType.F16, rows, cols, data);
            MatMul matmul = new MatMul(pool, tokens, cols);
            float[] batched = new float[tokens * rows];
            matmul.multiply(matrix, x, tokens, batched);
            float[] alone = new float[tokens * rows];
            float[] one = new float[rows];
            for (int t = 0; t < tokens; t++) {
                matmul.multiply(matrix, java.util.Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, one);
                System.arraycopy(one, 0, alone, t * rows, rows);
            }
            float[] theirs =
                    ggml.compute(ggml.mulMat(ggml.halves(w, cols, rows), ggml.floats(x, cols, tokens)), tokens * rows);
            assertBits(theirs, alone, "F16 " + cols + " wide, one token at a time");
            assertBits(theirs, batched, "F16 " + cols + " wide, " + tokens + " tokens at once");
        }
    }

    /**
     * The {@link AttentionNumerics#LLAMA_CPP} kernel against llama.cpp's attention graph without flash attention:
     * {@code soft_max_ext(K·permute(q) * scale + mask) · V}, K and the transposed V in half precision, over a context
     * padded to a multiple of 32 cells as llama.cpp pads it (one more block of 32 to show the padding adds nothing).
     */
    @ParameterizedTest
    @ValueSource(ints = {8, 64})
    void llamaCppAttentionIsGgmls(int headDim) {
        int kvHeads = 4;
        int queryHeads = 8;
        int group = queryHeads / kvHeads;
        KvCacheShape shape = new KvCacheShape(1, kvHeads, headDim, 16, KvType.F16);
        SplittableRandom random = new SplittableRandom(headDim);
        try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 8));
                GgmlGraph ggml = new GgmlGraph()) {
            int[] table = {5, 2, 7, 0, 3};
            for (int context : new int[] {1, 5, 37, 64, 80}) {
                int cells = (Math.ceilDiv(context, 32) + 1) * 32;
                float[] k = new float[cells * kvHeads * headDim]; // [kvHead][cell][dim], as ggml's K view
                float[] vt = new float[cells * kvHeads * headDim]; // [kvHead][dim][cell], V transposed
                for (int p = 0; p < context; p++) {
                    float[] kp = gaussian(random, kvHeads * headDim, 2);
                    float[] vp = gaussian(random, kvHeads * headDim, 1);
                    memory.write(0, table[p / 16] * 16 + p % 16, kp, 0, vp, 0);
                    for (int h = 0; h < kvHeads; h++) {
                        for (int d = 0; d < headDim; d++) {
                            k[(h * cells + p) * headDim + d] = kp[h * headDim + d];
                            vt[(h * headDim + d) * cells + p] = vp[h * headDim + d];
                        }
                    }
                }
                float[] q = gaussian(random, queryHeads * headDim, 2);
                float[] ours = new float[queryHeads * headDim];
                float scale = PagedAttention.defaultScale(memory);
                PagedAttention.create(memory, queryHeads, scale, AttentionNumerics.LLAMA_CPP)
                        .attend(0, q, table, context, ours);
                float[] mask = new float[cells];
                for (int c = context; c < cells; c++) {
                    mask[c] = Float.NEGATIVE_INFINITY;
                }
                MemorySegment keys = ggml.halves(k, headDim, cells, kvHeads);
                MemorySegment values = ggml.halves(vt, cells, headDim, kvHeads);
                MemorySegment query = ggml.permute(ggml.floats(q, headDim, queryHeads, 1), 0, 2, 1, 3);
                MemorySegment probabilities =
                        ggml.softMax(ggml.mulMat(keys, query), ggml.floats(mask, cells, 1), scale);
                float[] theirs = ggml.compute(ggml.mulMat(values, probabilities), queryHeads * headDim);
                assertBits(
                        theirs,
                        ours,
                        "attention, head dim " + headDim + ", context " + context + ", " + group
                                + " query heads a group");
            }
        }
    }
}
