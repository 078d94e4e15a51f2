package dev.spindle.numerics;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link GgmlMath} against the C library it reproduces: this process's own {@code expf}, {@code sinf} and {@code cosf},
 * called through FFM (glibc on x86-64, the library llama.cpp's build calls); its vector SwiGLU against its scalar twin
 * and the definition. (ggml's vector exponential and SiLU are held against ggml itself, run through FFM, in the
 * engine's {@code LlamaCppArithmeticTest}, where the graph helper {@code GgmlGraph} lives.)
 */
class GgmlMathTest {
    private static final Linker LINKER = Linker.nativeLinker();

    private static MethodHandle libm(String name) {
        return LINKER.downcallHandle(
                LINKER.defaultLookup().findOrThrow(name), FunctionDescriptor.of(JAVA_FLOAT, JAVA_FLOAT));
    }

    private static boolean glibcOnX86() {
        return System.getProperty("os.name").toLowerCase().contains("linux")
                && System.getProperty("os.arch").matches("amd64|x86_64");
    }

    @Test
    void expfIsTheCLibrarysBitForBit() throws Throwable {
        assumeTrue(glibcOnX86(), "the reproduced expf is glibc's on x86-64");
        MethodHandle expf = libm("expf");
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 1_000_000; i++) {
            // Spread over the whole range, the overflow and underflow edges included.
            float x = i < 500_000 ? (float) (random.nextDouble() * 220 - 110) : (float) (random.nextGaussian() * 4);
            float theirs = (float) expf.invokeExact(x);
            assertEquals(Float.floatToRawIntBits(theirs), Float.floatToRawIntBits(GgmlMath.expf(x)), "expf(" + x + ")");
        }
        for (float x : new float[] {0f, -0f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 88.72283f, -103.972f}) {
            float theirs = (float) expf.invokeExact(x);
            assertEquals(Float.floatToRawIntBits(theirs), Float.floatToRawIntBits(GgmlMath.expf(x)), "expf(" + x + ")");
        }
    }

    @Test
    void sinfAndCosfAreTheCLibrarysBitForBit() throws Throwable {
        assumeTrue(glibcOnX86(), "the reproduced sinf and cosf are glibc's on x86-64");
        MethodHandle sinf = libm("sinf");
        MethodHandle cosf = libm("cosf");
        SplittableRandom random = new SplittableRandom(2);
        for (int i = 0; i < 1_000_000; i++) {
            float x = switch (i % 5) {
                case 0 -> (float) (random.nextDouble() * 240 - 120);
                case 1 -> (float) (random.nextDouble() * 2 - 1);
                // RoPE's angles: a position times a power of the frequency ratio
                case 2 -> (float) (random.nextInt(200_000) * Math.pow(0.1, random.nextInt(6)));
                // glibc's large-argument reduction
                case 3 -> (float) ((random.nextDouble() - 0.5) * 2e6);
                default -> (float) ((random.nextDouble() - 0.5) * 6e38);
            };
            float s = (float) sinf.invokeExact(x);
            float c = (float) cosf.invokeExact(x);
            assertEquals(Float.floatToRawIntBits(s), Float.floatToRawIntBits(GgmlMath.sinf(x)), "sinf(" + x + ")");
            assertEquals(Float.floatToRawIntBits(c), Float.floatToRawIntBits(GgmlMath.cosf(x)), "cosf(" + x + ")");
        }
        for (float x : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 120f}) {
            // (NaNs compared as NaN, whatever their payload)
            assertEquals(
                    Float.floatToIntBits((float) sinf.invokeExact(x)),
                    Float.floatToIntBits(GgmlMath.sinf(x)),
                    "sinf(" + x + ")");
            assertEquals(
                    Float.floatToIntBits((float) cosf.invokeExact(x)),
                    Float.floatToIntBits(GgmlMath.cosf(x)),
                    "cosf(" + x + ")");
        }
    }

    @Test
    void ggmlsExponentialIsNearTheTruth() {
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 1_000_000; i++) {
            float x = (float) (random.nextGaussian() * 30);
            double e = Math.exp(x);
            if (e > 1e-30 && e < 1e30) {
                assertEquals(e, GgmlMath.vectorExp(x), 4e-7 * e, "exp(" + x + ")");
            }
        }
    }

    @Test
    void swigluTwinsAgreeAndFollowTheDefinition() {
        SplittableRandom random = new SplittableRandom(4);
        int width = 172; // 21 chunks of 8 and a tail of 4, as stories260K's FFN
        float[] g = new float[width];
        float[] u = new float[width];
        for (int i = 0; i < 5_000; i++) {
            for (int l = 0; l < width; l++) {
                g[l] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-2, 3)));
                u[l] = (float) random.nextGaussian();
            }
            float[] vector = g.clone();
            float[] scalar = g.clone();
            GgmlMath.swiglu(vector, u, 0, width);
            GgmlMath.swigluScalar(scalar, u, 0, width);
            for (int l = 0; l < width; l++) {
                assertEquals(Float.floatToIntBits(scalar[l]), Float.floatToIntBits(vector[l]), "swiglu(" + g[l] + ")");
                double exact = g[l] / (1 + Math.exp(-(double) g[l])) * u[l];
                assertEquals(
                        exact, scalar[l], 1e-6 * Math.max(1, Math.abs(exact)), "swiglu(" + g[l] + ", " + u[l] + ")");
            }
        }
    }
}
