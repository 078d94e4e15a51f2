package dev.spindle.chat.jinja;

/** A template that cannot be parsed or rendered, with the line where it went wrong when known. */
public class JinjaException extends RuntimeException {

    public JinjaException(String message) {
        super(message);
    }

    public JinjaException(String message, Throwable cause) {
        super(message, cause);
    }
}
