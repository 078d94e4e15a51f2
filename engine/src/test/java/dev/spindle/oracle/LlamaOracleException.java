package dev.spindle.oracle;

/** llama.cpp failed on a request, or its fork failed, timed out or answered nonsense. */
public final class LlamaOracleException extends RuntimeException {

    public LlamaOracleException(String message) {
        super(message);
    }

    public LlamaOracleException(String message, Throwable cause) {
        super(message, cause);
    }
}
