package dev.spindle.bench.model;

import java.util.ArrayList;
import java.util.List;

/** A STREAM-style triad {@code a = b + s * c} over arrays far larger than the caches: the memory bandwidth. */
final class Triad {
    private static final int LENGTH = 32 << 20; // floats per array and thread: 128 MiB

    private Triad() {}

    /** The best of a few runs with {@code threads} threads, counting 3 arrays moved per pass, in GB/s. */
    static double bestGigabytesPerSecond(int threads) throws InterruptedException {
        float[][] a = new float[threads][LENGTH];
        float[][] b = new float[threads][LENGTH];
        float[][] c = new float[threads][LENGTH];
        for (int t = 0; t < threads; t++) {
            java.util.Arrays.fill(b[t], 1f);
            java.util.Arrays.fill(c[t], 2f);
        }
        double best = 0;
        for (int run = 0; run < 6; run++) {
            List<Thread> workers = new ArrayList<>();
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                float[] at = a[t];
                float[] bt = b[t];
                float[] ct = c[t];
                workers.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < LENGTH; i++) {
                        at[i] = bt[i] + 3f * ct[i];
                    }
                }));
            }
            for (Thread w : workers) {
                w.join();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            best = Math.max(best, 3.0 * 4 * LENGTH * threads / seconds / 1e9);
        }
        return best;
    }
}
