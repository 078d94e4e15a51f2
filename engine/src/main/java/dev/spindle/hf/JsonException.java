package dev.spindle.hf;

/** Malformed JSON, or JSON that lacks what a Hugging Face file must hold; the message says where. */
public final class JsonException extends RuntimeException {

    public JsonException(String message) {
        super(message);
    }
}
