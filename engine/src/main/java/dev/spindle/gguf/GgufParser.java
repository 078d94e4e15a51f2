package dev.spindle.gguf;

import dev.spindle.quant.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the header of a mapped GGUF file: the magic, version, metadata and tensor descriptions, validating every
 * length, count and offset against the mapping before it is used, so that a hostile file ends in a {@link
 * GgufFormatException} and never in an allocation sized by the file or an out-of-bounds access.
 *
 * <p>Layout (little-endian):
 *
 * <pre>
 *   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
 *   kv_count   x { string key | u32 value_type | value }
 *   tensor_count x { string name | u32 n_dims | u64 dims[n_dims] | u32 ggml_type | u64 offset }
 *   padding to general.alignment (default 32)
 *   data section: each tensor at data_start + offset, offsets multiples of the alignment
 * </pre>
 */
final class GgufParser {

    static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4; // GGML_MAX_DIMS

    /**
     * The longest metadata array accepted. Real vocabularies hold a few hundred thousand entries; a larger count is
     * taken as hostile even when the file is big enough, so that no file can demand gigabytes of heap.
     */
    static final int MAX_ARRAY_LENGTH = 1 << 26;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** What the header says. */
    record Header(int version, GgufMetadata metadata, List<GgufTensor> tensors, long alignment, long dataOffset) {}

    private final MemorySegment file;
    private final long size;
    private long pos;
    private byte[] scratch = new byte[256];

    private GgufParser(MemorySegment file) {
        this.file = file;
        this.size = file.byteSize();
    }

    static Header parse(MemorySegment file) {
        return new GgufParser(file).header();
    }

    private Header header() {
        require(4, "the magic number");
        int magic = file.get(U32, 0);
        if (magic != MAGIC) {
            throw new GgufFormatException(
                    "bad magic 0x%08x at offset 0: not a GGUF file (expected \"GGUF\")".formatted(magic));
        }
        pos = 4;
        int version = u32("the version");
        if (version == Integer.reverseBytes(2) || version == Integer.reverseBytes(3)) {
            throw new GgufFormatException(
                    "big-endian GGUF files are not supported (version field reads 0x%08x)".formatted(version));
        }
        if (version != 2 && version != 3) {
            throw new GgufFormatException("unsupported GGUF version %d (Spindle reads versions 2 and 3)"
                    .formatted(Integer.toUnsignedLong(version)));
        }
        long tensorCount = u64("the tensor count");
        long kvCount = u64("the metadata count");
        // The smallest possible entries: a key/name length, a type and a one-byte value; a name, one dimension, a type
        // and an offset. A count needing more bytes than remain cannot be honest.
        checkCount(kvCount, 8 + 4 + 1, "metadata key-value count");
        checkCount(tensorCount, 8 + 4 + 8 + 4 + 8, "tensor count");

        Map<String, GgufValue> values = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyOffset = pos;
            String key = string("metadata key #" + i);
            int typeId = u32("the type of metadata key '" + key + "'");
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) {
                throw new GgufFormatException("metadata key '%s' has unknown value type %d (at offset %d)"
                        .formatted(key, Integer.toUnsignedLong(typeId), keyOffset));
            }
            GgufValue value = value(key, type);
            if (values.putIfAbsent(key, value) != null) {
                throw new GgufFormatException("duplicate metadata key '%s' (at offset %d)".formatted(key, keyOffset));
            }
        }
        GgufMetadata metadata = new GgufMetadata(values);
        long alignment = alignment(metadata);

        record Info(String name, GgmlType type, long[] shape, long offset, long bytes) {}
        List<Info> infos = new ArrayList<>((int) Math.min(tensorCount, 4096));
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            long infoOffset = pos;
            String name = string("the name of tensor #" + i);
            if (!names.add(name)) {
                throw new GgufFormatException("duplicate tensor name '%s' (at offset %d)".formatted(name, infoOffset));
            }
            int rank = u32("the dimension count of tensor '" + name + "'");
            if (rank < 1 || rank > MAX_DIMS) {
                throw new GgufFormatException("tensor '%s' has %d dimensions; GGML allows 1 to %d"
                        .formatted(name, Integer.toUnsignedLong(rank), MAX_DIMS));
            }
            long[] shape = new long[rank];
            long elements = 1;
            for (int d = 0; d < rank; d++) {
                shape[d] = u64("dimension " + d + " of tensor '" + name + "'");
                if (shape[d] < 1) {
                    throw new GgufFormatException("tensor '%s' has dimension %d of size %s; sizes must be at least 1"
                            .formatted(name, d, Long.toUnsignedString(shape[d])));
                }
                try {
                    elements = Math.multiplyExact(elements, shape[d]);
                } catch (ArithmeticException e) {
                    throw new GgufFormatException("tensor '%s' with shape %s has more elements than a long can count"
                            .formatted(name, unsigned(shape)));
                }
            }
            int typeId = u32("the type of tensor '" + name + "'");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw new GgufFormatException("tensor '%s' has unknown or unsupported GGML type id %d"
                        .formatted(name, Integer.toUnsignedLong(typeId)));
            }
            if (shape[0] % type.blockSize() != 0) {
                throw new GgufFormatException(
                        "tensor '%s' (%s, shape %s): row length %d is not a multiple of the %d-element %s block"
                                .formatted(name, type, Arrays.toString(shape), shape[0], type.blockSize(), type));
            }
            long bytes;
            try {
                bytes = type.bytesFor(elements);
            } catch (ArithmeticException e) {
                throw new GgufFormatException("tensor '%s' (%s, shape %s) has a byte size that overflows a long"
                        .formatted(name, type, Arrays.toString(shape)));
            }
            long offset = u64("the data offset of tensor '" + name + "'");
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException("tensor '%s' data offset %s is not a multiple of the alignment %d"
                        .formatted(name, Long.toUnsignedString(offset), alignment));
            }
            infos.add(new Info(name, type, shape, offset, bytes));
        }

        long dataOffset = alignUp(pos, alignment);
        long dataSize = Math.max(0, size - dataOffset);
        List<GgufTensor> tensors = new ArrayList<>(infos.size());
        for (Info info : infos) {
            if (info.offset > dataSize || info.bytes > dataSize - info.offset) {
                throw new GgufFormatException(
                        "tensor '%s' (%s, shape %s, %d bytes at data offset %d) extends past the end of the file: the data section holds %d bytes from offset %d"
                                .formatted(
                                        info.name,
                                        info.type,
                                        Arrays.toString(info.shape),
                                        info.bytes,
                                        info.offset,
                                        dataSize,
                                        dataOffset));
            }
            MemorySegment data = file.asSlice(dataOffset + info.offset, info.bytes);
            tensors.add(new GgufTensor(info.name, info.type, info.shape, info.offset, data));
        }
        return new Header(version, metadata, Collections.unmodifiableList(tensors), alignment, dataOffset);
    }

    private static long alignment(GgufMetadata metadata) {
        GgufValue v = metadata.value("general.alignment");
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        if (!v.type().isInteger()) {
            throw new GgufFormatException("general.alignment is %s, expected an integer".formatted(v.type()));
        }
        long a = (Long) v.value();
        if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw new GgufFormatException("general.alignment is %s; it must be a power of two no larger than 2^30"
                    .formatted(Long.toUnsignedString(a)));
        }
        return a;
    }

    private GgufValue value(String key, GgufValueType type) {
        return switch (type) {
            case UINT8 -> GgufValue.uint8(Byte.toUnsignedInt(u8(key)));
            case INT8 -> GgufValue.int8(u8(key));
            case UINT16 -> GgufValue.uint16(Short.toUnsignedInt(u16(key)));
            case INT16 -> GgufValue.int16(u16(key));
            case UINT32 -> GgufValue.uint32(Integer.toUnsignedLong(u32(key)));
            case INT32 -> GgufValue.int32(u32(key));
            case UINT64 -> GgufValue.uint64(u64(key));
            case INT64 -> GgufValue.int64(u64(key));
            case FLOAT32 -> {
                require(4, key);
                float f = file.get(F32, pos);
                pos += 4;
                yield GgufValue.float32(f);
            }
            case FLOAT64 -> {
                require(8, key);
                double d = file.get(F64, pos);
                pos += 8;
                yield GgufValue.float64(d);
            }
            case BOOL -> {
                byte b = u8(key);
                if (b != 0 && b != 1) {
                    throw new GgufFormatException(
                            "metadata key '%s' is a BOOL holding %d, not 0 or 1".formatted(key, Byte.toUnsignedInt(b)));
                }
                yield GgufValue.bool(b == 1);
            }
            case STRING -> GgufValue.string(string("the value of metadata key '" + key + "'"));
            case ARRAY -> array(key);
        };
    }

    private GgufValue array(String key) {
        int elementId = u32("the element type of array '" + key + "'");
        GgufValueType element = GgufValueType.byId(elementId);
        if (element == null) {
            throw new GgufFormatException("metadata array '%s' has unknown element type %d"
                    .formatted(key, Integer.toUnsignedLong(elementId)));
        }
        if (element == GgufValueType.ARRAY) {
            throw new GgufFormatException(
                    "metadata array '%s' holds arrays; arrays of arrays are not supported".formatted(key));
        }
        long countOffset = pos;
        long count = u64("the length of array '" + key + "'");
        long remaining = size - pos;
        if (count < 0 || count > remaining / element.minBytes()) {
            throw new GgufFormatException(
                    "metadata array '%s' claims %s %s elements (at offset %d), past the end of the file: only %d bytes remain"
                            .formatted(key, Long.toUnsignedString(count), element, countOffset, remaining));
        }
        if (count > MAX_ARRAY_LENGTH) {
            throw new GgufFormatException("metadata array '%s' has %d elements, more than the %d Spindle accepts"
                    .formatted(key, count, MAX_ARRAY_LENGTH));
        }
        int n = (int) count;
        long bytes = count * element.minBytes(); // exact for fixed-size elements; checked above
        Object elements = switch (element) {
            case UINT8, INT8, BOOL -> {
                byte[] a = new byte[n];
                MemorySegment.copy(file, ValueLayout.JAVA_BYTE, pos, a, 0, n);
                pos += bytes;
                if (element != GgufValueType.BOOL) {
                    yield a;
                }
                boolean[] flags = new boolean[n];
                for (int i = 0; i < n; i++) {
                    if (a[i] != 0 && a[i] != 1) {
                        throw new GgufFormatException("metadata array '%s' element %d is a BOOL holding %d"
                                .formatted(key, i, Byte.toUnsignedInt(a[i])));
                    }
                    flags[i] = a[i] == 1;
                }
                yield flags;
            }
            case UINT16, INT16 -> {
                short[] a = new short[n];
                MemorySegment.copy(file, U16, pos, a, 0, n);
                pos += bytes;
                yield a;
            }
            case UINT32, INT32 -> {
                int[] a = new int[n];
                MemorySegment.copy(file, U32, pos, a, 0, n);
                pos += bytes;
                yield a;
            }
            case UINT64, INT64 -> {
                long[] a = new long[n];
                MemorySegment.copy(file, U64, pos, a, 0, n);
                pos += bytes;
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                MemorySegment.copy(file, F32, pos, a, 0, n);
                pos += bytes;
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                MemorySegment.copy(file, F64, pos, a, 0, n);
                pos += bytes;
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) {
                    a[i] = string(key, i);
                }
                yield Collections.unmodifiableList(Arrays.asList(a));
            }
            case ARRAY -> throw new AssertionError("rejected above");
        };
        return new GgufValue(GgufValueType.ARRAY, element, elements);
    }

    private void checkCount(long count, int minBytesEach, String what) {
        long remaining = size - pos;
        if (count < 0 || count > remaining / minBytesEach) {
            throw new GgufFormatException("%s %s cannot fit in the %d bytes left in a %d-byte file"
                    .formatted(what, Long.toUnsignedString(count), remaining, size));
        }
    }

    private void require(long n, String what) {
        if (n > size - pos) {
            throw new GgufFormatException("truncated file: %d bytes needed at offset %d for %s, but the file ends at %d"
                    .formatted(n, pos, what, size));
        }
    }

    private byte u8(String what) {
        require(1, what);
        return file.get(ValueLayout.JAVA_BYTE, pos++);
    }

    private short u16(String what) {
        require(2, what);
        short v = file.get(U16, pos);
        pos += 2;
        return v;
    }

    private int u32(String what) {
        require(4, what);
        int v = file.get(U32, pos);
        pos += 4;
        return v;
    }

    private long u64(String what) {
        require(8, what);
        long v = file.get(U64, pos);
        pos += 8;
        return v;
    }

    private String string(String what) {
        return string(what, -1);
    }

    /** A length-prefixed UTF-8 string; {@code index >= 0} names an array element in error messages. */
    private String string(String what, int index) {
        long lengthOffset = pos;
        if (8 > size - pos) {
            throw new GgufFormatException(
                    "truncated file: string length of %s needed at offset %d, but the file ends at %d"
                            .formatted(describe(what, index), pos, size));
        }
        long length = file.get(U64, pos);
        pos += 8;
        if (length < 0 || length > size - pos) {
            throw new GgufFormatException("string length %s of %s (at offset %d) runs past the end of the %d-byte file"
                    .formatted(Long.toUnsignedString(length), describe(what, index), lengthOffset, size));
        }
        if (length > Integer.MAX_VALUE - 8) {
            throw new GgufFormatException("string of %s is %d bytes long, more than a Java string holds"
                    .formatted(describe(what, index), length));
        }
        int n = (int) length;
        if (scratch.length < n) {
            scratch = new byte[Math.max(n, scratch.length * 2)];
        }
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, pos, scratch, 0, n);
        pos += n;
        // Malformed UTF-8 is replaced by U+FFFD, as llama.cpp would print it; GGUF strings are UTF-8 by specification.
        return new String(scratch, 0, n, StandardCharsets.UTF_8);
    }

    private static String describe(String what, int index) {
        return index < 0 ? what : "element " + index + " of array '" + what + "'";
    }

    private static String unsigned(long[] shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(Long.toUnsignedString(shape[i]));
        }
        return sb.append(']').toString();
    }

    static long alignUp(long offset, long alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }
}
