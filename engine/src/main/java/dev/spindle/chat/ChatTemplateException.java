package dev.spindle.chat;

/** A chat template that cannot be parsed, or that failed for one conversation (an error for that request only). */
public final class ChatTemplateException extends RuntimeException {

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }

    public ChatTemplateException(String message) {
        super(message);
    }
}
