package dev.spindle.gguf;

import dev.spindle.quant.GgmlType;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes a GGUF v3 file without holding tensor data on the heap.
 *
 * <p>Collect metadata and tensor descriptions, then {@link #write(Path)}: it lays the file out (header, padding to the
 * alignment, each tensor at an aligned offset followed by zero padding, as llama.cpp writes), creates it at full size,
 * maps it, and calls each tensor's {@link TensorFiller} with the tensor's slice of the mapping to write into directly.
 * Only the header (metadata, which for a large vocabulary is a few megabytes) is built on the heap. The file is written
 * beside its destination and moved into place when complete, so a failed write leaves no file that looks finished.
 *
 * <p>The alignment is {@code general.alignment} when that key is set (through {@link #alignment(int)} or {@link
 * #put}), else 32.
 */
public final class GgufWriter {

    /** Writes a tensor's bytes into its slice of the mapped file. */
    @FunctionalInterface
    public interface TensorFiller {
        /**
         * Fills {@code target}, which is exactly the tensor's size and initially zero. May use several threads: the
         * mapping is shared.
         */
        void fill(MemorySegment target) throws IOException;
    }

    private record PendingTensor(String name, GgmlType type, long[] shape, long bytes, TensorFiller filler) {}

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    /** Sets a metadata value; setting a key again replaces its value and keeps its position. */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        if (key.equals("general.alignment")) {
            checkAlignment(value);
        }
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValue.string(value));
    }

    public GgufWriter putUInt32(String key, long value) {
        return put(key, GgufValue.uint32(value));
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValue.int32(value));
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValue.float32(value));
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValue.bool(value));
    }

    public GgufWriter putStringArray(String key, List<String> value) {
        return put(key, GgufValue.stringArray(value));
    }

    /** Copies every key of {@code source}, in its order. */
    public GgufWriter putAll(GgufMetadata source) {
        source.asMap().forEach(this::put);
        return this;
    }

    /** Removes a key if present. */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Sets {@code general.alignment}: a power of two. */
    public GgufWriter alignment(int alignment) {
        return put("general.alignment", GgufValue.uint32(alignment));
    }

    /** The alignment the file will have. */
    public long alignment() {
        GgufValue v = metadata.get("general.alignment");
        return v == null ? GgufParser.DEFAULT_ALIGNMENT : (Long) v.value();
    }

    /**
     * Adds a tensor, in file order.
     *
     * @param shape dimensions in GGML order, innermost (row length) first
     * @param filler writes the tensor's bytes when the file is written
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, TensorFiller filler) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(filler, "filler");
        if (shape.length < 1 || shape.length > GgufParser.MAX_DIMS) {
            throw new IllegalArgumentException(
                    "tensor '%s' has %d dimensions; GGML allows 1 to 4".formatted(name, shape.length));
        }
        long elements = 1;
        for (long d : shape) {
            if (d < 1) {
                throw new IllegalArgumentException("tensor '%s' has shape %s".formatted(name, Arrays.toString(shape)));
            }
            elements = Math.multiplyExact(elements, d);
        }
        if (shape[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '%s': row length %d is not a multiple of the %s block of %d"
                    .formatted(name, shape[0], type, type.blockSize()));
        }
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("duplicate tensor '" + name + "'");
        }
        tensors.add(new PendingTensor(name, type, shape.clone(), type.bytesFor(elements), filler));
        return this;
    }

    /** Adds a tensor whose bytes are copied from {@code data}, which must be exactly the tensor's size. */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, MemorySegment data) {
        addTensor(name, type, shape, target -> MemorySegment.copy(data, 0, target, 0, target.byteSize()));
        long expected = tensors.getLast().bytes();
        if (data.byteSize() != expected) {
            tensors.removeLast();
            tensorNames.remove(name);
            throw new IllegalArgumentException(
                    "tensor '%s' needs %d bytes, the data has %d".formatted(name, expected, data.byteSize()));
        }
        return this;
    }

    /** Number of tensors added. */
    public int tensorCount() {
        return tensors.size();
    }

    /** Writes the file, replacing {@code out} if it exists. */
    public void write(Path out) throws IOException {
        long alignment = alignment();
        // Offsets count from the start of the data section, so they are known before the header is.
        long[] offsets = new long[tensors.size()];
        long dataSize = 0;
        for (int i = 0; i < tensors.size(); i++) {
            offsets[i] = dataSize;
            dataSize = GgufParser.alignUp(dataSize + tensors.get(i).bytes(), alignment);
        }
        byte[] header = header(offsets);
        long dataOffset = GgufParser.alignUp(header.length, alignment);
        long total = dataOffset + dataSize;

        Path partial = out.resolveSibling(out.getFileName() + ".partial");
        boolean done = false;
        try {
            try (FileChannel channel = FileChannel.open(
                            partial,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.TRUNCATE_EXISTING,
                            StandardOpenOption.READ,
                            StandardOpenOption.WRITE);
                    Arena arena = Arena.ofShared()) {
                MemorySegment file = channel.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
                MemorySegment.copy(MemorySegment.ofArray(header), 0, file, 0, header.length);
                for (int i = 0; i < tensors.size(); i++) {
                    PendingTensor t = tensors.get(i);
                    t.filler().fill(file.asSlice(dataOffset + offsets[i], t.bytes()));
                }
                file.force();
            }
            Files.move(partial, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            done = true;
        } finally {
            if (!done) {
                Files.deleteIfExists(partial);
            }
        }
    }

    private static void checkAlignment(GgufValue v) {
        long a = v.type().isInteger() ? (Long) v.value() : -1;
        if (v.type() != GgufValueType.UINT32 || a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
            throw new IllegalArgumentException("general.alignment must be a UINT32 power of two, not " + v);
        }
    }

    private byte[] header(long[] offsets) {
        Buffer b = new Buffer();
        b.u32(GgufParser.MAGIC).u32(3).u64(tensors.size()).u64(metadata.size());
        metadata.forEach((key, value) -> {
            b.string(key).u32(value.type().id());
            if (value.type() == GgufValueType.ARRAY) {
                b.u32(value.elementType().id()).u64(value.length());
                b.array(value.elementType(), value.value());
            } else {
                b.scalar(value.type(), value.value());
            }
        });
        for (int i = 0; i < tensors.size(); i++) {
            PendingTensor t = tensors.get(i);
            b.string(t.name()).u32(t.shape().length);
            for (long d : t.shape()) {
                b.u64(d);
            }
            b.u32(t.type().id()).u64(offsets[i]);
        }
        return b.toArray();
    }

    /** A growable little-endian buffer for the header. */
    private static final class Buffer {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(long n) {
            if (buf.remaining() < n) {
                long needed = buf.position() + n;
                if (needed > Integer.MAX_VALUE - 16) {
                    throw new IllegalStateException("GGUF header larger than 2 GiB");
                }
                ByteBuffer bigger = ByteBuffer.allocate(
                                (int) Math.min(Integer.MAX_VALUE - 16, Math.max(needed, 2L * buf.capacity())))
                        .order(ByteOrder.LITTLE_ENDIAN);
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        Buffer u8(int v) {
            ensure(1);
            buf.put((byte) v);
            return this;
        }

        Buffer u16(int v) {
            ensure(2);
            buf.putShort((short) v);
            return this;
        }

        Buffer u32(long v) {
            ensure(4);
            buf.putInt((int) v);
            return this;
        }

        Buffer u64(long v) {
            ensure(8);
            buf.putLong(v);
            return this;
        }

        Buffer string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            u64(bytes.length);
            ensure(bytes.length);
            buf.put(bytes);
            return this;
        }

        void scalar(GgufValueType type, Object value) {
            switch (type) {
                case UINT8, INT8 -> u8((int) (long) (Long) value);
                case UINT16, INT16 -> u16((int) (long) (Long) value);
                case UINT32, INT32 -> u32((Long) value);
                case UINT64, INT64 -> u64((Long) value);
                case FLOAT32 -> u32(Float.floatToRawIntBits((Float) value));
                case FLOAT64 -> u64(Double.doubleToRawLongBits((Double) value));
                case BOOL -> u8((Boolean) value ? 1 : 0);
                case STRING -> string((String) value);
                case ARRAY -> throw new IllegalArgumentException("an array is not a scalar");
            }
        }

        void array(GgufValueType elementType, Object elements) {
            switch (elementType) {
                case UINT8, INT8 -> {
                    byte[] a = (byte[]) elements;
                    ensure(a.length);
                    buf.put(a);
                }
                case UINT16, INT16 -> {
                    short[] a = (short[]) elements;
                    ensure(2L * a.length);
                    buf.asShortBuffer().put(a);
                    buf.position(buf.position() + 2 * a.length);
                }
                case UINT32, INT32 -> {
                    int[] a = (int[]) elements;
                    ensure(4L * a.length);
                    buf.asIntBuffer().put(a);
                    buf.position(buf.position() + 4 * a.length);
                }
                case UINT64, INT64 -> {
                    long[] a = (long[]) elements;
                    ensure(8L * a.length);
                    buf.asLongBuffer().put(a);
                    buf.position(buf.position() + 8 * a.length);
                }
                case FLOAT32 -> {
                    float[] a = (float[]) elements;
                    ensure(4L * a.length);
                    buf.asFloatBuffer().put(a);
                    buf.position(buf.position() + 4 * a.length);
                }
                case FLOAT64 -> {
                    double[] a = (double[]) elements;
                    ensure(8L * a.length);
                    buf.asDoubleBuffer().put(a);
                    buf.position(buf.position() + 8 * a.length);
                }
                case BOOL -> {
                    boolean[] a = (boolean[]) elements;
                    ensure(a.length);
                    for (boolean flag : a) {
                        buf.put((byte) (flag ? 1 : 0));
                    }
                }
                case STRING -> {
                    for (Object s : (List<?>) elements) {
                        string((String) s);
                    }
                }
                case ARRAY -> throw new IllegalArgumentException("arrays of arrays are not supported");
            }
        }

        byte[] toArray() {
            return Arrays.copyOf(buf.array(), buf.position());
        }
    }
}
