package dev.spindle.chat;

import java.util.List;
import java.util.Objects;

/**
 * One turn of a conversation.
 *
 * @param role {@code system}, {@code user}, {@code assistant} or {@code tool}
 * @param content the text, or {@code null} (an assistant turn that only calls tools)
 * @param reasoningContent an assistant's reasoning kept apart from its answer, or {@code null}
 * @param toolCalls the functions an assistant turn calls (empty when none)
 * @param toolCallId for a {@code tool} turn, the call it answers, or {@code null}
 * @param name for a {@code tool} turn, the function's name, or {@code null}
 */
public record ChatMessage(
        String role,
        String content,
        String reasoningContent,
        List<ToolCall> toolCalls,
        String toolCallId,
        String name) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content, null, List.of(), null, null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content, null, List.of(), null, null);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content, null, List.of(), null, null);
    }

    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        return new ChatMessage("assistant", content, null, toolCalls, null, null);
    }

    public static ChatMessage tool(String content, String toolCallId, String name) {
        return new ChatMessage("tool", content, null, List.of(), toolCallId, name);
    }

    public static ChatMessage of(String role, String content) {
        return new ChatMessage(role, content, null, List.of(), null, null);
    }
}
