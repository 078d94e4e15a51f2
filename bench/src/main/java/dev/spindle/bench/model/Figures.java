package dev.spindle.bench.model;

/**
 * One engine's throughput on one model file, in tokens per second.
 *
 * @param prompt prompt processing: tokens of one long prompt per second of its prefill
 * @param decode single-sequence decode: generated tokens per second
 * @param aggregate decode of several sequences in one batch: generated tokens of all of them per second
 */
record Figures(double prompt, double decode, double aggregate) {

    /** The better of two runs, figure by figure. */
    Figures best(Figures other) {
        return new Figures(
                Math.max(prompt, other.prompt), Math.max(decode, other.decode), Math.max(aggregate, other.aggregate));
    }

    /** A line for a child process to print and its parent to parse. */
    String toLine() {
        return "figures " + prompt + " " + decode + " " + aggregate;
    }

    static Figures parse(String line) {
        String[] f = line.trim().split(" ");
        if (f.length != 4 || !f[0].equals("figures")) {
            throw new IllegalArgumentException("not a figures line: " + line);
        }
        return new Figures(Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]));
    }
}
