package dev.spindle.chat;

import java.util.Objects;

/**
 * A function call an assistant turn made, as OpenAI's API carries it.
 *
 * @param id the call's id, or {@code null}
 * @param name the function's name
 * @param arguments the arguments as JSON text, exactly as the model wrote them
 */
public record ToolCall(String id, String name, String arguments) {

    public ToolCall {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
    }
}
