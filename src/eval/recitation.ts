/**
 * Recitation probe: do a model's hypotheses drift towards sentences it was trained on?
 *
 * A model that memorised its training transcripts and recites them when unsure would produce
 * hypotheses nearer to some training sentence than to an unseen sentence of the same kind. For each
 * hypothesis, the distance to its nearest sentence (word edits / hypothesis words) is measured in two
 * pools of equal size, drawn with a seed: distinct training sentences, and distinct held-out (val/test)
 * sentences other than the utterance's own reference. Equal pools make the two minima comparable (a
 * bigger pool has nearer neighbours by chance); pool sentences whose length differs from the
 * hypothesis by more than `maxLenDiff` words are skipped (they cannot be near).
 */
import { Rng } from "../util/rng.js";
import { editCounts, normalizeText, words } from "./wer.js";

export interface RecitationOptions {
  seed?: number;
  /** Pool sentences longer or shorter than the hypothesis by more than this are skipped (default 3). */
  maxLenDiff?: number;
}

export interface RecitationResult {
  utterances: number;
  /** Sentences in each pool (the smaller of the two distinct sets). */
  poolSize: number;
  /** Mean distance of a hypothesis to its nearest training / held-out sentence. */
  meanNearestTrain: number;
  meanNearestHeldOut: number;
  /** Hypotheses strictly nearer to a training sentence / to a held-out one (ties in neither). */
  nearerTrain: number;
  nearerHeldOut: number;
}

/** Word edits from `hyp` to its nearest sentence of `pool`, over the hypothesis's length; 1 if none qualifies. */
export function nearestDistance(hyp: readonly string[], pool: readonly (readonly string[])[], maxLenDiff = 3, skip?: string): number {
  const len = Math.max(1, hyp.length);
  let best = Infinity;
  for (const s of pool) {
    if (Math.abs(s.length - hyp.length) > maxLenDiff) continue;
    if (skip !== undefined && s.join(" ") === skip) continue;
    best = Math.min(best, editCounts(s, hyp).errors / len);
  }
  return Number.isFinite(best) ? best : 1;
}

/** `n` distinct items of `xs`, drawn without replacement (partial Fisher-Yates), sorted input first for determinism. */
function sample(xs: readonly string[], n: number, rng: Rng): string[] {
  const a = [...xs].sort();
  for (let i = 0; i < n; i++) {
    const j = rng.int(i, a.length);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

export function recitationProbe(pairs: readonly { ref: string; hyp: string }[], trainSentences: Iterable<string>, heldOutSentences: Iterable<string>, o: RecitationOptions = {}): RecitationResult {
  const train = [...new Set([...trainSentences].map(normalizeText))];
  const held = [...new Set([...heldOutSentences].map(normalizeText))];
  const n = Math.min(train.length, held.length);
  if (n === 0) throw new Error("recitationProbe: a sentence pool is empty");
  const rng = new Rng(o.seed ?? 0);
  const A = sample(train, n, rng).map((s) => s.split(" "));
  const B = sample(held, n, rng).map((s) => s.split(" "));
  const maxLenDiff = o.maxLenDiff ?? 3;
  let sumA = 0;
  let sumB = 0;
  let nearerTrain = 0;
  let nearerHeldOut = 0;
  for (const p of pairs) {
    const h = words(p.hyp);
    const da = nearestDistance(h, A, maxLenDiff);
    const db = nearestDistance(h, B, maxLenDiff, normalizeText(p.ref));
    sumA += da;
    sumB += db;
    if (da < db) nearerTrain++;
    else if (db < da) nearerHeldOut++;
  }
  const u = Math.max(1, pairs.length);
  return { utterances: pairs.length, poolSize: n, meanNearestTrain: sumA / u, meanNearestHeldOut: sumB / u, nearerTrain, nearerHeldOut };
}
