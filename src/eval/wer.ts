/**
 * Word and character error rates, as the paper scores them.
 *
 * Corpus-level WER = Σ word edit distance / Σ reference words, on lower-cased, whitespace-split text
 * (the reference implementation does `s.lower().split()` then a Levenshtein distance per utterance and
 * sums both). CER is the same over characters of the normalised text, spaces included.
 *
 * Edge cases (documented, tested):
 * - an empty hypothesis against a reference of n words is n deletions (utterance WER 1);
 * - an empty reference against a hypothesis of m words is m insertions; it adds m to the numerator and
 *   0 to the denominator;
 * - when the whole corpus has 0 reference words the rate is 0 if there are no errors, else Infinity.
 *
 * The S/D/I split comes from one optimal alignment; where several alignments have the same total, the
 * backtrace prefers a match/substitution, then a deletion, then an insertion.
 */

export interface EditCounts {
  /** Substitutions. */
  sub: number;
  /** Deletions (reference tokens missing from the hypothesis). */
  del: number;
  /** Insertions (hypothesis tokens not in the reference). */
  ins: number;
  /** Matches (hits). */
  hit: number;
  /** sub + del + ins: the Levenshtein distance. */
  errors: number;
  /** Reference length. */
  refLen: number;
  /** Hypothesis length. */
  hypLen: number;
}

/** Lower-cases and collapses whitespace; the text WER/CER are computed on. */
export function normalizeText(text: string): string {
  return text.toLowerCase().split(/\s+/).filter((w) => w.length > 0).join(" ");
}

/** The words of a text after normalisation (lower-case, whitespace split). */
export function words(text: string): string[] {
  const n = normalizeText(text);
  return n.length === 0 ? [] : n.split(" ");
}

/** Levenshtein alignment of two token sequences with S/D/I counts (unit costs). */
export function editCounts<T>(ref: readonly T[], hyp: readonly T[]): EditCounts {
  const n = ref.length;
  const m = hyp.length;
  const w = m + 1;
  const d = new Int32Array((n + 1) * w);
  for (let i = 0; i <= n; i++) d[i * w] = i;
  for (let j = 0; j <= m; j++) d[j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const diag = d[(i - 1) * w + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      const up = d[(i - 1) * w + j]! + 1; // deletion
      const left = d[i * w + j - 1]! + 1; // insertion
      d[i * w + j] = Math.min(diag, up, left);
    }
  }
  let sub = 0;
  let del = 0;
  let ins = 0;
  let hit = 0;
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const cur = d[i * w + j]!;
    if (i > 0 && j > 0) {
      const same = ref[i - 1] === hyp[j - 1];
      if (d[(i - 1) * w + j - 1]! + (same ? 0 : 1) === cur) {
        if (same) hit++;
        else sub++;
        i--;
        j--;
        continue;
      }
    }
    if (i > 0 && d[(i - 1) * w + j]! + 1 === cur) {
      del++;
      i--;
      continue;
    }
    ins++;
    j--;
  }
  return { sub, del, ins, hit, errors: sub + del + ins, refLen: n, hypLen: m };
}

/** Word-level edit counts of one utterance (normalised text). */
export function wordEdits(ref: string, hyp: string): EditCounts {
  return editCounts(words(ref), words(hyp));
}

/** Character-level edit counts of one utterance (normalised text, spaces included). */
export function charEdits(ref: string, hyp: string): EditCounts {
  return editCounts([...normalizeText(ref)], [...normalizeText(hyp)]);
}

export interface ErrorRate {
  /** Σ errors / Σ reference length (0 if both are 0; Infinity if only the reference total is 0). */
  rate: number;
  errors: number;
  refLen: number;
  sub: number;
  del: number;
  ins: number;
  utterances: number;
}

export interface RefHyp {
  ref: string;
  hyp: string;
}

function aggregate(counts: EditCounts[]): ErrorRate {
  let errors = 0;
  let refLen = 0;
  let sub = 0;
  let del = 0;
  let ins = 0;
  for (const c of counts) {
    errors += c.errors;
    refLen += c.refLen;
    sub += c.sub;
    del += c.del;
    ins += c.ins;
  }
  const rate = refLen > 0 ? errors / refLen : errors === 0 ? 0 : Infinity;
  return { rate, errors, refLen, sub, del, ins, utterances: counts.length };
}

/** Corpus-level WER: Σ word edits / Σ reference words. */
export function corpusWer(pairs: readonly RefHyp[]): ErrorRate {
  return aggregate(pairs.map((p) => wordEdits(p.ref, p.hyp)));
}

/** Corpus-level CER: Σ character edits / Σ reference characters (normalised, spaces included). */
export function corpusCer(pairs: readonly RefHyp[]): ErrorRate {
  return aggregate(pairs.map((p) => charEdits(p.ref, p.hyp)));
}

/** WER of a single utterance (same edge-case rules as the corpus rate). */
export function wer(ref: string, hyp: string): number {
  return corpusWer([{ ref, hyp }]).rate;
}

/** CER of a single utterance. */
export function cer(ref: string, hyp: string): number {
  return corpusCer([{ ref, hyp }]).rate;
}
