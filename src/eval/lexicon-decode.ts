/**
 * A conventional reference recogniser for an encoder: its greedy CTC string of units (phonemes for
 * audio, visemes for video), segmented into words with a pronunciation lexicon and a word-bigram LM (no
 * LLM). It answers "how many words do the encoder's units hold?", so that the LLM's WER (issue 5) can
 * be read against what a classical unit + lexicon + LM decoder gets from the same frozen encoder.
 *
 *   score(words) = Σ_k [ lmWeight · log P(w_k | w_{k−1}) + log P(pron | w_k) − editCost · edits_k ]
 *                  − skipCost · (phones left out) + lmWeight · log P(</s> | w_K)
 *
 * edits_k: Levenshtein distance between the phones a word spans and one of its pronunciations (spans of
 * the pronunciation's length ± 1). Search: left to right over phone positions, the hypotheses ending at
 * a position recombined by their last word (the bigram state) and cut to the `beam` best.
 * Pronunciations come from the training alignments (the units inside each word's interval), so the
 * accents of the corpus voices are all there; the LM from text (e.g. the LMs' pretraining text).
 * "Phone" below means one unit of either kind.
 */

import type { BigramLm } from "./bigram-lm.js";

export interface AlignedUtterance {
  words: ReadonlyArray<readonly [string, number, number]>;
  /** The units with their times (phonemes, or visemes without silence), in order. */
  units: ReadonlyArray<readonly [string, number, number]>;
}

/** word -> its pronunciations (phone strings) with log P(pron | word). */
export type Pronunciations = Map<string, { phones: string[]; logPrior: number }[]>;

/**
 * Pronunciations seen in aligned utterances: a unit belongs to the word whose interval holds its
 * midpoint. Variants seen in less than `minShare` of a word's occurrences are dropped (alignment noise).
 */
export function pronunciationsOf(utts: Iterable<AlignedUtterance>, minShare = 0.05): Pronunciations {
  const counts = new Map<string, Map<string, number>>();
  for (const u of utts) {
    let p = 0;
    for (const [w, start, end] of u.words) {
      const phones: string[] = [];
      const mid = (k: number) => (u.units[k]![1] + u.units[k]![2]) / 2;
      while (p < u.units.length && mid(p) < start) p++;
      while (p < u.units.length && mid(p) < end) phones.push(u.units[p++]![0]);
      if (phones.length === 0) continue;
      const m = counts.get(w) ?? counts.set(w, new Map()).get(w)!;
      const key = phones.join(" ");
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  const out: Pronunciations = new Map();
  for (const [w, m] of counts) {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const kept = [...m].filter(([, c]) => c / total >= minShare);
    const keptTotal = kept.reduce((a, [, c]) => a + c, 0);
    out.set(
      w,
      kept.sort((a, b) => b[1] - a[1]).map(([k, c]) => ({ phones: k.split(" "), logPrior: Math.log(c / keptTotal) })),
    );
  }
  return out;
}

export interface LexiconDecodeOptions {
  /** Hypotheses kept per phone position (after recombination by last word). */
  beam: number;
  lmWeight: number;
  /** Cost of one phone edit between a word's span and its pronunciation. */
  editCost: number;
  /** Cost of leaving a phone out of every word (a spurious phone between words). */
  skipCost: number;
  /** A word is tried on a span only if edits ≤ max(1, floor(maxEditShare · pronunciation length)). */
  maxEditShare: number;
}

export const DEFAULT_LEXICON_DECODE: LexiconDecodeOptions = { beam: 16, lmWeight: 1, editCost: 4, skipCost: 6, maxEditShare: 0.4 };

function levenshtein(a: readonly string[], a0: number, a1: number, b: readonly string[]): number {
  const m = b.length;
  let prev = new Array<number>(m + 1);
  let cur = new Array<number>(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = a0; i < a1; i++) {
    cur[0] = i - a0 + 1;
    for (let j = 1; j <= m; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i] === b[j - 1] ? 0 : 1));
    [prev, cur] = [cur, prev];
  }
  return prev[m]!;
}

interface Hyp {
  score: number;
  last: string;
  /** The words so far, space-joined (tells apart hypotheses of one bigram state). */
  key: string;
  words: { w: string; before: Hyp["words"] } | null;
}

/** The best word sequence for a phone string (empty phones -> no words). */
export function lexiconDecode(phones: readonly string[], prons: Pronunciations, lm: BigramLm, opts: Partial<LexiconDecodeOptions> = {}): string[] {
  return lexiconDecodeNBest(phones, prons, lm, 1, opts)[0]?.words ?? [];
}

/**
 * The `n` best distinct word sequences for a phone string, best first, with their scores (the objective
 * above). Each bigram state (last word) at a phone position keeps its `n` best distinct sequences, and
 * `beam`·n hypotheses go on from a position; with n = 1 this is exactly `lexiconDecode`'s search.
 */
export function lexiconDecodeNBest(phones: readonly string[], prons: Pronunciations, lm: BigramLm, n: number, opts: Partial<LexiconDecodeOptions> = {}): Array<{ words: string[]; score: number }> {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`lexiconDecodeNBest: n must be an integer ≥ 1, got ${n}`);
  const o = { ...DEFAULT_LEXICON_DECODE, ...opts };
  const T = phones.length;
  // candidates[i]: words that can start at phone i, with their span length and acoustic score
  const candidates: { w: string; len: number; score: number }[][] = Array.from({ length: T }, () => []);
  for (const [w, variants] of prons) {
    for (const v of variants) {
      const L = v.phones.length;
      const maxEdit = Math.max(1, Math.floor(o.maxEditShare * L));
      for (let i = 0; i < T; i++) {
        for (let len = Math.max(1, L - 1); len <= L + 1 && i + len <= T; len++) {
          const e = levenshtein(phones, i, i + len, v.phones);
          if (e <= maxEdit) candidates[i]!.push({ w, len, score: v.logPrior - o.editCost * e });
        }
      }
    }
  }
  // at[j]: last word -> its best distinct hypotheses ending at phone j (at most n, best first)
  const at: Map<string, Hyp[]>[] = Array.from({ length: T + 1 }, () => new Map());
  const offer = (j: number, h: Hyp) => {
    const list = at[j]!.get(h.last) ?? at[j]!.set(h.last, []).get(h.last)!;
    const same = list.findIndex((x) => x.key === h.key);
    if (same >= 0) {
      if (!(h.score > list[same]!.score)) return;
      list.splice(same, 1);
    }
    if (list.length >= n && !(h.score > list[list.length - 1]!.score)) return;
    let k = list.length;
    while (k > 0 && list[k - 1]!.score < h.score) k--;
    list.splice(k, 0, h);
    if (list.length > n) list.pop();
  };
  at[0]!.set("<s>", [{ score: 0, last: "<s>", key: "", words: null }]);
  for (let i = 0; i < T; i++) {
    const live = [...at[i]!.values()].flat().sort((a, b) => b.score - a.score).slice(0, o.beam * n);
    for (const h of live) {
      offer(i + 1, { ...h, score: h.score - o.skipCost });
      for (const c of candidates[i]!) {
        offer(i + c.len, { score: h.score + c.score + o.lmWeight * lm.logProb(h.last, c.w), last: c.w, key: h.key ? `${h.key} ${c.w}` : c.w, words: { w: c.w, before: h.words } });
      }
    }
  }
  const ends = [...at[T]!.values()].flat().map((h) => ({ h, score: h.score + o.lmWeight * lm.logProb(h.last, "</s>") }));
  ends.sort((a, b) => b.score - a.score);
  return ends.slice(0, n).map(({ h, score }) => {
    const out: string[] = [];
    for (let x = h.words; x; x = x.before) out.push(x.w);
    return { words: out.reverse(), score };
  });
}

export interface LexiconScoreOptions extends LexiconDecodeOptions {
  /** Cost of a word without a pronunciation: it spans no phones (those left are skipped at skipCost). */
  unknownWordCost: number;
}

export const DEFAULT_LEXICON_SCORE: LexiconScoreOptions = { ...DEFAULT_LEXICON_DECODE, unknownWordCost: 20 };

/**
 * The lexicon decoder's score of a given word sequence on a phone string: its objective (above)
 * maximised over the alignments of exactly these words, in order, so that any system's hypothesis can
 * be ranked by it (pipeline/lexicon-combination.ts). Unlike the search, a word is tried on spans of its
 * pronunciation's length ± 2 with no cap on its edits, down to no phones at all (every unit deleted), so
 * any word sequence has a finite score; a word without a pronunciation costs `unknownWordCost` and spans
 * no phones.
 */
export function lexiconScore(phones: readonly string[], words: readonly string[], prons: Pronunciations, lm: BigramLm, opts: Partial<LexiconScoreOptions> = {}): number {
  const o = { ...DEFAULT_LEXICON_SCORE, ...opts };
  const n = phones.length;
  // best[i]: the best score of the words placed so far ending at phone i (skips included)
  let best = new Float64Array(n + 1).fill(-Infinity);
  best[0] = 0;
  const skipForward = (b: Float64Array) => {
    for (let i = 1; i <= n; i++) b[i] = Math.max(b[i]!, b[i - 1]! - o.skipCost);
  };
  skipForward(best);
  let prev = "<s>";
  for (const w of words) {
    const next = new Float64Array(n + 1).fill(-Infinity);
    const lmScore = o.lmWeight * lm.logProb(prev, w);
    const variants = prons.get(w);
    if (!variants || variants.length === 0) {
      for (let i = 0; i <= n; i++) next[i] = best[i]! - o.unknownWordCost + lmScore;
    } else {
      for (let i = 0; i <= n; i++) {
        if (best[i] === -Infinity) continue;
        for (const v of variants) {
          const L = v.phones.length;
          for (let len = Math.max(0, L - 2); len <= L + 2 && i + len <= n; len++) {
            const s = best[i]! + v.logPrior - o.editCost * levenshtein(phones, i, i + len, v.phones) + lmScore;
            if (s > next[i + len]!) next[i + len] = s;
          }
        }
      }
    }
    skipForward(next);
    best = next;
    prev = w;
  }
  return best[n]! + o.lmWeight * lm.logProb(prev, "</s>");
}
