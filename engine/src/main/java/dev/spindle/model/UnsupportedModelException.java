package dev.spindle.model;

/** A model file the engine cannot run: an unknown architecture, a missing tensor, an unsupported tensor type, .... */
public final class UnsupportedModelException extends RuntimeException {
    public UnsupportedModelException(String message) {
        super(message);
    }
}
