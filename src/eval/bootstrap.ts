/**
 * Paired bootstrap comparison of two systems' corpus WER on the same utterances (Bisani & Ney 2004):
 * resample utterances with replacement, recompute both corpus WERs (Σ errors / Σ reference words) on
 * each resample, and report the difference's percentile interval and how often system B is better.
 *
 * Why: the lever and encoder experiments compare two runs on 300 test utterances (~2,100 words), so a
 * difference of a few points needs an error bar before it is called a gain.
 */
import { Rng } from "../util/rng.js";

/** One utterance's word errors and reference words. */
export interface UttErrors {
  errors: number;
  refWords: number;
}

export interface PairedBootstrap {
  /** Corpus WER of A and B on all utterances. */
  werA: number;
  werB: number;
  /** werB - werA (negative: B is better). */
  delta: number;
  /** Percentile interval of the delta over the resamples, at `level` (default 95 %). */
  ci: [number, number];
  level: number;
  /** Fraction of resamples where B's WER is below A's (ties count half). */
  pBetter: number;
  samples: number;
  utterances: number;
}

const rate = (e: number, n: number) => (n > 0 ? e / n : 0);

/** Paired bootstrap of B against A; `a[i]` and `b[i]` are the same utterance. Pure given the seed. */
export function pairedBootstrap(a: readonly UttErrors[], b: readonly UttErrors[], opts: { samples?: number; seed?: number; level?: number } = {}): PairedBootstrap {
  if (a.length !== b.length) throw new RangeError(`pairedBootstrap: ${a.length} utterances in A, ${b.length} in B`);
  if (a.length === 0) throw new RangeError("pairedBootstrap: no utterances");
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.refWords !== b[i]!.refWords) throw new RangeError(`pairedBootstrap: utterance ${i} has ${a[i]!.refWords} reference words in A and ${b[i]!.refWords} in B (not the same utterance?)`);
  }
  const samples = opts.samples ?? 10000;
  const level = opts.level ?? 0.95;
  if (!(Number.isInteger(samples) && samples > 0)) throw new RangeError(`pairedBootstrap: samples must be a positive integer, got ${samples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`pairedBootstrap: level must be in (0, 1), got ${level}`);
  const n = a.length;
  const sum = (xs: readonly UttErrors[], k: "errors" | "refWords") => xs.reduce((s, x) => s + x[k], 0);
  const refAll = sum(a, "refWords");
  const werA = rate(sum(a, "errors"), refAll);
  const werB = rate(sum(b, "errors"), refAll);
  const rng = new Rng(opts.seed ?? 0).fork("paired-bootstrap");
  const deltas = new Float64Array(samples);
  let better = 0;
  for (let s = 0; s < samples; s++) {
    let ea = 0;
    let eb = 0;
    let ref = 0;
    for (let k = 0; k < n; k++) {
      const i = rng.int(0, n);
      ea += a[i]!.errors;
      eb += b[i]!.errors;
      ref += a[i]!.refWords;
    }
    const d = rate(eb, ref) - rate(ea, ref);
    deltas[s] = d;
    better += d < 0 ? 1 : d === 0 ? 0.5 : 0;
  }
  deltas.sort();
  const q = (p: number) => deltas[Math.min(samples - 1, Math.max(0, Math.floor(p * samples)))]!;
  return { werA, werB, delta: werB - werA, ci: [q((1 - level) / 2), q(1 - (1 - level) / 2)], level, pBetter: better / samples, samples, utterances: n };
}

/**
 * The WER of choosing, for every utterance, the better of two systems' hypotheses (fewer word errors):
 * the ceiling of any combination that picks one of the two whole hypotheses, and a floor on how
 * differently they err (equal to both WERs when one is never better than the other).
 */
export function oracleOfTwo(a: readonly UttErrors[], b: readonly UttErrors[]): number {
  if (a.length !== b.length) throw new Error(`oracleOfTwo: ${a.length} against ${b.length} utterances`);
  let errors = 0;
  let words = 0;
  a.forEach((x, i) => {
    errors += Math.min(x.errors, b[i]!.errors);
    words += x.refWords;
  });
  return words > 0 ? errors / words : 0;
}
