/**
 * Spliced utterances: text injection through real encoder frames (`splice: n`, `npm run train -- ...
 * --splice n`; off in the presets, which follow the paper). A lever on issue 5's gap (README, "Status"):
 * the LLM has to learn which sounds spell which words from the 2,062 distinct training sentences, while
 * the LM text holds ~50,000 word sequences over the same words that were never spoken.
 *
 * A spliced sample is a word sequence of the LM text whose every word was spoken in the training split,
 * with, as its "audio" and "video", the cached frozen-encoder frames of one spoken occurrence of each
 * word (its alignment's word times, cut at the encoder's frame rate), between the leading silence of one
 * training utterance and the trailing silence of another. Audio and video come from the same
 * occurrences, so the sample serves ASR, VSR and AVSR alike. Only training utterances are cut, and
 * sequences equal to a validation or test sentence are left out (the LM text already excludes them as
 * lines). What a splice cannot give: the encoder's context across a word boundary is the source
 * utterance's, not the new neighbour's, and voices change from word to word.
 *
 * Everything here is pure or reads only what it is handed (tested in test/pipeline/splice.test.ts).
 */
import type { Rng } from "../util/rng.js";

/** Frame rates of the cached encoder outputs (audio 50 /s, video 25 /s), defined with the encoders. */
export { ENCODER_FPS } from "../pretrain/encoders/model.js";

/** A time span [t0, t1) of one training utterance, in seconds (t1 = Infinity: to its end). */
export interface Segment {
  id: string;
  t0: number;
  t1: number;
}

/** word -> where it was spoken in the training split (word times of the alignments). */
export type WordBank = Map<string, Segment[]>;

export interface AlignedWords {
  id: string;
  /** [word, start s, end s] in spoken order. */
  words: ReadonlyArray<readonly [string, number, number]>;
}

/** The bank of spoken word occurrences, with each utterance's leading and trailing silence. */
export interface SpliceBank {
  words: WordBank;
  leadIns: Segment[];
  tails: Segment[];
}

export function spliceBankOf(utts: Iterable<AlignedWords>): SpliceBank {
  const words: WordBank = new Map();
  const leadIns: Segment[] = [];
  const tails: Segment[] = [];
  for (const u of utts) {
    if (u.words.length === 0) continue;
    for (const [w, t0, t1] of u.words) {
      if (!(t1 > t0)) throw new Error(`${u.id}: word ${JSON.stringify(w)} has an empty time span [${t0}, ${t1})`);
      const list = words.get(w) ?? [];
      list.push({ id: u.id, t0, t1 });
      words.set(w, list);
    }
    leadIns.push({ id: u.id, t0: 0, t1: u.words[0]![1] });
    tails.push({ id: u.id, t0: u.words[u.words.length - 1]![2], t1: Infinity });
  }
  return { words, leadIns, tails };
}

export interface SplicePoolOptions {
  minWords: number;
  maxWords: number;
  /** Sentences no sample may equal (validation and test transcripts). */
  exclude: ReadonlySet<string>;
}

/**
 * The word sequences to splice: every maximal run of LM-text words that `known` accepts, cut into
 * consecutive pieces of at most `maxWords` words; pieces shorter than `minWords` are dropped, repeats
 * and excluded sentences too. Deterministic, in text order.
 */
export function splicePool(lines: Iterable<readonly string[]>, known: (w: string) => boolean, o: SplicePoolOptions): string[] {
  if (!(o.minWords >= 1 && o.maxWords >= o.minWords)) throw new Error(`splice pool: need 1 ≤ minWords ≤ maxWords, got ${o.minWords}, ${o.maxWords}`);
  const seen = new Set<string>();
  const out: string[] = [];
  const flush = (run: string[]) => {
    for (let k = 0; k < run.length; k += o.maxWords) {
      const piece = run.slice(k, k + o.maxWords);
      if (piece.length < o.minWords) continue;
      const s = piece.join(" ");
      if (seen.has(s) || o.exclude.has(s)) continue;
      seen.add(s);
      out.push(s);
    }
  };
  for (const line of lines) {
    let run: string[] = [];
    for (const w of line) {
      if (known(w)) run.push(w);
      else {
        flush(run);
        run = [];
      }
    }
    flush(run);
  }
  return out;
}

/** One spliced sample: its transcript and the source segments, in order (lead-in, words, tail). */
export interface SplicedUtterance {
  text: string;
  segments: Segment[];
}

/** Draws a word sequence of the pool and one spoken occurrence per word, uniformly. */
export function drawSplice(pool: readonly string[], bank: SpliceBank, rng: Rng): SplicedUtterance {
  if (pool.length === 0) throw new Error("splice: the pool of word sequences is empty");
  const text = pool[rng.int(0, pool.length)]!;
  const segments: Segment[] = [bank.leadIns[rng.int(0, bank.leadIns.length)]!];
  for (const w of text.split(" ")) {
    const occ = bank.words.get(w);
    if (!occ || occ.length === 0) throw new Error(`splice: ${JSON.stringify(w)} was never spoken in the training split`);
    segments.push(occ[rng.int(0, occ.length)]!);
  }
  segments.push(bank.tails[rng.int(0, bank.tails.length)]!);
  return { text, segments };
}

/** What splicing reads: the cached frames of an utterance (features/cache.ts FeatureSet). */
export interface FrameSource {
  readonly dim: number;
  frames(id: string): number;
  /** Rows [start, end) of `id`, row-major [end − start, dim]. */
  rows(id: string, start: number, end: number): Float32Array;
}

/**
 * The frames of `segments` at `fps`, concatenated: segment [t0, t1) is rows [round(t0·fps),
 * round(t1·fps)) of its utterance, clamped to the utterance, and at least one row (a word shorter than
 * half a frame still leaves a trace). Returns [frames, dim] row-major.
 */
export function spliceFrames(segments: readonly Segment[], src: FrameSource, fps: number): { data: Float32Array; frames: number; dim: number } {
  const spans = segments.map((s) => {
    const n = src.frames(s.id);
    let a = Math.min(n - 1, Math.max(0, Math.round(s.t0 * fps)));
    let b = Number.isFinite(s.t1) ? Math.min(n, Math.round(s.t1 * fps)) : n;
    if (b <= a) b = a + 1;
    if (a < 0) a = 0;
    return { id: s.id, a, b };
  });
  const total = spans.reduce((k, s) => k + s.b - s.a, 0);
  const data = new Float32Array(total * src.dim);
  let at = 0;
  for (const s of spans) {
    const r = src.rows(s.id, s.a, s.b);
    data.set(r, at);
    at += r.length;
  }
  return { data, frames: total, dim: src.dim };
}
