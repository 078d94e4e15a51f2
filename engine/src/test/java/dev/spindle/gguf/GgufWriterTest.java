package dev.spindle.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.oracle.LlamaOracle;
import dev.spindle.quant.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writing GGUF files: every value type, aligned tensors filled in place, and a real model rewritten. */
class GgufWriterTest {

    @TempDir
    Path dir;

    @Test
    void everyValueTypeRoundTrips() throws IOException {
        Map<String, GgufValue> expected = new LinkedHashMap<>();
        expected.put("u8", GgufValue.uint8(255));
        expected.put("i8", GgufValue.int8(-128));
        expected.put("u16", GgufValue.uint16(65535));
        expected.put("i16", GgufValue.int16(-32768));
        expected.put("u32", GgufValue.uint32(0xFFFF_FFFFL));
        expected.put("i32", GgufValue.int32(Integer.MIN_VALUE));
        expected.put("u64", GgufValue.uint64(-1L));
        expected.put("i64", GgufValue.int64(Long.MIN_VALUE));
        expected.put("f32", GgufValue.float32(Float.NaN));
        expected.put("f64", GgufValue.float64(-0.0));
        expected.put("bool", GgufValue.bool(true));
        expected.put("str", GgufValue.string("ünïcödé ✓ 🦙 \u0000 end"));
        expected.put("a.u8", GgufValue.array(GgufValueType.UINT8, new byte[] {0, (byte) 255}));
        expected.put("a.i8", GgufValue.array(GgufValueType.INT8, new byte[] {-1, 1}));
        expected.put("a.u16", GgufValue.array(GgufValueType.UINT16, new short[] {(short) 65535}));
        expected.put("a.i16", GgufValue.array(GgufValueType.INT16, new short[] {-2, 2}));
        expected.put("a.u32", GgufValue.array(GgufValueType.UINT32, new int[] {-1, 7}));
        expected.put("a.i32", GgufValue.int32Array(new int[] {1, 2, 3}));
        expected.put("a.u64", GgufValue.array(GgufValueType.UINT64, new long[] {Long.MIN_VALUE}));
        expected.put("a.i64", GgufValue.array(GgufValueType.INT64, new long[] {-9, 9}));
        expected.put("a.f32", GgufValue.float32Array(new float[] {1.5f, Float.NEGATIVE_INFINITY}));
        expected.put("a.f64", GgufValue.array(GgufValueType.FLOAT64, new double[] {Math.PI}));
        expected.put("a.bool", GgufValue.array(GgufValueType.BOOL, new boolean[] {true, false, true}));
        expected.put("a.str", GgufValue.stringArray(List.of("", "a b", "Ġhello", "<0x0A>")));
        expected.put("a.empty", GgufValue.array(GgufValueType.INT32, new int[0]));
        GgufWriter w = new GgufWriter();
        expected.forEach(w::put);
        Path p = dir.resolve("values.gguf");
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(3, f.version());
            assertEquals(0, f.tensors().size());
            assertEquals(25, f.metadata().size());
            List<String> keys = new ArrayList<>(f.metadata().keys());
            assertEquals(List.of("u8", "i8", "u16"), keys.subList(0, 3), "keys keep their order");
            assertEquals(new ArrayList<>(expected.keySet()), keys);
            assertEquals(expected, f.metadata().asMap());
            assertEquals(255, f.metadata().getInt("u8", 0));
            assertEquals(-128, f.metadata().getInt("i8", 0));
            assertTrue(Float.isNaN(f.metadata().getFloat("f32", 0)));
            assertEquals("ünïcödé ✓ 🦙 \u0000 end", f.metadata().getString("str", null));
        }
    }

    @Test
    void tensorsAreAlignedPaddedAndFilledInPlace() throws IOException {
        Path p = dir.resolve("tensors.gguf");
        new GgufWriter()
                .alignment(64)
                .putString("general.architecture", "test")
                .addTensor("v", GgmlType.F32, new long[] {3}, t -> {
                    for (int i = 0; i < 3; i++) {
                        t.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, i + 0.5f);
                    }
                })
                .addTensor("q", GgmlType.Q8_0, new long[] {64, 2}, t -> t.fill((byte) 7))
                .addTensor("h", GgmlType.F16, new long[] {2, 3, 1, 2}, t -> t.fill((byte) 1))
                .write(p);
        byte[] file = Files.readAllBytes(p);
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals(64, f.alignment());
            assertEquals(0, f.dataOffset() % 64);
            GgufTensor v = f.tensor("v");
            GgufTensor q = f.tensor("q");
            GgufTensor h = f.tensor("h");
            assertEquals(0, v.offset());
            assertEquals(64, q.offset());
            assertEquals(4 * 34, q.byteSize(), "four Q8_0 blocks");
            assertEquals(256, h.offset(), "136 bytes of q padded to 192");
            assertArrayEquals(new long[] {2, 3, 1, 2}, h.shape());
            assertEquals(2.5f, v.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 2));
            for (long i = 0; i < q.byteSize(); i++) {
                assertEquals(7, q.data().get(ValueLayout.JAVA_BYTE, i));
            }
            // Padding after each tensor, the last one included, is zero.
            for (long i = f.dataOffset() + 12; i < f.dataOffset() + 64; i++) {
                assertEquals(0, file[(int) i]);
            }
            assertEquals(f.dataOffset() + 256 + 64, file.length, "24 bytes of h padded to 64");
            assertEquals(0, file[file.length - 1]);
        }
    }

    @Test
    void rejectsWhatCannotBeWritten() {
        GgufWriter w = new GgufWriter().addTensor("a", GgmlType.F32, new long[] {4}, t -> {});
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("a", GgmlType.F32, new long[] {4}, t -> {}));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("b", GgmlType.Q4_0, new long[] {16}, t -> {}));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("c", GgmlType.F32, new long[] {0}, t -> {}));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("d", GgmlType.F32, new long[5], t -> {}));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(48));
        assertThrows(IllegalArgumentException.class, () -> w.put("general.alignment", GgufValue.int32(32)));
        assertThrows(
                IllegalArgumentException.class,
                () -> w.addTensor("e", GgmlType.F32, new long[] {4}, MemorySegment.ofArray(new byte[15])));
        assertEquals(1, w.tensorCount());
        w.addTensor("e", GgmlType.F32, new long[] {4}, MemorySegment.ofArray(new byte[16]));
        assertEquals(2, w.tensorCount());
    }

    @Test
    void aFailedWriteLeavesNoFile() {
        Path p = dir.resolve("failed.gguf");
        GgufWriter w = new GgufWriter().addTensor("a", GgmlType.F32, new long[] {4}, t -> {
            throw new IOException("no weights today");
        });
        IOException e = assertThrows(IOException.class, () -> w.write(p));
        assertEquals("no weights today", e.getMessage());
        assertFalse(Files.exists(p));
        assertFalse(Files.exists(dir.resolve("failed.gguf.partial")));
    }

    /** stories260K read, written back through the writer, read again and run by llama.cpp. */
    @Test
    void rewritingStories260KChangesNothing() throws IOException {
        Path original = GgufFileTest.stories();
        Path copy = dir.resolve("stories-copy.gguf");
        try (GgufFile f = GgufFile.open(original)) {
            GgufWriter w = new GgufWriter().putAll(f.metadata());
            for (GgufTensor t : f.tensors()) {
                w.addTensor(t.name(), t.type(), t.shape(), t.data());
            }
            w.write(copy);
            try (GgufFile g = GgufFile.open(copy)) {
                assertEquals(f.metadata().asMap(), g.metadata().asMap());
                assertEquals(
                        new ArrayList<>(f.metadata().keys()),
                        new ArrayList<>(g.metadata().keys()));
                assertEquals(f.tensors().size(), g.tensors().size());
                for (int i = 0; i < f.tensors().size(); i++) {
                    GgufTensor a = f.tensors().get(i);
                    GgufTensor b = g.tensors().get(i);
                    assertEquals(a.name(), b.name());
                    assertEquals(a.type(), b.type());
                    assertArrayEquals(a.shape(), b.shape());
                    assertEquals(a.offset(), b.offset());
                    assertEquals(-1, a.data().mismatch(b.data()), a.name());
                }
            }
        }
        // llama.cpp's converter lays files out as the writer does: the copy is the original, byte for byte.
        assertEquals(-1, Files.mismatch(original, copy));

        LlamaOracle.Batch batch = LlamaOracle.batch();
        var fromOriginal = batch.greedy(original, "Once upon a time", 32, true);
        var fromCopy = batch.greedy(copy, "Once upon a time", 32, true);
        batch.run();
        assertEquals(32, fromCopy.get().length);
        assertArrayEquals(fromOriginal.get(), fromCopy.get());
    }

    /**
     * Tensor data never passes through the heap: a JVM with a 24 MiB heap writes (and reads back) a file with a 256
     * MiB tensor.
     */
    @Test
    void writesTensorsFarLargerThanTheHeap() throws Exception {
        Path p = dir.resolve("big.gguf");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(
                        java.toString(),
                        "-Xmx24m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        BigFileWriter.class.getName(),
                        p.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("ok 268435456"), output);
        Files.delete(p);
    }

    /** The child of {@link #writesTensorsFarLargerThanTheHeap}. */
    static final class BigFileWriter {
        public static void main(String[] args) throws IOException {
            Path p = Path.of(args[0]);
            int rows = 16384;
            int cols = 4096;
            new GgufWriter()
                    .addTensor("big", GgmlType.F32, new long[] {cols, rows}, t -> {
                        for (long r = 0; r < rows; r++) {
                            t.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r * cols + r % cols, r);
                        }
                    })
                    .write(p);
            try (GgufFile f = GgufFile.open(p)) {
                GgufTensor t = f.tensor("big");
                for (long r = 0; r < rows; r += 1000) {
                    if (t.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r * cols + r % cols) != r) {
                        throw new AssertionError("row " + r);
                    }
                }
                System.out.println("ok " + t.byteSize());
            }
        }
    }
}
