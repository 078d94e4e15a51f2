package dev.spindle.gguf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Little-endian byte builder for GGUF files written field by field, so that tests can build files no writer would
 * produce: wrong magic, lengths past the end, hostile counts. Positions of interesting fields are recorded by the
 * caller through {@link #position()} and later patched with {@link #patchU32}/{@link #patchU64}.
 */
final class GgufBytes {

    private byte[] bytes = new byte[1024];
    private int size;

    int position() {
        return size;
    }

    GgufBytes u8(int v) {
        ensure(1);
        bytes[size++] = (byte) v;
        return this;
    }

    GgufBytes u32(long v) {
        ensure(4);
        ByteBuffer.wrap(bytes, size, 4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v);
        size += 4;
        return this;
    }

    GgufBytes u64(long v) {
        ensure(8);
        ByteBuffer.wrap(bytes, size, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
        size += 8;
        return this;
    }

    GgufBytes f32(float v) {
        return u32(Float.floatToRawIntBits(v));
    }

    GgufBytes raw(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, bytes, size, b.length);
        size += b.length;
        return this;
    }

    /** A GGUF string: u64 length then UTF-8 bytes. */
    GgufBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return u64(b.length).raw(b);
    }

    /** A header: magic, version, counts. */
    GgufBytes header(int version, long tensors, long kvs) {
        return raw("GGUF".getBytes(StandardCharsets.US_ASCII))
                .u32(version)
                .u64(tensors)
                .u64(kvs);
    }

    /** A string-valued metadata entry. */
    GgufBytes kvString(String key, String value) {
        return str(key).u32(GgufValueType.STRING.id()).str(value);
    }

    GgufBytes kvU32(String key, long value) {
        return str(key).u32(GgufValueType.UINT32.id()).u32(value);
    }

    /** A tensor description. */
    GgufBytes tensorInfo(String name, int ggmlType, long offset, long... shape) {
        str(name).u32(shape.length);
        for (long d : shape) {
            u64(d);
        }
        return u32(ggmlType).u64(offset);
    }

    /** Zero bytes up to the next multiple of {@code alignment}. */
    GgufBytes pad(int alignment) {
        while (size % alignment != 0) {
            u8(0);
        }
        return this;
    }

    GgufBytes zeros(int n) {
        ensure(n);
        size += n;
        return this;
    }

    void patchU32(int at, long v) {
        ByteBuffer.wrap(bytes, at, 4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v);
    }

    void patchU64(int at, long v) {
        ByteBuffer.wrap(bytes, at, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
    }

    byte[] toArray() {
        return Arrays.copyOf(bytes, size);
    }

    private void ensure(int n) {
        if (size + n > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
        }
    }
}
