package dev.spindle.quant;

import jdk.incubator.vector.FloatVector;

/**
 * Which kernels run: the Vector API ones, or their scalar twins everywhere.
 *
 * <p>The system property {@code spindle.kernels=scalar} forces the scalar twins (the whole test suite passes with it
 * on). The vector kernels are written for 256-bit vectors (eight float lanes); on hardware whose preferred vector is
 * narrower (for example 128-bit NEON) they would run emulated, far slower than scalar code, so the scalar twins are
 * chosen there too.
 */
public final class Kernels {

    /** Name of the system property that picks the kernels: {@code vector} (the default) or {@code scalar}. */
    public static final String PROPERTY = "spindle.kernels";

    /** Whether the Vector API kernels run. */
    public static final boolean VECTOR = chooseVector(System.getProperty(PROPERTY, "vector"));

    private Kernels() {}

    private static boolean chooseVector(String choice) {
        return switch (choice) {
            case "scalar" -> false;
            case "vector" -> FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256;
            default ->
                throw new IllegalArgumentException(
                        "%s must be 'vector' or 'scalar', not '%s'".formatted(PROPERTY, choice));
        };
    }

    /** A line for logs and benchmarks: which kernels run and why. */
    public static String description() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        return VECTOR ? "vector kernels (256-bit, hardware prefers " + bits + "-bit)" : "scalar kernels";
    }
}
