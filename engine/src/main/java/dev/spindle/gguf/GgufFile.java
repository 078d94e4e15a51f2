package dev.spindle.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF model file, memory-mapped read-only: its metadata and zero-copy views of its tensors.
 *
 * <p>The whole file is mapped once into a shared {@link Arena}, so every tensor's {@link GgufTensor#data() data} is a
 * slice of the mapping that any thread may read. {@link #close()} unmaps the file: afterwards every segment obtained
 * from this object is invalid and touching it throws {@link IllegalStateException} (never a crash), so a model must
 * keep its file open for as long as it computes with the weights.
 *
 * <p>{@link #open} validates the whole header before returning; see {@link GgufFormatException} for what is rejected.
 */
public final class GgufFile implements AutoCloseable {

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final int version;
    private final GgufMetadata metadata;
    private final List<GgufTensor> tensors;
    private final Map<String, GgufTensor> byName;
    private final long alignment;
    private final long dataOffset;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufParser.Header header) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.version = header.version();
        this.metadata = header.metadata();
        this.tensors = header.tensors();
        this.alignment = header.alignment();
        this.dataOffset = header.dataOffset();
        Map<String, GgufTensor> names = new HashMap<>();
        for (GgufTensor t : tensors) {
            names.put(t.name(), t);
        }
        this.byName = names;
    }

    /**
     * Maps and validates {@code path}.
     *
     * @throws IOException if the file cannot be opened or mapped
     * @throws GgufFormatException if it is not a well-formed GGUF v2 or v3 file
     */
    public static GgufFile open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            MemorySegment mapping = size == 0
                    ? MemorySegment.ofArray(new byte[0])
                    : channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new GgufFile(path, arena, mapping, GgufParser.parse(mapping));
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            if (e instanceof GgufFormatException g) {
                throw new GgufFormatException(path + ": " + g.getMessage(), g);
            }
            throw e;
        }
    }

    /** The file this was read from. */
    public Path path() {
        return path;
    }

    /** The GGUF version: 2 or 3. */
    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** The tensors in file order. */
    public List<GgufTensor> tensors() {
        return tensors;
    }

    /** The tensor called {@code name}; throws {@link GgufFormatException} naming it if the file has none. */
    public GgufTensor tensor(String name) {
        GgufTensor t = byName.get(name);
        if (t == null) {
            throw new GgufFormatException("%s: missing tensor '%s'".formatted(path, name));
        }
        return t;
    }

    public Optional<GgufTensor> findTensor(String name) {
        return Optional.ofNullable(byName.get(name));
    }

    /** The alignment of tensor data: {@code general.alignment}, or 32. */
    public long alignment() {
        return alignment;
    }

    /** Where the data section starts: tensor offsets are relative to it. */
    public long dataOffset() {
        return dataOffset;
    }

    /** The size of the file in bytes. */
    public long fileSize() {
        return mapping.byteSize();
    }

    /** The whole file's mapping (read-only), valid until {@link #close()}. */
    public MemorySegment mapping() {
        return mapping;
    }

    /** Unmaps the file: every segment from it becomes invalid. Closing twice is harmless. */
    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "GgufFile[%s, v%d, %d keys, %d tensors]".formatted(path, version, metadata.size(), tensors.size());
    }
}
