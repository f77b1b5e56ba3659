/**
 * Cached features as AVSR samples: the training batch provider (fixed-size batches in a per-epoch
 * shuffled order, babble variant drawn per sample) and the samples of an evaluation split/condition.
 *
 * Determinism: the order of epoch e is a pure function of (seed, e); the noise variant of each sample is
 * drawn from the Trainer's data Rng, whose state is saved in every checkpoint; so a resumed run feeds
 * exactly the batches of the uninterrupted one. Noise draw per sample: clean with probability 1/7, else
 * one of the utterance's cached noisy variants uniformly (each variant has its own SNR level, see
 * features/cache.ts): every level of {-5, 0, 5, 10, 15, 20 dB, clean} has marginal probability 1/7.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCorpus, type Split, type Utterance } from "../data/index.js";
import { FeatureSet, featureDir, restyleVariantCount, trainVariantDirs } from "../features/cache.js";
import { encoderOutDir, type EncoderFileConfig, type EncoderModality } from "../pretrain/encoders/index.js";
import type { AvsrSample } from "../models/avsr.js";
import type { OracleAudio } from "./oracle.js";
import { weightsHash } from "./inputs.js";
import type { BatchProvider } from "../train/trainer.js";
import type { TextEncoder } from "../models/avsr.js";
import { Rng, hashSeed } from "../util/rng.js";
import { maskFrames, masks, timeMaskSpans, type TimeMaskTarget } from "./time-mask.js";
import { ENCODER_FPS, drawSplice, spliceBankOf, spliceFrames, splicePool, type SpliceBank } from "./splice.js";
import { InputError } from "../util/errors.js";

export interface EncoderRef {
  modality: EncoderModality;
  /** Cache key: first 16 hex digits of sha256(encoder.safetensors). */
  hash: string;
  dim: number;
  dir: string;
}

/** The frozen encoder a preset's runs use, without building it. */
export function encoderRef(preset: string, modality: EncoderModality): EncoderRef {
  const dir = encoderOutDir(preset, modality);
  const path = join(dir, "encoder.safetensors");
  if (!existsSync(path)) throw new InputError(`no ${modality} encoder for preset ${preset}: run \`npm run pretrain:encoders -- --preset ${preset}\``);
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as EncoderFileConfig;
  const hash = weightsHash(path);
  return { modality, hash, dim: modality === "audio" ? cfg.spec.audio!.dim : cfg.spec.video!.dim, dir };
}

/** A cached feature set of the preset's frozen encoder, with a clear error when it is not cached. */
export function openSet(preset: string, ref: EncoderRef, split: Split, condition: string): FeatureSet {
  const dir = join(featureDir(preset, ref.modality, ref.hash), split, condition);
  if (!FeatureSet.exists(dir)) throw new InputError(`no cached ${ref.modality} features for ${split}/${condition} in ${dir}: run \`npm run features -- --preset ${preset}\``);
  return FeatureSet.open(dir);
}

/** Feature tensors [T, D] of one utterance. */
function tensorOf(set: FeatureSet, id: string): tf.Tensor2D {
  const f = set.get(id);
  return tf.tensor2d(f.data, [f.frames, f.dim]);
}

/** Utterances of a split with their transcripts, in manifest order (limited to the first `limit` when > 0). */
export async function splitUtterances(preset: string, split: Split, limit = 0): Promise<Utterance[]> {
  const all = (await openCorpus(preset)).utterances(split);
  return limit > 0 ? all.slice(0, limit) : all;
}

// ---- training -----------------------------------------------------------------------------------

export interface TrainDataOptions {
  preset: string;
  seed: number;
  batchSize: number;
  trainLimit: number;
  noiseAug: boolean;
  needAudio: boolean;
  needVideo: boolean;
  /** Audio from the oracle instead of the cached encoder outputs (diagnostic; no noise augmentation). */
  oracle?: OracleAudio;
  /** Applied to every cached audio frame sequence (the run's `audioInput`; BuiltModel.inputs). */
  audioTransform?: FeatureTransform;
  /** Applied to every cached video frame sequence (the run's `videoInput`; BuiltModel.inputs). */
  videoTransform?: FeatureTransform;
  /** Spliced samples (pipeline/splice.ts) added to every batch; 0 or absent: none. */
  splice?: number;
  /** Each sample's video drawn uniformly from the clean cache and its restyled variants (restyle<k>). */
  videoRestyle?: boolean;
  /** With videoRestyle: the first K restyled renders only; absent: every complete one cached. */
  videoRestyleVariants?: number;
  /** Spans of these modalities' frames zeroed in every training sample (pipeline/time-mask.ts); absent: none. */
  timeMask?: TimeMaskTarget;
}

/** A frozen per-utterance transform of cached features ([T, D] -> [T, D']; pipeline/ctc-embed.ts), audio or video. */
export interface FeatureTransform {
  apply(h: tf.Tensor2D): tf.Tensor2D;
}

/** `h` through `transform` when there is one (disposing `h`). */
function transformed(h: tf.Tensor2D, transform?: FeatureTransform): tf.Tensor2D {
  if (!transform) return h;
  const x = transform.apply(h);
  h.dispose();
  return x;
}

/** `x` with time-mask spans drawn from `rng` zeroed when `on` (disposing `x`); `x` itself otherwise. */
function timeMasked(x: tf.Tensor2D, on: boolean, fps: number, rng: Rng): tf.Tensor2D {
  if (!on) return x;
  const y = maskFrames(x, timeMaskSpans(x.shape[0], fps, rng));
  x.dispose();
  return y;
}

export interface TrainData {
  provider: BatchProvider;
  stepsPerEpoch: number;
  utterances: number;
  /** Noisy variants per utterance found in the cache. */
  variants: number;
  /** Restyled video variants per utterance found in the cache (0 without videoRestyle). */
  videoVariants: number;
  /** Word sequences spliced samples are drawn from (0 without splicing). */
  splicePool: number;
  dispose(): void;
}

/** The splice bank of the training utterances and the LM-text word sequences they can spell (also scripts/probe-splice.ts). */
export async function openSplice(preset: string, utts: readonly Utterance[]): Promise<{ pool: string[]; bank: SpliceBank }> {
  const corpus = await openCorpus(preset);
  const bank = spliceBankOf(utts.map((u) => ({ id: u.id, words: corpus.alignment(u.id).words })));
  const held = new Set([...corpus.utterances("val"), ...corpus.utterances("test")].map((u) => u.text));
  const { minWords, maxWords } = corpus.config;
  const pool = splicePool(
    corpus.lmText().map((l) => l.split(" ")),
    (w) => bank.words.has(w),
    { minWords, maxWords, exclude: held },
  );
  if (pool.length === 0) throw new InputError(`splice: no LM-text word sequence of ${preset} is spelt by the ${utts.length} training utterances' words`);
  return { pool, bank };
}

/** A cached training variant must hold every training utterance: a half-built one (an interrupted `npm run features`) is refused. */
function completeVariant(dir: string, utts: readonly Utterance[], preset: string): FeatureSet {
  const set = FeatureSet.open(dir);
  const missing = utts.filter((u) => !set.has(u.id)).length;
  if (missing > 0) throw new InputError(`${dir}: ${missing} of ${utts.length} training utterances are not cached (an unfinished build?): run \`npm run features -- --preset ${preset}\` with the same options to complete it`);
  return set;
}

export async function openTrainData(o: TrainDataOptions, tokenizer: TextEncoder): Promise<TrainData> {
  const utts = await splitUtterances(o.preset, "train", o.trainLimit);
  const audioRef = encoderRef(o.preset, "audio");
  const videoRef = encoderRef(o.preset, "video");
  const clean = o.needAudio && !o.oracle ? openSet(o.preset, audioRef, "train", "clean") : undefined;
  const variants: FeatureSet[] = [];
  if (clean && o.noiseAug) {
    for (const dir of trainVariantDirs(o.preset, "audio", audioRef.hash, "aug")) variants.push(completeVariant(dir, utts, o.preset));
    if (variants.length === 0) throw new InputError(`noise augmentation needs cached train variants (aug0, ...): run \`npm run features -- --preset ${o.preset}\``);
  }
  const video = o.needVideo ? openSet(o.preset, videoRef, "train", "clean") : undefined;
  const videoSets = video ? [video] : [];
  if (video && o.videoRestyle) {
    const dirs = trainVariantDirs(o.preset, "video", videoRef.hash, "restyle");
    const want = restyleVariantCount(o.preset, videoRef.hash, o.videoRestyleVariants, dirs);
    if (dirs.length < want) throw new InputError(`videoRestyle needs ${want} cached restyled render${want === 1 ? "" : "s"} of the training video (restyle0, ...) for the video encoder ${videoRef.hash}, found ${dirs.length}: run \`npm run features -- --preset ${o.preset} --modality video --splits train --video-restyle ${want}\``);
    for (const dir of dirs.slice(0, want)) videoSets.push(completeVariant(dir, utts, o.preset));
  }
  if (o.videoRestyle && !video) throw new InputError("videoRestyle: this run does not use the video");
  const tokens = utts.map((u) => tokenizer.encode(u.text));
  const splice = o.splice ? await openSplice(o.preset, utts) : undefined;
  const stepsPerEpoch = Math.max(1, Math.floor(utts.length / o.batchSize));
  // a sample's babble condition: clean with probability 1/7, else one cached variant uniformly
  const conditionOf = (rng: Rng): FeatureSet => (variants.length > 0 && rng.next() >= 1 / 7 ? variants[rng.int(0, variants.length)]! : clean!);
  // a sample's face: the clean clip or one of its restyled renders, uniformly (no draw without variants)
  const videoOf = (rng: Rng): FeatureSet => (videoSets.length > 1 ? videoSets[rng.int(0, videoSets.length)]! : video!);
  const maskAudio = masks(o.timeMask, "audio");
  const maskVideo = masks(o.timeMask, "video");
  if (o.timeMask && !(maskAudio && clean) && !(maskVideo && video)) throw new InputError(`timeMask ${o.timeMask}: this run reads no ${o.timeMask === "both" ? "cached audio or video" : `cached ${o.timeMask}`} features to mask`);
  const orders = new Map<number, number[]>();
  let live: tf.Tensor[] = [];
  const provider: BatchProvider = (step, rng) => {
    tf.dispose(live);
    live = [];
    const e = Math.floor((step - 1) / stepsPerEpoch);
    const k = (step - 1) % stepsPerEpoch;
    if (!orders.has(e)) {
      orders.clear();
      orders.set(e, new Rng(hashSeed("train-order", o.seed, e)).shuffle([...utts.keys()]));
    }
    const idx = orders.get(e)!.slice(k * o.batchSize, (k + 1) * o.batchSize);
    const batch = idx.map((i) => {
      const id = utts[i]!.id;
      const s: AvsrSample = { transcript: tokens[i]! };
      if (o.oracle && o.needAudio) {
        s.audio = oracleTensor(o.oracle, utts[i]!);
        live.push(s.audio);
      } else if (clean) {
        s.audio = timeMasked(transformed(tensorOf(conditionOf(rng), id), o.audioTransform), maskAudio, ENCODER_FPS.audio, rng);
        live.push(s.audio);
      }
      if (video) {
        s.video = timeMasked(transformed(tensorOf(videoOf(rng), id), o.videoTransform), maskVideo, ENCODER_FPS.video, rng);
        live.push(s.video);
      }
      return s;
    });
    if (splice) {
      // a pure function of (seed, step), so a resumed run draws the same spliced samples
      const srng = new Rng(hashSeed("splice", o.seed, step));
      for (let j = 0; j < o.splice!; j++) {
        const sp = drawSplice(splice.pool, splice.bank, srng);
        const s: AvsrSample = { transcript: tokenizer.encode(sp.text) };
        if (clean) {
          const f = spliceFrames(sp.segments, conditionOf(srng), ENCODER_FPS.audio);
          s.audio = timeMasked(transformed(tf.tensor2d(f.data, [f.frames, f.dim]), o.audioTransform), maskAudio, ENCODER_FPS.audio, srng);
          live.push(s.audio);
        }
        if (video) {
          const f = spliceFrames(sp.segments, videoOf(srng), ENCODER_FPS.video);
          s.video = timeMasked(transformed(tf.tensor2d(f.data, [f.frames, f.dim]), o.videoTransform), maskVideo, ENCODER_FPS.video, srng);
          live.push(s.video);
        }
        batch.push(s);
      }
    }
    return batch;
  };
  return {
    provider,
    stepsPerEpoch,
    utterances: utts.length,
    variants: variants.length,
    videoVariants: videoSets.length - 1,
    splicePool: splice?.pool.length ?? 0,
    dispose: () => {
      tf.dispose(live);
      live = [];
    },
  };
}

// ---- evaluation ---------------------------------------------------------------------------------

export interface EvalSet {
  utterances: Utterance[];
  audio?: FeatureSet;
  video?: FeatureSet;
  /** Audio from the oracle (diagnostic runs) instead of `audio`. */
  oracle?: OracleAudio;
  /** Applied to the cached audio features (the run's `audioInput`). */
  audioTransform?: FeatureTransform;
  /** Applied to the cached video features (the run's `videoInput`); `video` itself stays the raw cache (lexicon scoring reads it). */
  videoTransform?: FeatureTransform;
}

/** Features of a split for evaluation: audio at `audioCondition` (clean / babble<snr>), video clean. */
export async function openEvalSet(
  preset: string,
  split: Split,
  o: { audioCondition?: string; needAudio: boolean; needVideo: boolean; limit?: number; oracle?: OracleAudio; audioTransform?: FeatureTransform; videoTransform?: FeatureTransform },
): Promise<EvalSet> {
  const utterances = await splitUtterances(preset, split, o.limit ?? 0);
  if (o.oracle && o.audioCondition && o.audioCondition !== "clean") throw new InputError(`oracle audio has no noisy condition (asked for ${o.audioCondition})`);
  return {
    utterances,
    audio: o.needAudio && !o.oracle ? openSet(preset, encoderRef(preset, "audio"), split, o.audioCondition ?? "clean") : undefined,
    video: o.needVideo ? openSet(preset, encoderRef(preset, "video"), split, "clean") : undefined,
    oracle: o.needAudio ? o.oracle : undefined,
    audioTransform: o.needAudio ? o.audioTransform : undefined,
    videoTransform: o.needVideo ? o.videoTransform : undefined,
  };
}

function oracleTensor(oracle: OracleAudio, u: Utterance): tf.Tensor2D {
  const f = oracle.features(u.text, u.id);
  return tf.tensor2d(f.data, [f.frames, f.dim]);
}

/** Samples (no transcript) of the given utterances; the caller disposes them with `disposeSamples`. */
export function evalSamples(set: EvalSet, utts: readonly Utterance[]): AvsrSample[] {
  return utts.map((u) => ({
    audio: set.oracle ? oracleTensor(set.oracle, u) : set.audio ? transformed(tensorOf(set.audio, u.id), set.audioTransform) : undefined,
    video: set.video ? transformed(tensorOf(set.video, u.id), set.videoTransform) : undefined,
  }));
}

export { disposeSamples } from "../train/synthetic.js";

/** Frames of an utterance's features (for length-sorted batching). */
export function evalLength(set: EvalSet, u: Utterance): number {
  if (set.oracle) return set.oracle.frames(u.text);
  return set.audio ? set.audio.frames(u.id) : set.video ? set.video.frames(u.id) * 2 : 0;
}
