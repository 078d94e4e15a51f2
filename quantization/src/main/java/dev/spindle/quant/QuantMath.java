package dev.spindle.quant;

/** Rounding as the C library and ggml's reference quantizers do it. */
final class QuantMath {

    private QuantMath() {}

    /** C's {@code roundf}: halves away from zero. */
    static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);
    }

    /** ggml's {@code nearest_int}: halves to even (its magic-number trick, valid below 2^22). */
    static int nearestInt(float v) {
        return (int) Math.rint(v);
    }
}
