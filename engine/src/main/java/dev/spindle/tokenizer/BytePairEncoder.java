package dev.spindle.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Byte-level BPE as llama.cpp runs it for {@code tokenizer.ggml.model = gpt2}: the pre-tokenizer cuts text into
 * words; within a word every byte starts as its own symbol, and the adjacent pair with the lowest merge rank is merged
 * first (leftmost on ties) until no pair has a merge.
 *
 * <p>Merges work on symbol ids, not strings: every byte sequence that a merge mentions has an id (the token id when the
 * vocabulary has it, a private id past the vocabulary otherwise), and the merge table maps a pair of ids to its rank
 * and result in one probe. A heap of pending pairs keeps a word of n bytes at O(n log n). A word's ids depend only on
 * its bytes, so recent words are remembered in a small cache shared by all threads.
 */
final class BytePairEncoder {

    private static final int CACHE_SLOTS = 1 << 14;
    private static final int CACHE_MAX_WORD = 48;

    private final PreTokenizer preTokenizer;
    private final int vocabSize;
    /** Byte sequence to symbol id: vocabulary entries whose text is in the byte alphabet, then private ids. */
    private final ByteSequenceTable symbols;
    /** The symbol each byte value starts as. */
    private final int[] byteSymbols = new int[256];
    /** The token whose text is exactly the one byte, for llama.cpp's last-resort spelling of an unknown symbol. */
    private final int[] singleByteTextTokens = new int[256];

    private final long[] mergeKeys;
    private final long[] mergeValues;
    private final int mergeMask;

    private final CacheEntry[] cache = new CacheEntry[CACHE_SLOTS];

    private record CacheEntry(byte[] word, int[] ids) {}

    BytePairEncoder(PreTokenizer preTokenizer, String[] tokenTexts, List<String> merges) {
        this.preTokenizer = preTokenizer;
        this.vocabSize = tokenTexts.length;
        symbols = new ByteSequenceTable(tokenTexts.length + 1024);
        Arrays.fill(singleByteTextTokens, -1);
        for (int id = 0; id < tokenTexts.length; id++) {
            String text = tokenTexts[id];
            byte[] raw = ByteLevelAlphabet.decode(text);
            if (raw != null) {
                symbols.put(raw, id);
            }
            byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            if (utf8.length == 1) {
                singleByteTextTokens[utf8[0] & 0xff] = id;
            }
        }
        List<byte[]> extra = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            byteSymbols[b] = symbolId(new byte[] {(byte) b}, extra);
        }
        int capacity = Integer.highestOneBit(Math.max(16, (merges == null ? 0 : merges.size()) * 2)) << 1;
        mergeKeys = new long[capacity];
        mergeValues = new long[capacity];
        Arrays.fill(mergeKeys, -1L);
        mergeMask = capacity - 1;
        if (merges != null) {
            for (int rank = 0; rank < merges.size(); rank++) {
                String merge = merges.get(rank);
                int space = merge.indexOf(' ', 1);
                // llama.cpp keeps a line without a space as the pair ("", ""), which no word can contain.
                if (space < 0) {
                    continue;
                }
                byte[] left = ByteLevelAlphabet.decode(merge.substring(0, space));
                byte[] right = ByteLevelAlphabet.decode(merge.substring(space + 1));
                // A part outside the byte alphabet never occurs in a byte-encoded word.
                if (left == null || right == null || left.length == 0 || right.length == 0) {
                    continue;
                }
                byte[] joined = Arrays.copyOf(left, left.length + right.length);
                System.arraycopy(right, 0, joined, left.length, right.length);
                int l = symbolId(left, extra);
                int r = symbolId(right, extra);
                int result = symbolId(joined, extra);
                long key = ((long) l << 32) | r;
                int slot = mix(key) & mergeMask;
                while (mergeKeys[slot] != -1L && mergeKeys[slot] != key) {
                    slot = (slot + 1) & mergeMask;
                }
                // The first occurrence of a pair keeps its rank, as llama.cpp's map emplace does.
                if (mergeKeys[slot] == -1L) {
                    mergeKeys[slot] = key;
                    mergeValues[slot] = ((long) rank << 32) | result;
                }
            }
        }
    }

    private int symbolId(byte[] bytes, List<byte[]> extra) {
        int id = symbols.get(bytes, -1);
        if (id < 0) {
            id = vocabSize + extra.size();
            extra.add(bytes);
            symbols.put(bytes, id);
        }
        return id;
    }

    private static int mix(long key) {
        key *= 0x9e3779b97f4a7c15L;
        return (int) (key >>> 32) ^ (int) key;
    }

    /** Rank in the high half and result symbol in the low half, or -1 when the pair has no merge. */
    private long merge(int left, int right) {
        long key = ((long) left << 32) | right;
        int slot = mix(key) & mergeMask;
        while (true) {
            long k = mergeKeys[slot];
            if (k == key) {
                return mergeValues[slot];
            }
            if (k == -1L) {
                return -1L;
            }
            slot = (slot + 1) & mergeMask;
        }
    }

    /** Encodes plain text {@code text[from, to)}, appending ids to {@code out}. */
    void encode(byte[] text, int from, int to, EncodeScratch s, GrowableInts out) {
        int n = to - from;
        if (n == 0) {
            return;
        }
        s.ensureCodepoints(n);
        int[] cps = s.codepoints;
        int[] starts = s.codepointStarts;
        int count = Codepoints.decode(text, from, to, cps, starts);
        preTokenizer.split(cps, count, s.words, s.splitScratch);
        int[] ends = s.words.data;
        int wordCount = s.words.size;
        int start = 0;
        for (int w = 0; w < wordCount; w++) {
            int end = ends[w];
            encodeWord(text, starts[start], starts[end], s, out);
            start = end;
        }
    }

    private void encodeWord(byte[] text, int from, int to, EncodeScratch s, GrowableInts out) {
        int length = to - from;
        int hash = 0;
        if (length <= CACHE_MAX_WORD) {
            hash = ByteSequenceTable.hash(text, from, length);
            CacheEntry entry = cache[hash & (CACHE_SLOTS - 1)];
            if (entry != null && Arrays.equals(entry.word, 0, entry.word.length, text, from, to)) {
                out.addAll(entry.ids, 0, entry.ids.length);
                return;
            }
        }
        int mark = out.size;
        mergeWord(text, from, to, s, out);
        if (length <= CACHE_MAX_WORD) {
            cache[hash & (CACHE_SLOTS - 1)] =
                    new CacheEntry(Arrays.copyOfRange(text, from, to), Arrays.copyOfRange(out.data, mark, out.size));
        }
    }

    private void mergeWord(byte[] text, int from, int to, EncodeScratch s, GrowableInts out) {
        if (preTokenizer.takesWholeWords()) {
            int whole = symbols.get(text, from, to - from, -1);
            if (whole >= 0 && whole < vocabSize) {
                out.add(whole);
                return;
            }
        }
        int n = to - from;
        s.ensureSymbols(n);
        for (int i = 0; i < n; i++) {
            s.symStart[i] = from + i;
            s.symLength[i] = 1;
            s.symId[i] = byteSymbols[text[from + i] & 0xff];
            s.prev[i] = i - 1;
            s.next[i] = i + 1 == n ? -1 : i + 1;
        }
        s.heapClear();
        for (int i = 0; i + 1 < n; i++) {
            long m = merge(s.symId[i], s.symId[i + 1]);
            if (m < 0) {
                s.candidateResult[i] = -1;
            } else {
                int rank = (int) (m >>> 32);
                s.candidateKey[i] = rank;
                s.candidateResult[i] = (int) m;
                s.heapAppend(((long) rank << 32) | i);
            }
        }
        s.candidateResult[n - 1] = -1;
        s.heapify();
        while (s.heapSize > 0) {
            long key = s.heapPop();
            int left = (int) key;
            int rank = (int) (key >>> 32);
            if (s.symLength[left] == 0 || s.candidateResult[left] < 0 || s.candidateKey[left] != rank) {
                continue;
            }
            int right = s.next[left];
            s.symId[left] = s.candidateResult[left];
            s.symLength[left] += s.symLength[right];
            s.symLength[right] = 0;
            s.candidateResult[right] = -1;
            int after = s.next[right];
            s.next[left] = after;
            if (after >= 0) {
                s.prev[after] = left;
            }
            if (s.prev[left] >= 0) {
                offerPair(s, s.prev[left]);
            }
            offerPair(s, left);
        }
        for (int i = 0; i != -1; i = s.next[i]) {
            int id = s.symId[i];
            if (id < vocabSize) {
                out.add(id);
            } else {
                spellUnknown(text, s.symStart[i], s.symLength[i], out);
            }
        }
    }

    /**
     * llama.cpp's fallback for a merged symbol that is not a token: each byte of its byte-encoded text is looked up as
     * a one-byte token text, and bytes without one are dropped.
     */
    private void spellUnknown(byte[] text, int from, int length, GrowableInts out) {
        for (int i = from; i < from + length; i++) {
            char c = ByteLevelAlphabet.charOf(text[i]);
            if (c < 0x80) {
                int id = singleByteTextTokens[c];
                if (id >= 0) {
                    out.add(id);
                }
            } else {
                // Two UTF-8 bytes, both >= 0x80: a one-byte token text that is not valid UTF-8 on its own.
                int b1 = 0xc0 | (c >> 6);
                int b2 = 0x80 | (c & 0x3f);
                if (singleByteTextTokens[b1] >= 0) {
                    out.add(singleByteTextTokens[b1]);
                }
                if (singleByteTextTokens[b2] >= 0) {
                    out.add(singleByteTextTokens[b2]);
                }
            }
        }
    }

    private void offerPair(EncodeScratch s, int left) {
        int right = s.next[left];
        s.candidateResult[left] = -1;
        if (right < 0) {
            return;
        }
        long m = merge(s.symId[left], s.symId[right]);
        if (m < 0) {
            return;
        }
        int rank = (int) (m >>> 32);
        s.candidateKey[left] = rank;
        s.candidateResult[left] = (int) m;
        s.heapPush(((long) rank << 32) | left);
    }
}
