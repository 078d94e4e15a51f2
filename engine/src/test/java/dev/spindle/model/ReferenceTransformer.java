package dev.spindle.model;

import dev.spindle.quant.GgmlType;
import dev.spindle.quant.KQuantActivations;
import dev.spindle.quant.QuantizedMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * A plain, obviously-correct transformer forward pass to check the engine against: one sequence, every position
 * recomputed from scratch, no batching, no paging, no SIMD, scalar {@code double} arithmetic over weights
 * dequantized once with the scalar dequantizers. Slow and simple on purpose.
 *
 * <p>Activations enter a product as llama.cpp defines it for the weight type (ggml's {@code vec_dot_type}): for
 * Q4_K, Q5_K and Q6_K they are rounded to 8 bits per block of 256 ({@link #roundedForKQuants}) before the product,
 * which is otherwise exact.
 */
final class ReferenceTransformer {
    private final ModelConfig config;
    private final double[][] embedding; // [vocab][dim]
    private final double[] outputNorm; // [dim]
    private final double[][] output; // [vocab][dim]
    private final double[] ropeFactors; // [ropeDims / 2] or null
    private final List<Layer> layers = new ArrayList<>();
    private final IdentityHashMap<double[][], GgmlType> types = new IdentityHashMap<>(); // each matrix's file type

    private record Layer(
            double[] attnNorm,
            double[][] wq,
            double[][] wk,
            double[][] wv,
            double[] qBias,
            double[] kBias,
            double[] vBias,
            double[] qNorm,
            double[] kNorm,
            double[][] wo,
            double[] ffnNorm,
            double[][] wGate,
            double[][] wUp,
            double[][] wDown) {}

    ReferenceTransformer(Model model) {
        this.config = model.config();
        ModelWeights w = model.weights();
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
            x[t] = embedding[tokens[t]].clone();
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

    private double[] multiply(double[][] w, double[] in) {
        in = roundedForKQuants(types.get(w), in);
        double[] out = new double[w.length];
        for (int r = 0; r < w.length; r++) {
            double sum = 0;
            for (int c = 0; c < in.length; c++) {
                sum += w[r][c] * in[c];
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

    private double[][] matrix(QuantizedMatrix w) {
        double[][] out = new double[w.rows()][w.cols()];
        types.put(out, w.type());
        float[] row = new float[w.cols()];
        for (int r = 0; r < w.rows(); r++) {
            w.type().kernels().dequantizeScalar(w.data(), r * w.rowBytes(), row, 0, w.cols());
            for (int c = 0; c < w.cols(); c++) {
                out[r][c] = row[c];
            }
        }
        return out;
    }

    /**
     * The activations a K-quant product (Q4_K, Q5_K, Q6_K) takes: as floats (the engine's activations are floats),
     * rounded per block of 256 by llama.cpp's {@code quantize_row_q8_K} ({@link KQuantActivations#quantize}), then
     * exactly {@code d * q}. Other types get {@code in} unchanged.
     */
    private static double[] roundedForKQuants(GgmlType type, double[] in) {
        if (type != GgmlType.Q4_K && type != GgmlType.Q5_K && type != GgmlType.Q6_K) {
            return in;
        }
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
