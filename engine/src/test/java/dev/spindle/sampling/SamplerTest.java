package dev.spindle.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final int VOCAB = 50;
    private static final int DRAWS = 20_000;

    /** Logits with a known order: token i has logit ranks[i]-ish, shuffled with a fixed seed. */
    private static float[] logits(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] l = new float[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            l[i] = (float) (random.nextGaussian() * 2);
        }
        return l;
    }

    private static int[] counts(float[] logits, SamplingParams params) {
        Sampler sampler = new Sampler(VOCAB);
        SamplingState state = SamplingState.start(params, 0, new int[0]);
        int[] counts = new int[VOCAB];
        for (int i = 0; i < DRAWS; i++) {
            counts[sampler.sample(logits, 0, state, null)]++;
        }
        return counts;
    }

    private static double[] softmax(float[] logits, float temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l / temperature);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] / temperature - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Token ids ordered by probability, most probable first. */
    private static Integer[] ranking(float[] logits) {
        Integer[] ids = new Integer[logits.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        Arrays.sort(ids, (a, b) -> Float.compare(logits[b], logits[a]));
        return ids;
    }

    /** Every count is within 5 standard deviations of its expectation under {@code expected}. */
    private static void assertFollows(double[] expected, int[] counts) {
        for (int i = 0; i < counts.length; i++) {
            double mean = expected[i] * DRAWS;
            double sd = Math.sqrt(DRAWS * expected[i] * (1 - expected[i]));
            assertTrue(
                    Math.abs(counts[i] - mean) <= 5 * sd + 1,
                    "token " + i + ": drawn " + counts[i] + " times, expected about " + mean);
        }
    }

    @Test
    void greedyTakesTheArgMaxAndTheLowestIdOnATie() {
        float[] l = logits(1);
        int best = ranking(l)[0];
        Sampler sampler = new Sampler(VOCAB);
        SamplingState state = SamplingState.start(SamplingParams.greedy(10), 0, new int[0]);
        assertEquals(best, sampler.sample(l, 0, state, null));

        float[] tie = new float[VOCAB];
        tie[7] = 3;
        tie[4] = 3;
        assertEquals(4, sampler.sample(tie, 0, state, null));
    }

    @Test
    void readsTheRowAtItsOffsetAndLeavesTheLogitsUnchanged() {
        float[] rows = new float[3 * VOCAB];
        rows[VOCAB + 9] = 5;
        rows[2 * VOCAB + 1] = 5;
        float[] before = rows.clone();
        Sampler sampler = new Sampler(VOCAB);
        SamplingParams params = SamplingParams.builder()
                .temperature(0)
                .repetitionPenalty(2)
                .logitBias(Map.of(3, 1f))
                .build();
        SamplingState state = SamplingState.start(params, 0, new int[] {9});
        assertEquals(9, sampler.sample(rows, VOCAB, state, null));
        assertEquals(1, sampler.sample(rows, 2 * VOCAB, state, null));
        assertArrayEquals(before, rows);
    }

    @Test
    void aFixedSeedReproducesTheSameSamples() {
        float[] l = logits(2);
        SamplingParams params = SamplingParams.builder()
                .temperature(1.3f)
                .topP(0.95f)
                .seed(1234)
                .n(3)
                .build();
        int[][] runs = new int[3][];
        for (int run = 0; run < 2; run++) {
            Sampler sampler = new Sampler(VOCAB);
            SamplingState state = SamplingState.start(params, 0, new int[0]);
            runs[run] = new int[200];
            for (int i = 0; i < 200; i++) {
                runs[run][i] = sampler.sample(l, 0, state, null);
            }
        }
        assertArrayEquals(runs[0], runs[1]);
        // sample 1 of the same request is another, independent stream
        Sampler sampler = new Sampler(VOCAB);
        SamplingState other = SamplingState.start(params, 1, new int[0]);
        runs[2] = new int[200];
        for (int i = 0; i < 200; i++) {
            runs[2][i] = sampler.sample(l, 0, other, null);
        }
        assertNotEquals(Arrays.toString(runs[0]), Arrays.toString(runs[2]));
    }

    @Test
    void plainTemperatureSamplingFollowsTheSoftmax() {
        float[] l = logits(3);
        int[] counts =
                counts(l, SamplingParams.builder().temperature(1.5f).seed(9).build());
        assertFollows(softmax(l, 1.5f), counts);
    }

    @Test
    void topKNeverPicksATokenOutsideTheK() {
        float[] l = logits(4);
        int[] counts = counts(
                l, SamplingParams.builder().temperature(2).topK(5).seed(10).build());
        Integer[] rank = ranking(l);
        double[] p = softmax(l, 2);
        double[] expected = new double[VOCAB];
        double kept = 0;
        for (int r = 0; r < 5; r++) {
            kept += p[rank[r]];
        }
        for (int r = 0; r < 5; r++) {
            expected[rank[r]] = p[rank[r]] / kept;
        }
        for (int r = 5; r < VOCAB; r++) {
            assertEquals(0, counts[rank[r]], "token ranked " + r + " lies outside the top 5");
        }
        assertFollows(expected, counts);
    }

    @Test
    void topPKeepsExactlyTheSmallestPrefixReachingP() {
        float[] l = logits(5);
        float topP = 0.6f;
        int[] counts = counts(
                l, SamplingParams.builder().temperature(1).topP(topP).seed(11).build());
        Integer[] rank = ranking(l);
        double[] p = softmax(l, 1);
        int nucleus = 0;
        double cumulative = 0;
        while (cumulative < topP) {
            cumulative += p[rank[nucleus++]];
        }
        assertTrue(nucleus > 1 && nucleus < VOCAB, "the test needs a non-trivial nucleus, got " + nucleus);
        double[] expected = new double[VOCAB];
        for (int r = 0; r < nucleus; r++) {
            expected[rank[r]] = p[rank[r]] / cumulative;
        }
        for (int r = nucleus; r < VOCAB; r++) {
            assertEquals(0, counts[rank[r]], "token ranked " + r + " lies outside the nucleus of " + nucleus);
        }
        assertFollows(expected, counts);
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheTopProbability() {
        float[] l = logits(6);
        float minP = 0.2f;
        int[] counts = counts(
                l, SamplingParams.builder().temperature(1).minP(minP).seed(12).build());
        double[] p = softmax(l, 1);
        double top = Arrays.stream(p).max().orElseThrow();
        double kept = 0;
        int keptCount = 0;
        for (double pi : p) {
            if (pi >= minP * top) {
                kept += pi;
                keptCount++;
            }
        }
        assertTrue(keptCount > 1 && keptCount < VOCAB, "the test needs a non-trivial cut, got " + keptCount);
        double[] expected = new double[VOCAB];
        for (int i = 0; i < VOCAB; i++) {
            if (p[i] >= minP * top) {
                expected[i] = p[i] / kept;
            } else {
                assertEquals(0, counts[i], "token " + i + " has p " + p[i] + " below minP * " + top);
            }
        }
        assertFollows(expected, counts);
    }

    @Test
    void topKThenTopPThenMinPCombine() {
        float[] l = logits(7);
        int[] counts = counts(
                l,
                SamplingParams.builder()
                        .temperature(3)
                        .topK(10)
                        .topP(0.8f)
                        .minP(0.5f)
                        .seed(13)
                        .build());
        Integer[] rank = ranking(l);
        for (int r = 10; r < VOCAB; r++) {
            assertEquals(0, counts[rank[r]]);
        }
        double[] p = softmax(l, 3);
        for (int i = 0; i < VOCAB; i++) {
            if (p[i] < 0.5 * p[rank[0]]) {
                assertEquals(0, counts[i], "token " + i + " is below minP");
            }
        }
    }

    @Test
    void penaltiesFollowTheirDefinitions() {
        float[] l = new float[VOCAB];
        l[0] = 2.0f; // in the prompt: repetition penalty 2 makes it 1.0
        l[1] = 1.5f; // untouched
        l[2] = 1.4f; // generated twice: frequency 0.2 * 2 + presence 0.1 makes it 0.9
        Sampler sampler = new Sampler(VOCAB);
        SamplingParams params =
                SamplingParams.builder().temperature(0).repetitionPenalty(2).build();
        SamplingState state = SamplingState.start(params, 0, new int[] {0});
        assertEquals(1, sampler.sample(l, 0, state, null));

        SamplingParams additive = SamplingParams.builder()
                .temperature(0)
                .frequencyPenalty(0.2f)
                .presencePenalty(0.1f)
                .build();
        SamplingState seen = SamplingState.start(additive, 0, new int[] {2, 2, 2});
        float[] favour2 = l.clone();
        favour2[2] = 5; // drawn twice to build up a count
        assertEquals(2, sampler.sample(favour2, 0, seen, null));
        assertEquals(2, sampler.sample(favour2, 0, seen, null));
        assertEquals(2, seen.outputCount(2));
        // now 2 scores 1.4 - 0.5 = 0.9; without a repetition penalty the prompt's occurrences do not count
        l[2] = 2.4f;
        assertEquals(0, sampler.sample(l, 0, seen, null)); // 2.4 - 0.5 = 1.9 < 2.0
        l[0] = -1;
        l[1] = -3;
        l[2] = -1.9f; // negative logits of seen tokens are multiplied by the repetition penalty
        SamplingState negative = SamplingState.start(params, 0, new int[] {0});
        float[] rest = l.clone();
        for (int i = 3; i < VOCAB; i++) {
            rest[i] = -10;
        }
        assertEquals(2, sampler.sample(rest, 0, negative, null)); // -1 * 2 = -2 < -1.9
    }

    @Test
    void logitBiasShiftsTheChoice() {
        float[] l = logits(8);
        int worst = ranking(l)[VOCAB - 1];
        Sampler sampler = new Sampler(VOCAB);
        SamplingParams params = SamplingParams.builder()
                .temperature(0)
                .logitBias(Map.of(worst, 100f))
                .build();
        assertEquals(worst, sampler.sample(l, 0, SamplingState.start(params, 0, new int[0]), null));
        SamplingParams outside =
                SamplingParams.builder().logitBias(Map.of(VOCAB, 1f)).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sampler.checkFits(outside));
        assertTrue(e.getMessage().startsWith("logitBias"), e.getMessage());
    }

    @Test
    void logprobsAreTheModelsLogSoftmaxWithTheTopAlternativesInOrder() {
        float[] l = logits(9);
        Sampler sampler = new Sampler(VOCAB);
        SamplingParams params = SamplingParams.builder()
                .temperature(0.8f)
                .topK(3)
                .seed(3)
                .topLogprobs(5)
                .build();
        TokenLogprobs out = new TokenLogprobs();
        int token = sampler.sample(l, 0, SamplingState.start(params, 0, new int[0]), out);
        double[] p = softmax(l, 1);
        assertEquals(token, out.token());
        assertEquals(Math.log(p[token]), out.logprob(), 1e-5);
        Integer[] rank = ranking(l);
        assertEquals(5, out.topCount());
        for (int i = 0; i < 5; i++) {
            assertEquals(rank[i], out.topToken(i));
            assertEquals(Math.log(p[rank[i]]), out.topLogprob(i), 1e-5);
        }
    }

    @Test
    void selectionAndSortingRankByValueThenId() {
        float[] values = {1, 5, 3, 5, 0, 4};
        int[] out = new int[values.length];
        Sampler.selectTop(values, 3, out);
        assertArrayEquals(new int[] {1, 3, 5}, Arrays.copyOf(out, 3));
        int[] ids = {4, 0, 2, 3, 5, 1};
        Sampler.sortDescending(values, ids, ids.length);
        assertArrayEquals(new int[] {1, 3, 5, 2, 0, 4}, ids);
    }
}
