package dev.spindle.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class SamplingParamsTest {

    private static void assertRejected(String field, UnaryOperator<SamplingParams.Builder> bad) {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> bad.apply(SamplingParams.builder()).build());
        assertTrue(
                e.getMessage().startsWith(field + " "), () -> "message should name " + field + ": " + e.getMessage());
    }

    @Test
    void badValuesAreRejectedWithTheFieldNamed() {
        assertRejected("temperature", b -> b.temperature(-0.1f));
        assertRejected("temperature", b -> b.temperature(Float.NaN));
        assertRejected("temperature", b -> b.temperature(Float.POSITIVE_INFINITY));
        assertRejected("topK", b -> b.topK(-1));
        assertRejected("topP", b -> b.topP(1.01f));
        assertRejected("topP", b -> b.topP(0));
        assertRejected("topP", b -> b.topP(Float.NaN));
        assertRejected("minP", b -> b.minP(-0.01f));
        assertRejected("minP", b -> b.minP(1.5f));
        assertRejected("repetitionPenalty", b -> b.repetitionPenalty(0));
        assertRejected("presencePenalty", b -> b.presencePenalty(2.5f));
        assertRejected("frequencyPenalty", b -> b.frequencyPenalty(-3));
        assertRejected("n", b -> b.n(0));
        assertRejected("maxTokens", b -> b.maxTokens(0));
        assertRejected("topLogprobs", b -> b.topLogprobs(21));
        assertRejected("topLogprobs", b -> b.topLogprobs(2).logprobs(false));
        assertRejected("logitBias", b -> b.logitBias(Map.of(5, 101f)));
        assertRejected("logitBias", b -> b.logitBias(Map.of(-1, 1f)));
    }

    @Test
    void defaultsAreValidAndSwitchEverythingOff() {
        SamplingParams p = SamplingParams.builder().build();
        assertEquals(1f, p.temperature());
        assertFalse(p.isGreedy());
        assertFalse(p.hasPenalties());
        assertEquals(1, p.n());
        assertTrue(SamplingParams.greedy(8).isGreedy());
    }

    @Test
    void isAValue() {
        SamplingParams a = SamplingParams.builder()
                .temperature(0.7f)
                .topK(40)
                .logitBias(Map.of(3, 1.5f, 1, -2f))
                .seed(7)
                .build();
        SamplingParams b = a.toBuilder().build();
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertEquals("{1=-2.0, 3=1.5}", a.logitBias().toString());
    }
}
