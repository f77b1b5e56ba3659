/**
 * What the encoders see and what they are taught to emit during CTC pretraining.
 *
 * Targets (from the corpus's alignment files, train split only for the inventory):
 * - audio: the espeak phoneme sequence (about 90 symbols over the accents of the voices). Phonemes,
 *   not characters: the synthetic speech is exactly its phoneme string, so a phoneme CTC head makes the
 *   audio features a clean, nearly unambiguous phonetic code. Measured, the frozen tiny LLM does not
 *   learn to spell from that code alone, hence the optional sub-word objective below.
 * - video: the viseme sequence (15 classes, silence dropped, runs of the same viseme merged). A viseme
 *   target teaches the video encoder exactly what lips show and nothing they do not: p/b/m, f/v, t/d/n/l
 *   stay one class each, so its features are informative but homophene-ambiguous, as AV-HuBERT's are
 *   for real lip reading.
 *
 * Inputs:
 * - audio: Whisper-like log-mel [T, 80] at 100 frames/s of the 16 kHz waveform, optionally mixed with
 *   babble (NoiseBank) at an SNR drawn from TRAIN_SNRS per sample (pretraining augmentation; makes the
 *   frozen features degrade gracefully rather than collapse in noise).
 * - video: the rendered mouth clip at `videoSize` (see encoders/config.ts for the choice), normalised with
 *   the paper's (0.421, 0.165); [T, S, S] at 25 fps.
 */
import type { SyntheticCorpus, Utterance } from "../data/index.js";
import { logMel } from "../audio/features.js";
import type { NoiseBank } from "../audio/noise.js";
import { TRAIN_SNRS } from "../audio/noise.js";
import { augmentedLogMel, type AudioAugmentConfig } from "../audio/augment.js";
import { normalizeVideo } from "../video/transforms.js";
import { restyle, type RenderStyle, type VideoAugmentConfig } from "../video/augment.js";
import { VISEMES } from "../video/visemes.js";
import type { Rng } from "../util/rng.js";
import { WORD_START, type BpeTokenizer } from "../text/tokenizer.js";

export type EncoderModality = "audio" | "video";

/** CTC output inventory: class 0 is the blank, unit i is class i + 1. */
export interface UnitInventory {
  kind: "phoneme" | "viseme";
  units: string[];
}

export function visemeInventory(): UnitInventory {
  return { kind: "viseme", units: VISEMES.filter((v) => v !== "sil") };
}

/** Phoneme symbols of the train split's alignments, sorted (code point order) for determinism. */
export function phonemeInventory(ds: SyntheticCorpus, utts: readonly Utterance[] = ds.utterances("train")): UnitInventory {
  const set = new Set<string>();
  for (const u of utts) for (const [p] of ds.alignment(u.id).phonemes) if (p !== "") set.add(p);
  return { kind: "phoneme", units: [...set].sort() };
}

/** The CTC label sequence of an utterance (classes 1..N); unknown units are dropped. */
export function targetsOf(ds: SyntheticCorpus, id: string, inv: UnitInventory): number[] {
  const index = new Map(inv.units.map((u, i) => [u, i + 1] as const));
  const a = ds.alignment(id);
  const out: number[] = [];
  if (inv.kind === "phoneme") {
    for (const [p] of a.phonemes) {
      const c = index.get(p);
      if (c !== undefined) out.push(c);
    }
  } else {
    for (const [v] of a.visemes) {
      const c = index.get(v);
      if (c === undefined) continue; // silence
      if (out.length === 0 || out[out.length - 1] !== c) out.push(c);
    }
  }
  return out;
}

/**
 * Frame-level labels of an utterance for the auxiliary cross-entropy: the class of the unit whose
 * interval holds each output frame's centre ((t + 0.5) / fps seconds), 0 outside any unit (silence).
 * Phoneme intervals for audio; viseme intervals (silence = 0) for video, on the audio clock (the
 * rendered video's ±40 ms AV offset is at most one frame and is ignored).
 */
export function frameTargetsOf(ds: SyntheticCorpus, id: string, inv: UnitInventory, frames: number, fps: number): Int32Array {
  const index = new Map(inv.units.map((u, i) => [u, i + 1] as const));
  const a = ds.alignment(id);
  const spans = inv.kind === "phoneme" ? a.phonemes : a.visemes;
  return labelFrames(spans.map(([u, start, end]) => [index.get(u) ?? 0, start, end]), frames, fps);
}

/** Frame t gets the class of the (sorted, non-overlapping) span holding its centre (t + 0.5) / fps, else 0. */
function labelFrames(spans: ReadonlyArray<readonly [number, number, number]>, frames: number, fps: number): Int32Array {
  const out = new Int32Array(frames);
  let j = 0;
  for (let t = 0; t < frames; t++) {
    const c = (t + 0.5) / fps;
    while (j < spans.length && spans[j]![2] <= c) j++;
    if (j < spans.length && spans[j]![1] <= c) out[t] = spans[j]![0];
  }
  return out;
}

/**
 * Sub-word targets (an optional second objective, `EncoderTrainConfig.subword`): the LM tokeniser's
 * pieces of the transcript, class = token id + 1 (0 is the CTC blank / frame silence).
 *
 * Why: phoneme (or viseme) features leave the frozen LLM to spell words out of ~80 ms phonetic slices
 * through a per-token projector, which a small LM adapted with LoRA does not learn in a few hundred
 * steps (README, Status). Whisper's features, which Llama reads in the paper, were trained to predict
 * text; a sub-word head gives ours the same property at the LM's own granularity.
 */
export function subwordTargetsOf(text: string, tokenizer: BpeTokenizer): number[] {
  return tokenizer.encode(text).map((t) => t + 1);
}

/**
 * Frame-level sub-word labels: each word's interval (from the alignment) is shared among its pieces
 * in proportion to their letters (the word-start marker counts for nothing, each piece for at least
 * one); a frame takes the piece whose share holds its centre, 0 outside words.
 */
export function subwordFrameTargetsOf(ds: SyntheticCorpus, id: string, tokenizer: BpeTokenizer, frames: number, fps: number): Int32Array {
  const spans: Array<[number, number, number]> = [];
  for (const [word, start, end] of ds.alignment(id).words) {
    const ids = tokenizer.encode(word);
    const weights = ids.map((t) => Math.max(1, tokenizer.idToToken(t).replace(WORD_START, "").length));
    const total = weights.reduce((a, b) => a + b, 0);
    let at = start;
    ids.forEach((t, k) => {
      const next = k === ids.length - 1 ? end : at + ((end - start) * weights[k]!) / total;
      spans.push([t + 1, at, next]);
      at = next;
    });
  }
  return labelFrames(spans, frames, fps);
}

/** One encoder input: row-major [frames, width] for audio (width 80), [frames, S·S] for video. */
export interface EncoderInput {
  data: Float32Array;
  frames: number;
}

export function audioInput(ds: SyntheticCorpus, id: string, opts: { noise?: NoiseBank; rng?: Rng; snrDb?: number | null; evalSeed?: number; augment?: AudioAugmentConfig } = {}): EncoderInput {
  let audio = ds.loadAudioSync(id);
  if (opts.noise && opts.snrDb !== undefined && opts.snrDb !== null) {
    audio = opts.noise.mixForEval(audio, id, "babble", opts.snrDb, opts.evalSeed ?? 0);
  } else if (opts.noise && opts.rng) {
    audio = opts.noise.augment(audio, opts.rng, "babble", TRAIN_SNRS).audio;
  }
  const mel = opts.augment && opts.rng ? augmentedLogMel(audio, opts.augment, opts.rng) : logMel(audio);
  return { data: mel.data, frames: mel.frames };
}

/** The normalised mouth clip; with `augment`, rendered in a style drawn from `augment.rng` (video/augment.ts). */
export function videoInput(ds: SyntheticCorpus, id: string, size: number, augment?: { config: VideoAugmentConfig; rng: Rng }): EncoderInput {
  const restyleOf = augment ? (s: RenderStyle) => restyle(s, augment.config, augment.rng) : undefined;
  const c = normalizeVideo(ds.loadVideoSync(id, { size, restyle: restyleOf }));
  return { data: c.data, frames: c.frames };
}

/** Stacks inputs into a zero-padded [B, Tmax, ...inner] buffer. */
export function padBatch(items: readonly EncoderInput[], inner: number): { data: Float32Array; T: number; lengths: number[] } {
  const T = Math.max(...items.map((x) => x.frames));
  const data = new Float32Array(items.length * T * inner);
  items.forEach((x, b) => data.set(x.data.subarray(0, x.frames * inner), b * T * inner));
  return { data, T, lengths: items.map((x) => x.frames) };
}

/** Edit distance between two label sequences (for PER / viseme error rate). */
export function editDistance(a: readonly number[], b: readonly number[]): number {
  const m = b.length;
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= m; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[m]!;
}
