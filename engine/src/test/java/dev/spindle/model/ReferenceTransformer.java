package dev.spindle.model;

import dev.spindle.quant.ActivationFormat;
import dev.spindle.quant.KQuantActivations;
import dev.spindle.quant.QuantizedMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A plain, obviously-correct transformer forward pass to check the engine against: one sequence, every position
 * recomputed from scratch, no batching, no paging, no SIMD, scalar {@code double} arithmetic over weights
 * dequantized once with the scalar dequantizers. Slow and simple on purpose.
 *
 * <p>One rounding is part of the semantics, because llama.cpp defines it so: a product with weights of a format
 * whose {@link ActivationFormat} is 8-bit (Q8_0, Q4_0, Q5_0: {@code Q8_0}; Q4_1, Q5_1: {@code Q8_1}) first rounds
 * the activations, as floats, to 8 bits per block of 32 ({@link ActivationFormat#quantizeQ8}), and a block's minimum
 * {@code m} meets the rounded sum {@code s} of the activations' block; with Q4_K, Q5_K and Q6_K weights ({@code
 * Q8_K}) they are rounded per block of 256 ({@link KQuantActivations#quantize}); with F16 rows whose length is
 * not a multiple of 8, to half precision ({@link ActivationFormat#F16}). The rest is float64 math on the rounded
 * values.
 */
final class ReferenceTransformer {
    private final ModelConfig config;
    private final boolean halfPrecisionCache;
    private final Weights embedding; // [vocab][dim]
    private final double[] outputNorm; // [dim]
    private final Weights output; // [vocab][dim]
    private final double[] ropeFactors; // [ropeDims / 2] or null
    private final List<Layer> layers = new ArrayList<>();

    private record Layer(
            double[] attnNorm,
            Weights wq,
            Weights wk,
            Weights wv,
            double[] qBias,
            double[] kBias,
            double[] vBias,
            double[] qNorm,
            double[] kNorm,
            Weights wo,
            double[] ffnNorm,
            Weights wGate,
            Weights wUp,
            Weights wDown) {}

    /** Keys and values kept as computed, in float64. */
    ReferenceTransformer(Model model) {
        this(model, false);
    }

    /**
     * With {@code halfPrecisionCache}, keys (after RoPE) and values are rounded to half precision as an F16 KV cache
     * stores them, llama.cpp's default: with 8-bit activations downstream, that rounding is no longer a small
     * perturbation, since it moves activations across the 8-bit rounding's steps.
     */
    ReferenceTransformer(Model model, boolean halfPrecisionCache) {
        this.halfPrecisionCache = halfPrecisionCache;
        this.config = model.config();
        // The weights as the file stores them: the reference reads their bytes, not the model's interleaved copies.
        ModelWeights w = ModelWeights.read(model.file(), model.config());
        embedding = matrix(w.tokenEmbedding());
        outputNorm = vector(w.outputNorm());
        output = w.tiedEmbeddings() ? embedding : matrix(w.output());
        ropeFactors = vector(w.ropeFreqFactors());
        for (LayerWeights l : w.layers()) {
            layers.add(new Layer(
                    vector(l.attnNorm()),
                    matrix(l.wq()),
                    matrix(l.wk()),
                    matrix(l.wv()),
                    vector(l.qBias()),
                    vector(l.kBias()),
                    vector(l.vBias()),
                    vector(l.qNorm()),
                    vector(l.kNorm()),
                    matrix(l.wo()),
                    vector(l.ffnNorm()),
                    matrix(l.wGate()),
                    matrix(l.wUp()),
                    matrix(l.wDown())));
        }
    }

    /** The logits after the last of {@code tokens}, the sequence starting at position 0. */
    double[] logits(int[] tokens) {
        return logitsAfter(tokens, tokens.length)[0];
    }

    /**
     * The logits after each of the given prefix lengths of {@code tokens}, from one pass over the sequence (causal
     * attention makes position {@code p}'s result independent of what follows it).
     */
    double[][] logitsAfter(int[] tokens, int... prefixLengths) {
        int dim = config.dim();
        int headDim = config.headDim();
        int n = tokens.length;
        double[][] x = new double[n][];
        for (int t = 0; t < n; t++) {
            x[t] = embedding.rows()[tokens[t]].clone();
        }
        for (Layer layer : layers) {
            double[][] keys = new double[n][];
            double[][] values = new double[n][];
            double[][] queries = new double[n][];
            for (int t = 0; t < n; t++) {
                double[] h = rmsnorm(x[t], layer.attnNorm());
                queries[t] = add(multiply(layer.wq(), h), layer.qBias());
                keys[t] = add(multiply(layer.wk(), h), layer.kBias());
                values[t] = add(multiply(layer.wv(), h), layer.vBias());
                if (layer.qNorm() != null) {
                    normalizeHeads(queries[t], layer.qNorm());
                    normalizeHeads(keys[t], layer.kNorm());
                }
                rotate(queries[t], t);
                rotate(keys[t], t);
                if (halfPrecisionCache) {
                    toHalf(keys[t]);
                    toHalf(values[t]);
                }
            }
            for (int t = 0; t < n; t++) {
                double[] attended = new double[config.qDim()];
                for (int head = 0; head < config.heads(); head++) {
                    int kvHead = head / config.groupSize();
                    double[] scores = new double[t + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int p = 0; p <= t; p++) {
                        double dot = 0;
                        for (int i = 0; i < headDim; i++) {
                            dot += queries[t][head * headDim + i] * keys[p][kvHead * headDim + i];
                        }
                        scores[p] = dot / Math.sqrt(headDim);
                        max = Math.max(max, scores[p]);
                    }
                    double sum = 0;
                    for (int p = 0; p <= t; p++) {
                        scores[p] = Math.exp(scores[p] - max);
                        sum += scores[p];
                    }
                    for (int p = 0; p <= t; p++) {
                        for (int i = 0; i < headDim; i++) {
                            attended[head * headDim + i] += scores[p] / sum * values[p][kvHead * headDim + i];
                        }
                    }
                }
                double[] projected = multiply(layer.wo(), attended);
                for (int i = 0; i < dim; i++) {
                    x[t][i] += projected[i];
                }
            }
            for (int t = 0; t < n; t++) {
                double[] h = rmsnorm(x[t], layer.ffnNorm());
                double[] g = multiply(layer.wGate(), h);
                double[] u = multiply(layer.wUp(), h);
                for (int i = 0; i < g.length; i++) {
                    g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                }
                double[] down = multiply(layer.wDown(), g);
                for (int i = 0; i < dim; i++) {
                    x[t][i] += down[i];
                }
            }
        }
        double[][] out = new double[prefixLengths.length][];
        for (int i = 0; i < prefixLengths.length; i++) {
            out[i] = multiply(output, rmsnorm(x[prefixLengths[i] - 1], outputNorm));
        }
        return out;
    }

    private static void toHalf(double[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.float16ToFloat(Float.floatToFloat16((float) v[i]));
        }
    }

    private double[] rmsnorm(double[] in, double[] weight) {
        double sum = 0;
        for (double v : in) {
            sum += v * v;
        }
        double scale = 1 / Math.sqrt(sum / in.length + config.rmsNormEps());
        double[] out = new double[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = in[i] * scale * weight[i];
        }
        return out;
    }

    private void normalizeHeads(double[] heads, double[] weight) {
        int headDim = config.headDim();
        for (int h = 0; h < heads.length / headDim; h++) {
            double[] head = new double[headDim];
            System.arraycopy(heads, h * headDim, head, 0, headDim);
            System.arraycopy(rmsnorm(head, weight), 0, heads, h * headDim, headDim);
        }
    }

    /** RoPE: pair i of each head turns by position * freqScale * base^(-2i / ropeDims) / factor[i]. */
    private void rotate(double[] heads, int position) {
        int headDim = config.headDim();
        int ropeDims = config.ropeDims();
        for (int h = 0; h < heads.length / headDim; h++) {
            int base = h * headDim;
            for (int i = 0; i < ropeDims / 2; i++) {
                double frequency = config.ropeFreqScale() * Math.pow(config.ropeFreqBase(), -2.0 * i / ropeDims);
                if (ropeFactors != null) {
                    frequency /= ropeFactors[i];
                }
                double angle = position * frequency;
                int a;
                int b;
                if (config.ropeStyle() == RopeStyle.NORMAL) {
                    a = base + 2 * i;
                    b = a + 1;
                } else {
                    a = base + i;
                    b = a + ropeDims / 2;
                }
                double x0 = heads[a];
                double x1 = heads[b];
                heads[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                heads[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }

    /**
     * A weight matrix dequantized, with what its products need: for {@link ActivationFormat#Q8_1} weights the minimum
     * {@code m} of each block, {@code [rows][cols / 32]} (null otherwise).
     */
    private record Weights(double[][] rows, ActivationFormat format, double[][] minimums) {}

    private static double[] multiply(Weights w, double[] in) {
        double[] x = in;
        double[] blockSums = null;
        if (w.format() == ActivationFormat.Q8_K) {
            x = roundedForKQuants(in);
        } else if (w.format() == ActivationFormat.F16) {
            // llama.cpp rounds the activations of F16 rows to halves where its vec_dot path takes them: rows whose
            // length is not a multiple of 8 (tinyBLAS takes the others, with float activations).
            if (in.length % 8 != 0) {
                x = in.clone();
                toHalf(x);
            }
        } else if (w.format() != ActivationFormat.FLOAT) {
            // llama.cpp's rounding of the activations: x becomes d * q per block of 32.
            float[] f = new float[in.length];
            for (int c = 0; c < in.length; c++) {
                f[c] = (float) in[c];
            }
            int blocks = in.length / ActivationFormat.BLOCK;
            int[] q = new int[in.length];
            float[] d = new float[blocks];
            float[] s = new float[blocks];
            ActivationFormat.quantizeQ8(f, 0, in.length, q, 0, d, s, 0);
            x = new double[in.length];
            for (int c = 0; c < in.length; c++) {
                x[c] = (double) d[c / ActivationFormat.BLOCK] * q[c];
            }
            blockSums = new double[blocks];
            for (int b = 0; b < blocks; b++) {
                blockSums[b] = s[b];
            }
        }
        double[] out = new double[w.rows().length];
        for (int r = 0; r < out.length; r++) {
            double[] row = w.rows()[r];
            double sum = 0;
            for (int c = 0; c < x.length; c++) {
                sum += row[c] * x[c];
            }
            if (w.minimums() != null) {
                // The minimum meets llama.cpp's rounded s, not the sum of the rounded activations.
                double[] m = w.minimums()[r];
                for (int b = 0; b < m.length; b++) {
                    double xs = 0;
                    for (int j = 0; j < ActivationFormat.BLOCK; j++) {
                        xs += x[b * ActivationFormat.BLOCK + j];
                    }
                    sum += m[b] * (blockSums[b] - xs);
                }
            }
            out[r] = sum;
        }
        return out;
    }

    private static double[] add(double[] a, double[] bias) {
        if (bias != null) {
            for (int i = 0; i < a.length; i++) {
                a[i] += bias[i];
            }
        }
        return a;
    }

    private static double[] vector(MemorySegment f32) {
        if (f32 == null) {
            return null;
        }
        double[] out = new double[(int) (f32.byteSize() / 4)];
        for (int i = 0; i < out.length; i++) {
            out[i] = f32.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
        }
        return out;
    }

    private static Weights matrix(QuantizedMatrix w) {
        double[][] out = new double[w.rows()][w.cols()];
        float[] row = new float[w.cols()];
        for (int r = 0; r < w.rows(); r++) {
            w.type().kernels().dequantizeScalar(w.data(), r * w.rowBytes(), row, 0, w.cols());
            for (int c = 0; c < w.cols(); c++) {
                out[r][c] = row[c];
            }
        }
        ActivationFormat format = w.type().kernels().activationFormat();
        double[][] minimums = null;
        if (format == ActivationFormat.Q8_1) {
            // Q4_1 and Q5_1 keep each block's minimum in half precision at its byte 2.
            int blocks = w.cols() / w.type().blockSize();
            minimums = new double[w.rows()][blocks];
            for (int r = 0; r < w.rows(); r++) {
                for (int b = 0; b < blocks; b++) {
                    long at = r * w.rowBytes() + (long) b * w.type().bytesPerBlock() + 2;
                    minimums[r][b] = Float.float16ToFloat(
                            w.data().get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), at));
                }
            }
        }
        return new Weights(out, format, minimums);
    }

    /**
     * The activations a K-quant product (Q4_K, Q5_K, Q6_K) takes: as floats (the engine's activations are floats),
     * rounded per block of 256 by llama.cpp's {@code quantize_row_q8_K} ({@link KQuantActivations#quantize}), then
     * exactly {@code d * q}. Other types get {@code in} unchanged.
     */
    private static double[] roundedForKQuants(double[] in) {
        float[] x = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            x[i] = (float) in[i];
        }
        float[] q = new float[in.length];
        float[] d = new float[in.length / KQuantActivations.BLOCK];
        KQuantActivations.quantize(x, 0, in.length, q, 0, d, 0);
        double[] out = new double[in.length];
        for (int i = 0; i < in.length; i++) {
            out[i] = (double) d[i / KQuantActivations.BLOCK] * q[i];
        }
        return out;
    }
}
