package dev.spindle.gguf;

/**
 * A GGUF file is malformed, hostile, or lacks something the reader was asked for: bad magic, unsupported version, a
 * length or count past the end of the file, tensor data outside the file, a metadata value of the wrong type, a missing
 * key or tensor.
 *
 * <p>Unchecked, so that a model loader can read metadata without a {@code throws} clause on every accessor; failures
 * to read the file at all (missing file, permissions) are still {@link java.io.IOException}s from {@link
 * GgufFile#open}. The message always names the problem and, where there is one, the key, tensor or byte offset.
 */
public final class GgufFormatException extends RuntimeException {

    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
