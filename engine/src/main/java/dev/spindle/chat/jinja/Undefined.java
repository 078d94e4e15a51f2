package dev.spindle.chat.jinja;

/** Jinja's undefined value: what a missing variable, key or attribute evaluates to. Renders as nothing, is false. */
public final class Undefined {

    public static final Undefined INSTANCE = new Undefined();

    private Undefined() {}

    @Override
    public String toString() {
        return "";
    }
}
