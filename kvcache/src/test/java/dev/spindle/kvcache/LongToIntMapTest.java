package dev.spindle.kvcache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LongToIntMapTest {

    @Test
    void behavesLikeAHashMapThroughGrowthAndClusteredRemovals() {
        Random random = new Random(4);
        LongToIntMap map = new LongToIntMap(4);
        Map<Long, Integer> reference = new HashMap<>();
        for (int step = 0; step < 200_000; step++) {
            // Few distinct keys, many of them colliding modulo small capacities, so probe runs wrap and shift.
            long key = random.nextInt(300) * 1024L * (random.nextBoolean() ? 1 : -1);
            switch (random.nextInt(3)) {
                case 0 -> {
                    int value = random.nextInt(1000);
                    map.put(key, value);
                    reference.put(key, value);
                }
                case 1 -> {
                    Integer removed = reference.remove(key);
                    assertEquals(removed == null ? LongToIntMap.MISSING : removed, map.remove(key));
                }
                default -> assertEquals(reference.getOrDefault(key, LongToIntMap.MISSING), map.get(key));
            }
            assertEquals(reference.size(), map.size());
        }
        for (Map.Entry<Long, Integer> e : reference.entrySet()) {
            assertEquals(e.getValue(), map.get(e.getKey()));
        }
    }
}
