package dev.spindle.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spindle.quant.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Broken and hostile files: each is a valid sample file with one field corrupted, and each must be rejected with a
 * {@link GgufFormatException} whose message names the problem, never with an index exception or an allocation the
 * file dictates.
 */
class GgufFileHostileTest {

    @TempDir
    Path dir;

    /** A small valid file and where its fields are, so a test can corrupt one of them. */
    static final class Sample {
        final GgufBytes b = new GgufBytes();
        final int versionAt;
        final int tensorCountAt;
        final int kvCountAt;
        final int archKeyLengthAt;
        final int tokensTypeAt;
        final int tokensCountAt;
        final int firstTokenLengthAt;
        final int alignmentValueAt;
        final int secondKeyAt;
        final int aRankAt;
        final int aDim0At;
        final int aDim1At;
        final int aTypeAt;
        final int aOffsetAt;
        final int bNameAt;
        final int bDim0At;
        final int bTypeAt;
        final int bOffsetAt;

        Sample() {
            b.raw("GGUF".getBytes());
            versionAt = b.position();
            b.u32(3);
            tensorCountAt = b.position();
            b.u64(2);
            kvCountAt = b.position();
            b.u64(4);
            archKeyLengthAt = b.position();
            b.kvString("general.architecture", "llama");
            secondKeyAt = b.position();
            b.str("tokenizer.ggml.tokens");
            b.u32(GgufValueType.ARRAY.id());
            tokensTypeAt = b.position();
            b.u32(GgufValueType.STRING.id());
            tokensCountAt = b.position();
            b.u64(3);
            firstTokenLengthAt = b.position();
            b.str("a").str("bc").str("<0x00>");
            b.str("general.alignment").u32(GgufValueType.UINT32.id());
            alignmentValueAt = b.position();
            b.u32(32);
            b.kvU32("llama.block_count", 2);

            b.str("a");
            aRankAt = b.position();
            b.u32(2);
            aDim0At = b.position();
            b.u64(4);
            aDim1At = b.position();
            b.u64(2);
            aTypeAt = b.position();
            b.u32(GgmlType.F32.id());
            aOffsetAt = b.position();
            b.u64(0);

            bNameAt = b.position();
            b.str("b").u32(1);
            bDim0At = b.position();
            b.u64(32);
            bTypeAt = b.position();
            b.u32(GgmlType.Q8_0.id());
            bOffsetAt = b.position();
            b.u64(32);

            b.pad(32);
            for (int i = 0; i < 8; i++) {
                b.f32(i);
            }
            b.zeros(34);
        }

        byte[] bytes() {
            return b.toArray();
        }
    }

    private Path write(byte[] bytes) throws IOException {
        return Files.write(Files.createTempFile(dir, "sample", ".gguf"), bytes);
    }

    private String rejection(byte[] bytes) throws IOException {
        Path p = write(bytes);
        GgufFormatException e =
                assertThrows(GgufFormatException.class, () -> GgufFile.open(p).close());
        assertTrue(e.getMessage().startsWith(p.toString()), "message names the file: " + e.getMessage());
        return e.getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "expected '" + part + "' in: " + message);
        }
    }

    @Test
    void theSampleItselfIsValid() throws IOException {
        try (GgufFile f = GgufFile.open(write(new Sample().bytes()))) {
            assertEquals(3, f.version());
            assertEquals(List.of("a", "bc", "<0x00>"), f.metadata().getStringArray("tokenizer.ggml.tokens"));
            assertEquals(2, f.tensors().size());
            GgufTensor a = f.tensor("a");
            assertArrayEquals(new long[] {4, 2}, a.shape());
            assertEquals(3f, a.data().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 3));
            assertEquals(34, f.tensor("b").byteSize());
        }
    }

    @Test
    void badMagic() throws IOException {
        byte[] bytes = new Sample().bytes();
        bytes[0] = 'X';
        assertMentions(rejection(bytes), "bad magic", "not a GGUF file");
    }

    @Test
    void emptyAndTinyFiles() throws IOException {
        assertMentions(rejection(new byte[0]), "truncated", "magic");
        assertMentions(rejection("GGU".getBytes()), "truncated", "magic");
    }

    @Test
    void unsupportedVersions() throws IOException {
        for (long version : new long[] {1, 4, 0xFFFF_FFFFL}) {
            Sample s = new Sample();
            s.b.patchU32(s.versionAt, version);
            assertMentions(rejection(s.bytes()), "unsupported GGUF version " + version);
        }
        Sample s = new Sample();
        s.b.patchU32(s.versionAt, Integer.reverseBytes(3));
        assertMentions(rejection(s.bytes()), "big-endian");
    }

    @Test
    void everyTruncationOfTheHeaderIsRejected() throws IOException {
        Sample s = new Sample();
        byte[] full = s.bytes();
        // The last tensor's data ends the file, so every shorter prefix misses something.
        for (int n = 0; n < full.length; n++) {
            byte[] prefix = Arrays.copyOf(full, n);
            GgufFormatException e = assertThrows(
                    GgufFormatException.class, () -> GgufParser.parse(MemorySegment.ofArray(prefix)), "length " + n);
            assertTrue(
                    e.getMessage().contains("truncated")
                            || e.getMessage().contains("past the end")
                            || e.getMessage().contains("cannot fit"),
                    "length " + n + ": " + e.getMessage());
        }
        assertMentions(rejection(Arrays.copyOf(full, s.alignmentValueAt + 2)), "truncated", "general.alignment");
    }

    @Test
    void stringLengthPastTheEnd() throws IOException {
        Sample s = new Sample();
        s.b.patchU64(s.archKeyLengthAt, 1L << 40);
        assertMentions(rejection(s.bytes()), "string length 1099511627776", "metadata key #0", "past the end");

        s = new Sample();
        s.b.patchU64(s.firstTokenLengthAt, -1L); // 2^64 - 1 as a u64
        assertMentions(rejection(s.bytes()), "18446744073709551615", "element 0 of array 'tokenizer.ggml.tokens'");
    }

    @Test
    void arrayLengthPastTheEnd() throws IOException {
        Sample s = new Sample();
        s.b.patchU64(s.tokensCountAt, 1L << 50);
        assertMentions(rejection(s.bytes()), "'tokenizer.ggml.tokens'", "claims 1125899906842624 STRING elements");

        // A count that fits in the file's size as bytes but not as 8-byte strings.
        s = new Sample();
        byte[] bytes = s.bytes();
        s.b.patchU64(s.tokensCountAt, bytes.length);
        assertMentions(rejection(s.bytes()), "'tokenizer.ggml.tokens'", "only");
    }

    @Test
    void absurdCounts() throws IOException {
        Sample s = new Sample();
        s.b.patchU64(s.tensorCountAt, Long.MAX_VALUE);
        assertMentions(rejection(s.bytes()), "tensor count 9223372036854775807 cannot fit");

        s = new Sample();
        s.b.patchU64(s.kvCountAt, -2L);
        assertMentions(rejection(s.bytes()), "metadata key-value count 18446744073709551614 cannot fit");

        // A tensor count that fits the file's size but not the bytes actually there.
        s = new Sample();
        s.b.patchU64(s.tensorCountAt, 5);
        rejection(s.bytes());
    }

    @Test
    void tensorDataOutsideTheFile() throws IOException {
        Sample s = new Sample();
        s.b.patchU64(s.bOffsetAt, 1L << 20);
        assertMentions(rejection(s.bytes()), "tensor 'b'", "extends past the end of the file");

        // Offset near 2^63: offset + size would overflow a long.
        s = new Sample();
        s.b.patchU64(s.bOffsetAt, Long.MAX_VALUE - 31);
        assertMentions(rejection(s.bytes()), "tensor 'b'", "extends past the end of the file");

        // The data of the last tensor cut short by one byte.
        byte[] full = new Sample().bytes();
        assertMentions(rejection(Arrays.copyOf(full, full.length - 1)), "tensor 'b'", "34 bytes", "past the end");
    }

    @Test
    void misalignedOffset() throws IOException {
        Sample s = new Sample();
        s.b.patchU64(s.bOffsetAt, 33);
        assertMentions(rejection(s.bytes()), "tensor 'b' data offset 33 is not a multiple of the alignment 32");
    }

    @Test
    void badAlignment() throws IOException {
        for (long alignment : new long[] {0, 3, 48, 1L << 31}) {
            Sample s = new Sample();
            s.b.patchU32(s.alignmentValueAt, alignment);
            assertMentions(rejection(s.bytes()), "general.alignment is " + alignment, "power of two");
        }
    }

    @Test
    void shapeDoesNotMatchTheType() throws IOException {
        // 33 elements are not a whole number of 32-element Q8_0 blocks.
        Sample s = new Sample();
        s.b.patchU64(s.bDim0At, 33);
        assertMentions(rejection(s.bytes()), "tensor 'b'", "row length 33 is not a multiple", "Q8_0");

        // 64 elements of Q8_0 need 68 bytes; the file holds 34.
        s = new Sample();
        s.b.patchU64(s.bDim0At, 64);
        assertMentions(rejection(s.bytes()), "tensor 'b'", "68 bytes", "past the end");
    }

    @Test
    void absurdDimensionCounts() throws IOException {
        for (long rank : new long[] {0, 5, 0x8000_0000L}) {
            Sample s = new Sample();
            s.b.patchU32(s.aRankAt, rank);
            assertMentions(rejection(s.bytes()), "tensor 'a' has " + rank + " dimensions");
        }
    }

    @Test
    void negativeZeroAndOverflowingDimensions() throws IOException {
        Sample s = new Sample();
        s.b.patchU64(s.aDim1At, -1L);
        assertMentions(rejection(s.bytes()), "tensor 'a'", "dimension 1 of size 18446744073709551615");

        s = new Sample();
        s.b.patchU64(s.aDim0At, 0);
        assertMentions(rejection(s.bytes()), "tensor 'a'", "dimension 0 of size 0");

        s = new Sample();
        s.b.patchU64(s.aDim0At, 1L << 40);
        s.b.patchU64(s.aDim1At, 1L << 40);
        assertMentions(rejection(s.bytes()), "tensor 'a'", "more elements than a long can count");

        // The element count fits a long but the byte count does not.
        s = new Sample();
        s.b.patchU64(s.aDim0At, 1L << 31);
        s.b.patchU64(s.aDim1At, 1L << 31);
        assertMentions(rejection(s.bytes()), "tensor 'a'", "byte size that overflows");
    }

    @Test
    void duplicateTensorNames() throws IOException {
        Sample s = new Sample();
        byte[] bytes = s.bytes();
        bytes[s.bNameAt + 8] = 'a'; // rename "b" to "a"
        assertMentions(rejection(bytes), "duplicate tensor name 'a'");
    }

    @Test
    void duplicateKeys() throws IOException {
        GgufBytes b =
                new GgufBytes().header(3, 0, 2).kvU32("llama.block_count", 1).kvU32("llama.block_count", 2);
        assertMentions(rejection(b.toArray()), "duplicate metadata key 'llama.block_count'");
    }

    @Test
    void unknownGgmlType() throws IOException {
        Sample s = new Sample();
        s.b.patchU32(s.bTypeAt, 99);
        assertMentions(rejection(s.bytes()), "tensor 'b'", "GGML type id 99");
    }

    @Test
    void unknownValueTypes() throws IOException {
        GgufBytes b =
                new GgufBytes().header(3, 0, 1).str("general.name").u32(13).u32(0);
        assertMentions(rejection(b.toArray()), "metadata key 'general.name' has unknown value type 13");

        Sample s = new Sample();
        s.b.patchU32(s.tokensTypeAt, 77);
        assertMentions(rejection(s.bytes()), "'tokenizer.ggml.tokens' has unknown element type 77");

        s = new Sample();
        s.b.patchU32(s.tokensTypeAt, GgufValueType.ARRAY.id());
        assertMentions(rejection(s.bytes()), "arrays of arrays are not supported");
    }

    @Test
    void boolsHoldZeroOrOne() throws IOException {
        GgufBytes b = new GgufBytes()
                .header(3, 0, 1)
                .str("tokenizer.ggml.add_bos_token")
                .u32(7)
                .u8(2);
        assertMentions(rejection(b.toArray()), "'tokenizer.ggml.add_bos_token' is a BOOL holding 2");
    }

    @Test
    void wrongTypeForAlignment() throws IOException {
        GgufBytes b = new GgufBytes().header(3, 0, 1).kvString("general.alignment", "32");
        assertMentions(rejection(b.toArray()), "general.alignment is STRING");
    }

    /**
     * Random corruption of the header: whatever the bytes say, the reader either accepts the file or throws {@link
     * GgufFormatException}; nothing else (index exceptions, negative-size arrays, out-of-memory) may escape.
     */
    @Test
    void randomCorruptionEndsInAcceptanceOrFormatException() {
        byte[] original = new Sample().bytes();
        int headerEnd = new Sample().bOffsetAt + 8;
        Random random = new Random(42);
        int rejected = 0;
        for (int trial = 0; trial < 3000; trial++) {
            byte[] bytes = original.clone();
            int flips = 1 + random.nextInt(3);
            for (int i = 0; i < flips; i++) {
                int at = random.nextInt(headerEnd);
                bytes[at] = random.nextInt(4) == 0 ? (byte) 0xFF : (byte) random.nextInt(256);
            }
            try {
                GgufParser.parse(MemorySegment.ofArray(bytes));
            } catch (GgufFormatException e) {
                rejected++;
            }
        }
        assertTrue(rejected > 1000, "most corruptions are detected: " + rejected);
    }
}
