package dev.spindle.kvcache.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class HostKvMemoryTest {

    private static final KvCacheShape SHAPE = new KvCacheShape(3, 2, 64, 16, KvType.F32);

    @Test
    void theBudgetBuysWholeBlocksAndNothingMore() {
        long perBlock = SHAPE.bytesPerBlock();
        assertEquals(2L * 3 * 2 * 16 * 64 * 4, perBlock);
        KvLayout layout = KvLayout.forBudget(SHAPE, 10 * perBlock + perBlock - 1);
        assertEquals(10, layout.numBlocks());
        assertEquals(10 * perBlock, layout.footprintBytes());
        assertThrows(IllegalArgumentException.class, () -> KvLayout.forBudget(SHAPE, perBlock - 1));
    }

    @Test
    void shapesAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(0, 1, 64, 16, KvType.F16));
        assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(1, 0, 64, 16, KvType.F16));
        assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(1, 1, 0, 16, KvType.F16));
        assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(1, 1, 8, 16, KvType.Q8_0));
        assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(1, 1, 64, 0, KvType.F16));
        assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(1, 1, 64, 2048, KvType.F16));
        assertThrows(IllegalArgumentException.class, () -> new KvCacheShape(1, 1, 64, 16, null));
        assertEquals(2L * 5 * 4 * 16 * 8 * 2, new KvCacheShape(5, 4, 8, 16, KvType.F16).bytesPerBlock());
        assertEquals(KvType.Q8_0, KvType.parse(" q8_0 "));
        assertThrows(IllegalArgumentException.class, () -> KvType.parse("q4_0"));
    }

    @Test
    void quantizedTypesHalveAndQuarterTheBlock() {
        long f32 = SHAPE.bytesPerBlock();
        assertEquals(f32 / 2, new KvCacheShape(3, 2, 64, 16, KvType.F16).bytesPerBlock());
        assertEquals(f32 * 34 / 128, new KvCacheShape(3, 2, 64, 16, KvType.Q8_0).bytesPerBlock());
    }

    @Test
    void headBlocksTileThePoolExactlyOnce() {
        KvLayout layout = new KvLayout(new KvCacheShape(3, 2, 32, 32, KvType.Q8_0), 5);
        int units = (int) (layout.footprintBytes() / layout.headBlockBytes());
        boolean[] covered = new boolean[units];
        for (int layer = 0; layer < 3; layer++) {
            for (int block = 0; block < 5; block++) {
                for (int head = 0; head < 2; head++) {
                    for (long offset :
                            new long[] {layout.keyOffset(layer, block, head), layout.valueOffset(layer, block, head)}) {
                        assertEquals(0, offset % layout.headBlockBytes());
                        int unit = (int) (offset / layout.headBlockBytes());
                        assertTrue(!covered[unit], "head block at " + offset + " is used twice");
                        covered[unit] = true;
                    }
                }
            }
        }
        for (boolean c : covered) {
            assertTrue(c);
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void everySlotReadsBackWhatWasWrittenThere(KvType type) {
        KvCacheShape shape = new KvCacheShape(2, 2, 64, 16, type);
        try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 3))) {
            Random random = new Random(1);
            int slots = 3 * 16;
            float[][][] keys = new float[2][slots][];
            float[][][] values = new float[2][slots][];
            for (int layer = 0; layer < 2; layer++) {
                for (int slot = 0; slot < slots; slot++) {
                    keys[layer][slot] = gaussian(random, shape.kvDim(), 2);
                    values[layer][slot] = gaussian(random, shape.kvDim(), 2);
                    memory.write(layer, slot, keys[layer][slot], 0, values[layer][slot], 0);
                }
            }
            for (int layer = 0; layer < 2; layer++) {
                for (int slot = 0; slot < slots; slot++) {
                    for (int head = 0; head < 2; head++) {
                        for (int d = 0; d < 64; d++) {
                            float readK = memory.key(layer, slot / 16, head, slot % 16, d);
                            float readV = memory.value(layer, slot / 16, head, slot % 16, d);
                            assertEquals(
                                    expected(type, keys[layer][slot], head * 64 + d),
                                    readK,
                                    tolerance(type, keys[layer][slot], head * 64 + d));
                            assertEquals(
                                    expected(type, values[layer][slot], head * 64 + d),
                                    readV,
                                    tolerance(type, values[layer][slot], head * 64 + d));
                        }
                    }
                }
            }
        }
    }

    @Test
    void halfPrecisionSaturatesInsteadOfOverflowing() {
        KvCacheShape shape = new KvCacheShape(1, 1, 16, 16, KvType.F16);
        try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 1))) {
            float[] big = new float[16];
            big[0] = 1e6f;
            big[1] = -1e9f;
            big[2] = 3.5f;
            memory.write(0, 0, big, 0, big, 0);
            assertEquals(65504f, memory.key(0, 0, 0, 0, 0));
            assertEquals(-65504f, memory.value(0, 0, 0, 0, 1));
            assertEquals(3.5f, memory.key(0, 0, 0, 0, 2));
        }
    }

    @Test
    void q8ZeroGroupsStayZero() {
        KvCacheShape shape = new KvCacheShape(1, 1, 32, 16, KvType.Q8_0);
        try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 1))) {
            memory.write(0, 3, new float[32], 0, new float[32], 0);
            for (int d = 0; d < 32; d++) {
                assertEquals(0f, memory.key(0, 0, 0, 3, d));
                assertEquals(0f, memory.value(0, 0, 0, 3, d));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(KvType.class)
    void copyBlockCopiesEveryLayerAndTouchesNoOtherBlock(KvType type) {
        KvCacheShape shape = new KvCacheShape(3, 2, 32, 16, type);
        try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 4))) {
            Random random = new Random(2);
            for (int layer = 0; layer < 3; layer++) {
                for (int slot = 0; slot < 4 * 16; slot++) {
                    memory.write(layer, slot, gaussian(random, 64, 1), 0, gaussian(random, 64, 1), 0);
                }
            }
            float[] block3Before = snapshot(memory, 3);
            float[] block1 = snapshot(memory, 1);
            memory.copyBlock(1, 2);
            assertArrayEqualsExactly(block1, snapshot(memory, 2));
            assertArrayEqualsExactly(block1, snapshot(memory, 1));
            assertArrayEqualsExactly(block3Before, snapshot(memory, 3));
        }
    }

    @Test
    void badArgumentsAreRefusedAndWriteNothing() {
        KvCacheShape shape = new KvCacheShape(2, 1, 16, 16, KvType.F32);
        try (HostKvMemory memory = new HostKvMemory(new KvLayout(shape, 2))) {
            float[] ones = new float[16];
            java.util.Arrays.fill(ones, 1);
            assertThrows(IllegalArgumentException.class, () -> memory.write(2, 0, ones, 0, ones, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.write(-1, 0, ones, 0, ones, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.write(0, 32, ones, 0, ones, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.write(0, -1, ones, 0, ones, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.write(0, 0, ones, 1, ones, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.write(0, 0, ones, 0, new float[8], 0));
            assertThrows(IllegalArgumentException.class, () -> memory.copyBlock(0, 2));
            assertThrows(IllegalArgumentException.class, () -> memory.key(0, 0, 0, 16, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.value(0, 0, 0, 0, 16));
            assertThrows(IllegalArgumentException.class, () -> memory.key(0, 0, 1, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.layout().keyOffset(0, 2, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.layout().valueOffset(2, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> memory.copyBlock(-1, 0));
            for (int layer = 0; layer < 2; layer++) {
                for (int d = 0; d < 16; d++) {
                    assertEquals(0f, memory.key(layer, 0, 0, 0, d));
                    assertEquals(0f, memory.value(layer, 0, 0, 0, d));
                }
            }
        }
    }

    @Test
    void closingReleasesTheMemory() {
        HostKvMemory memory = new HostKvMemory(new KvLayout(SHAPE, 2));
        memory.close();
        assertThrows(IllegalStateException.class, () -> memory.key(0, 0, 0, 0, 0));
    }

    private static float expected(KvType type, float[] source, int index) {
        return switch (type) {
            case F32 -> source[index];
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(source[index]));
            case Q8_0 -> source[index];
        };
    }

    private static double tolerance(KvType type, float[] source, int index) {
        return switch (type) {
            case F32, F16 -> 0;
            case Q8_0 -> {
                // Half a quantization step of the element's group of 32, plus the scale's rounding to F16.
                int group = index / 32 * 32;
                double max = 0;
                for (int i = group; i < group + 32; i++) {
                    max = Math.max(max, Math.abs(source[i]));
                }
                yield max / 127 / 2 * 1.01 + Math.abs(source[index]) * 1e-3;
            }
        };
    }

    static float[] gaussian(Random random, int n, double sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * sigma);
        }
        return x;
    }

    private static float[] snapshot(HostKvMemory memory, int block) {
        KvCacheShape s = memory.layout().shape();
        float[] all = new float[s.layers() * s.kvHeads() * s.blockSize() * s.headDim() * 2];
        int i = 0;
        for (int layer = 0; layer < s.layers(); layer++) {
            for (int head = 0; head < s.kvHeads(); head++) {
                for (int t = 0; t < s.blockSize(); t++) {
                    for (int d = 0; d < s.headDim(); d++) {
                        all[i++] = memory.key(layer, block, head, t, d);
                        all[i++] = memory.value(layer, block, head, t, d);
                    }
                }
            }
        }
        return all;
    }

    private static void assertArrayEqualsExactly(float[] expected, float[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }
}
