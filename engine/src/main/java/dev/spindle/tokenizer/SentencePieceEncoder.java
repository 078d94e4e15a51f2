package dev.spindle.tokenizer;

/**
 * SentencePiece's BPE as llama.cpp runs it for {@code tokenizer.ggml.model = llama}: spaces become {@code U+2581},
 * the text starts as one symbol per character, and the adjacent pair whose concatenation is the highest-scoring
 * vocabulary entry is merged first (leftmost on ties) until no pair is in the vocabulary. A character the vocabulary
 * lacks is spelled with byte tokens ({@code <0xE4>}).
 */
final class SentencePieceEncoder {

    private static final byte[] ESCAPED_SPACE = {(byte) 0xe2, (byte) 0x96, (byte) 0x81};

    private final ByteSequenceTable textToId;
    private final float[] scores;
    /** The token for each byte value when a character must be spelled byte by byte; -1 where there is none. */
    private final int[] byteTokens = new int[256];

    SentencePieceEncoder(ByteSequenceTable textToId, float[] scores, int unkId) {
        this.textToId = textToId;
        this.scores = scores;
        for (int b = 0; b < 256; b++) {
            byte[] hex = String.format("<0x%02X>", b).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            int id = textToId.get(hex, -1);
            if (id < 0) {
                id = textToId.get(new byte[] {(byte) b}, -1);
            }
            byteTokens[b] = id >= 0 ? id : unkId;
        }
    }

    /** Encodes {@code text[from, to)}, preceded by a space when {@code spacePrefix}, appending ids to {@code out}. */
    void encode(byte[] text, int from, int to, boolean spacePrefix, EncodeScratch s, GrowableInts out) {
        int maxLength = (to - from + 1) * 3;
        byte[] w = s.ensureWork(maxLength);
        int n = 0;
        if (spacePrefix) {
            w[n++] = ESCAPED_SPACE[0];
            w[n++] = ESCAPED_SPACE[1];
            w[n++] = ESCAPED_SPACE[2];
        }
        for (int i = from; i < to; i++) {
            byte b = text[i];
            if (b == ' ') {
                w[n++] = ESCAPED_SPACE[0];
                w[n++] = ESCAPED_SPACE[1];
                w[n++] = ESCAPED_SPACE[2];
            } else {
                w[n++] = b;
            }
        }
        if (n == 0) {
            return;
        }
        s.ensureSymbols(n);
        int count = 0;
        for (int offset = 0; offset < n; ) {
            int len = Math.min(Codepoints.utf8Length(w[offset]), n - offset);
            s.symStart[count] = offset;
            s.symLength[count] = len;
            s.prev[count] = count - 1;
            offset += len;
            s.next[count] = offset == n ? -1 : count + 1;
            count++;
        }
        s.heapClear();
        for (int i = 0; i + 1 < count; i++) {
            offerPair(s, w, i);
        }
        while (s.heapSize > 0) {
            long key = s.heapPop();
            int left = (int) key;
            int sortable = ~(int) (key >>> 32);
            if (s.symLength[left] == 0 || s.candidateResult[left] < 0 || s.candidateKey[left] != sortable) {
                continue;
            }
            int right = s.next[left];
            s.symLength[left] += s.symLength[right];
            s.symLength[right] = 0;
            s.candidateResult[right] = -1;
            int after = s.next[right];
            s.next[left] = after;
            if (after >= 0) {
                s.prev[after] = left;
            }
            if (s.prev[left] >= 0) {
                offerPair(s, w, s.prev[left]);
            }
            offerPair(s, w, left);
        }
        for (int i = 0; i != -1; i = s.next[i]) {
            int id = textToId.get(w, s.symStart[i], s.symLength[i], -1);
            if (id >= 0) {
                out.add(id);
            } else {
                for (int j = s.symStart[i], end = j + s.symLength[i]; j < end; j++) {
                    int byteToken = byteTokens[w[j] & 0xff];
                    if (byteToken >= 0) {
                        out.add(byteToken);
                    }
                }
            }
        }
    }

    /** Makes the pair of symbol {@code left} and its right neighbour its current candidate, if it is a token. */
    private void offerPair(EncodeScratch s, byte[] w, int left) {
        int right = s.next[left];
        s.candidateResult[left] = -1;
        if (right < 0) {
            return;
        }
        int id = textToId.get(w, s.symStart[left], s.symLength[left] + s.symLength[right], -1);
        if (id < 0) {
            return;
        }
        float score = scores == null ? 0f : scores[id] + 0f; // + 0f folds -0.0 into 0.0, which compare equal
        int bits = Float.floatToRawIntBits(score);
        int sortable = bits ^ ((bits >> 31) & 0x7fffffff);
        s.candidateKey[left] = sortable;
        s.candidateResult[left] = id;
        s.heapPush(((long) ~sortable << 32) | left);
    }
}
