/**
 * Encoder pretraining: the project's stand-ins for Whisper (audio) and AV-HuBERT (video) are trained
 * from scratch with a CTC head on the corpus's train split, then frozen, shipped under
 * `checkpoints/encoders/<preset>/<modality>/` and used only through the feature cache (src/features).
 *
 *   pretrainEncoder({ preset, modality, ... }) -> EncoderPretrainResult   (resumable; progress lines)
 *   loadEncoder(preset, modality)             -> LoadedEncoder           ({ encoder, config, hash })
 *   encodeInputs(loaded, inputs)              -> Float32Array[] features, [T', dim] row-major each
 *   evaluateCtc(...)                          -> greedy CTC error rate (PER / viseme error rate)
 *
 * Design choices (reported with the checkpoints' metrics.json):
 * - Targets: phonemes for audio, visemes for video (see encoder-data.ts for why), plus, in the default
 *   preset, the LM tokeniser's sub-words (`EncoderTrainConfig.subword`). Metrics: greedy CTC phoneme
 *   error rate (audio, clean val and val with babble at 0 dB), viseme error rate (video), and the
 *   sub-word head's greedy-CTC WER (the encoder alone as a recogniser).
 * - Size: audio = conv stem (stride 2, 50 frames/s) + 4 transformer blocks of width 128; video =
 *   3D-conv front-end (5 frames) + a 3-stage 2D residual trunk (16/32/64 channels) + 4 transformer blocks
 *   of width 128, on 32×32 mouth renders. Why 32×32 rather than the paper's 88×88: a training step of the
 *   video encoder at 44×44 cost 1.6× that at 32×32 and 88×88 would cost ~7× (the front-end and trunk
 *   scale with pixels), and rendering an utterance at 88×88 takes ~45 ms against ~6 ms at 32×32; the
 *   synthetic mouth's articulatory cues (opening, width, rounding, teeth, tongue, lip tuck) are shapes
 *   of several pixels at 32×32, so the lips stay readable. The corpus renders any size, so this is one
 *   config field (`videoSize`).
 * - Four transformer blocks (two before the sub-word objective): with two, the sub-word head was at 80 %
 *   greedy-CTC WER on val after 900 steps (still falling slowly); two more blocks and 1,500 more steps
 *   brought it to 57 %, and 2,000 more to 41.6 % (provenance.json of the shipped encoders, trained in
 *   warm-started stages: 7,400 audio and 3,700 video steps in all, the presets' step counts).
 * - Audio pretraining mixes babble at an SNR from {-5, 0, 5, 10, 15, 20 dB, clean} per sample (noise
 *   sources: training utterances only), so frozen features degrade gracefully in noise as Whisper's do.
 * - Optimiser: AdamW (wd 0.01), warmup + cosine, clipping at 5; batches by a frame budget (similar
 *   lengths together).
 * - Resume: a checkpoint (weights, AdamW state, step) every `checkpointEvery` steps under
 *   `data/<preset>/encoder-runs/<modality>/` (git-ignored); batch order and augmentation are pure
 *   functions of (seed, step), so a resumed run continues the same sequence.
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { openCorpus, createNoiseBank, frameBudgetBatches, type SyntheticCorpus, type Utterance } from "../data/index.js";
import type { NoiseBank } from "../audio/noise.js";
import { AudioEncoder, CtcHead, VideoEncoder, type AudioEncoderConfig, type VideoEncoderConfig } from "../models/encoders.js";
import { ctcGreedyDecode } from "../models/ctc.js";
import { Module } from "../models/nn.js";
import { AdamW, clipByGlobalNorm, cosineLr } from "../train/optim.js";
import { assignParams, latestCheckpoint, loadCheckpoint, momentsOf, loadSafetensorsFile, saveCheckpoint, saveSafetensorsFile } from "../train/checkpoint.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { dataDir, repoRoot } from "../util/paths.js";
import { Progress } from "../util/progress.js";
import { Rng, hashSeed } from "../util/rng.js";
import { ctcLossFast, ctcFastStats } from "../models/ctc-fast.js";
import { BpeTokenizer } from "../text/tokenizer.js";
import { corpusWer, type ErrorRate } from "../eval/wer.js";
import { installFastMaxPoolGrad } from "./encoder-kernels.js";
import {
  audioInput,
  editDistance,
  frameTargetsOf,
  padBatch,
  phonemeInventory,
  subwordFrameTargetsOf,
  subwordTargetsOf,
  targetsOf,
  videoInput,
  visemeInventory,
  type EncoderInput,
  type EncoderModality,
  type UnitInventory,
} from "./encoder-data.js";

export * from "./encoder-data.js";
export { ctcLossFast } from "../models/ctc-fast.js";

// ---- configs ------------------------------------------------------------------------------------

export interface EncoderTrainConfig {
  steps: number;
  /** Input frames per batch (mel frames for audio, video frames for video), padded size. */
  frameBudget: number;
  maxBatch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  checkpointEvery: number;
  /** Train utterances used (0 = all). */
  trainLimit: number;
  /** Val utterances scored at the end (0 = all). */
  valLimit: number;
  /** Babble augmentation of the audio input during pretraining. */
  noiseAug: boolean;
  /**
   * Weight of an auxiliary frame-level cross-entropy on the alignment's unit labels (a second linear
   * head, `frame_head`); 0 = CTC only. Why: CTC alone sat on its "blanks + unigram" plateau for ~350 of
   * 700 steps on the default corpus (loss 3.8 -> 2.8 at the end); framewise targets from the known
   * timings give the encoder a dense signal from the first step, and the CTC head then aligns at once.
   */
  frameCeWeight?: number;
  /**
   * A second objective over the LM tokeniser's sub-words (`checkpoints/lm/<preset>/tokenizer.json`):
   * CTC on a `subword_head` with weight `ctcWeight`, plus a frame-level cross-entropy on a
   * `subword_frame_head` (word timings shared among pieces by letters) with weight `frameCeWeight`.
   * Absent = the unit objective only. See encoder-data.ts `subwordTargetsOf` for why.
   */
  subword?: { ctcWeight: number; frameCeWeight: number };
  /**
   * Warm start: an exported encoder folder (relative to the repository) whose matching parameters
   * initialise a fresh run (heads it lacks keep their random init). Used to add the sub-word objective
   * to a trained phoneme / viseme encoder without training it again from scratch.
   */
  initFrom?: string;
}

export interface EncoderSpec {
  modality: EncoderModality;
  audio?: AudioEncoderConfig;
  video?: VideoEncoderConfig;
  /** Render size of the mouth clips (video only). */
  videoSize: number;
  train: EncoderTrainConfig;
}

const AUDIO_DEFAULT: AudioEncoderConfig = { nMels: 80, dim: 128, nLayers: 4, nHeads: 4, ffnDim: 512 };
const VIDEO_DEFAULT: VideoEncoderConfig = { temporalKernel: 5, channels: [16, 32, 64], blocksPerStage: 1, dim: 128, nLayers: 4, nHeads: 4, ffnDim: 512 };

export const ENCODER_PRESETS: Record<string, Record<EncoderModality, EncoderSpec>> = {
  smoke: {
    audio: {
      modality: "audio",
      audio: { nMels: 80, dim: 32, nLayers: 1, nHeads: 2, ffnDim: 64 },
      videoSize: 24,
      train: { steps: 24, frameBudget: 2400, maxBatch: 8, lr: 3e-3, warmup: 4, weightDecay: 0.01, clip: 5, checkpointEvery: 8, trainLimit: 0, valLimit: 0, noiseAug: true, frameCeWeight: 1, subword: { ctcWeight: 1, frameCeWeight: 1 } },
    },
    video: {
      modality: "video",
      video: { temporalKernel: 3, channels: [4, 8, 8], blocksPerStage: 1, dim: 32, nLayers: 1, nHeads: 2, ffnDim: 64 },
      videoSize: 24,
      train: { steps: 16, frameBudget: 400, maxBatch: 8, lr: 3e-3, warmup: 4, weightDecay: 0.01, clip: 5, checkpointEvery: 8, trainLimit: 0, valLimit: 0, noiseAug: false, frameCeWeight: 1 },
    },
  },
  default: {
    audio: {
      modality: "audio",
      audio: AUDIO_DEFAULT,
      videoSize: 32,
      train: { steps: 7400, frameBudget: 5000, maxBatch: 32, lr: 2e-3, warmup: 40, weightDecay: 0.01, clip: 5, checkpointEvery: 50, trainLimit: 0, valLimit: 300, noiseAug: true, frameCeWeight: 1, subword: { ctcWeight: 1, frameCeWeight: 1 } },
    },
    video: {
      modality: "video",
      video: VIDEO_DEFAULT,
      videoSize: 32,
      train: { steps: 3700, frameBudget: 900, maxBatch: 24, lr: 2e-3, warmup: 30, weightDecay: 0.01, clip: 5, checkpointEvery: 25, trainLimit: 0, valLimit: 300, noiseAug: false, frameCeWeight: 1, subword: { ctcWeight: 1, frameCeWeight: 1 } },
    },
  },
};

export function encoderSpec(preset: string, modality: EncoderModality, overrides: Partial<EncoderTrainConfig> = {}): EncoderSpec {
  const p = ENCODER_PRESETS[preset];
  if (!p) throw new Error(`unknown encoder preset ${preset} (known: ${Object.keys(ENCODER_PRESETS).join(", ")})`);
  const s = p[modality];
  return { ...s, train: { ...s.train, ...overrides } };
}

// ---- model with head ----------------------------------------------------------------------------

export type AnyEncoder = AudioEncoder | VideoEncoder;

/** The encoder plus its CTC head, named `encoder.*` and `ctc_head.*` in checkpoints. */
export class CtcEncoder extends Module {
  readonly encoder: AnyEncoder;
  readonly head: CtcHead;
  constructor(readonly spec: EncoderSpec, readonly inventory: UnitInventory, rng: Rng, readonly subwordVocab = 0) {
    super();
    this.encoder = this.addModule(
      "encoder",
      spec.modality === "audio" ? new AudioEncoder(spec.audio!, rng.fork("audio")) : new VideoEncoder(spec.video!, rng.fork("video")),
    );
    const dim = spec.modality === "audio" ? spec.audio!.dim : spec.video!.dim;
    this.head = this.addModule("ctc_head", new CtcHead(dim, inventory.units.length + 1, rng.fork("head")));
    if ((spec.train.frameCeWeight ?? 0) > 0) this.frameHead = this.addModule("frame_head", new CtcHead(dim, inventory.units.length + 1, rng.fork("frame-head")));
    if (subwordVocab > 0) {
      this.subwordHead = this.addModule("subword_head", new CtcHead(dim, subwordVocab + 1, rng.fork("subword-head")));
      if ((spec.train.subword?.frameCeWeight ?? 0) > 0) this.subwordFrameHead = this.addModule("subword_frame_head", new CtcHead(dim, subwordVocab + 1, rng.fork("subword-frame-head")));
    }
  }
  readonly frameHead?: CtcHead;
  readonly subwordHead?: CtcHead;
  readonly subwordFrameHead?: CtcHead;
}

/** Input width per frame (80 mel bins, or S·S pixels). */
export function inputWidth(spec: EncoderSpec): number {
  return spec.modality === "audio" ? spec.audio!.nMels : spec.videoSize * spec.videoSize;
}

/** Runs the encoder on a padded batch. Call inside tf.tidy. */
export function encoderForward(enc: AnyEncoder, spec: EncoderSpec, items: readonly EncoderInput[]): { features: tf.Tensor3D; lengths: number[] } {
  const { data, T, lengths } = padBatch(items, inputWidth(spec));
  if (enc instanceof AudioEncoder) return enc.apply(tf.tensor3d(data, [items.length, T, spec.audio!.nMels]), lengths);
  const S = spec.videoSize;
  return enc.apply(tf.tensor4d(data, [items.length, T, S, S]), lengths);
}

/** Output frames per input frames (audio: stride 2; video: 1). */
export function outputFrames(spec: EncoderSpec, inputFrames: number): number {
  return spec.modality === "audio" ? AudioEncoder.outputLength(inputFrames) : inputFrames;
}

/** Features of each input as its own row-major [T', dim] array (padding removed). */
export function encodeInputs(enc: AnyEncoder, spec: EncoderSpec, items: readonly EncoderInput[]): Float32Array[] {
  const out = tf.tidy(() => encoderForward(enc, spec, items).features);
  const [, T, D] = out.shape;
  const all = out.dataSync() as Float32Array;
  out.dispose();
  return items.map((x, b) => all.slice(b * T * D, (b * T + outputFrames(spec, x.frames)) * D));
}

// ---- data ---------------------------------------------------------------------------------------

export interface PretrainData {
  ds: SyntheticCorpus;
  inventory: UnitInventory;
  noise?: NoiseBank;
  /** The LM tokeniser, when the spec has a sub-word objective. */
  tokenizer?: BpeTokenizer;
  tokenizerPath?: string;
}

function loadInput(d: PretrainData, spec: EncoderSpec, id: string, rng?: Rng, snrDb?: number | null): EncoderInput {
  if (spec.modality === "video") return videoInput(d.ds, id, spec.videoSize);
  return audioInput(d.ds, id, { noise: rng || snrDb !== undefined ? d.noise : undefined, rng, snrDb });
}

/** Input frames of an utterance without loading it (mel: 4 per video frame). */
function inputFramesOf(spec: EncoderSpec, u: Utterance): number {
  return spec.modality === "audio" ? Math.floor(u.numSamples / 160) : u.videoFrames;
}

/** Batches (lists of utterance indices) of epoch `e`: frame-budget buckets, shuffled from (seed, e). */
function epochBatches(spec: EncoderSpec, utts: readonly Utterance[], seed: number, e: number): number[][] {
  return frameBudgetBatches(
    utts.map((u) => inputFramesOf(spec, u)),
    { frameBudget: spec.train.frameBudget, maxBatchSize: spec.train.maxBatch, shuffle: true, seed: hashSeed("encoder-epoch", seed, e) },
  ).batches;
}

// ---- evaluation ---------------------------------------------------------------------------------

export interface CtcScore {
  /** Σ edit distance / Σ reference units (greedy CTC decoding). */
  errorRate: number;
  utterances: number;
  refUnits: number;
}

/** Greedy-CTC unit error rate on `utts` (audio optionally with deterministic babble at `snrDb`). */
export function evaluateCtc(model: CtcEncoder, d: PretrainData, utts: readonly Utterance[], opts: { snrDb?: number; batchFrames?: number } = {}): CtcScore {
  let errs = 0;
  let refs = 0;
  greedyCtc(model, model.head, d, utts, opts).forEach((hyp, i) => {
    const ref = targetsOf(d.ds, utts[i]!.id, d.inventory);
    errs += editDistance(ref, hyp);
    refs += ref.length;
  });
  return { errorRate: refs > 0 ? errs / refs : 0, utterances: utts.length, refUnits: refs };
}

/** Greedy-CTC word error rate of the sub-word head (the encoder alone as a CTC recogniser). */
export function evaluateSubwordCtc(model: CtcEncoder, d: PretrainData, utts: readonly Utterance[], opts: { snrDb?: number; batchFrames?: number } = {}): ErrorRate {
  if (!model.subwordHead || !d.tokenizer) throw new Error("evaluateSubwordCtc: the encoder has no sub-word head");
  const hyps = greedyCtc(model, model.subwordHead, d, utts, opts);
  return corpusWer(hyps.map((h, i) => ({ ref: utts[i]!.text, hyp: d.tokenizer!.decode(h.map((c) => c - 1)) })));
}

/** Greedy-CTC label sequences of `head` for each of `utts` (in order), batched by frame budget. */
function greedyCtc(model: CtcEncoder, head: CtcHead, d: PretrainData, utts: readonly Utterance[], opts: { snrDb?: number; batchFrames?: number }): number[][] {
  const spec = model.spec;
  const batches = frameBudgetBatches(
    utts.map((u) => inputFramesOf(spec, u)),
    { frameBudget: opts.batchFrames ?? spec.train.frameBudget * 2, maxBatchSize: 64 },
  ).batches;
  const out: number[][] = new Array(utts.length);
  for (const b of batches) {
    const items = b.map((i) => loadInput(d, spec, utts[i]!.id, undefined, opts.snrDb));
    const logits = tf.tidy(() => {
      const f = encoderForward(model.encoder, spec, items);
      return { l: head.apply(f.features), lengths: f.lengths };
    });
    const hyp = ctcGreedyDecode(logits.l, logits.lengths);
    logits.l.dispose();
    b.forEach((i, k) => (out[i] = hyp[k]!));
  }
  return out;
}

/** Mean frame cross-entropy of `head` against labels (padding masked). Call inside tf.tidy / variableGrads. */
function frameCe(head: CtcHead, features: tf.Tensor3D, lengths: readonly number[], labelsOf: (b: number, frames: number) => Int32Array): tf.Scalar {
  const [B, T] = features.shape;
  const y = new Int32Array(B * T);
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) {
    y.set(labelsOf(b, lengths[b]!), b * T);
    mask.fill(1, b * T, b * T + lengths[b]!);
  }
  const logp = tf.logSoftmax(head.apply(features));
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor2d(y, [B, T], "int32"), logp.shape[2])), 2);
  return tf.neg(tf.div(tf.sum(tf.mul(picked, tf.tensor2d(mask, [B, T]))), Math.max(1, mask.reduce((a, b) => a + b, 0)))) as tf.Scalar;
}

// ---- pretraining --------------------------------------------------------------------------------

export interface PretrainOptions {
  preset: string;
  modality: EncoderModality;
  seed?: number;
  /** Overrides of the preset's training config (tests: fewer steps). */
  train?: Partial<EncoderTrainConfig>;
  /** Working folder (checkpoints, log); default data/<preset>/encoder-runs/<modality>. */
  workDir?: string;
  /** Where the frozen encoder is exported; default checkpoints/encoders/<preset>/<modality>. */
  outDir?: string;
  /** Re-export even if the output exists. */
  force?: boolean;
  /** The command line, for provenance.json. */
  command?: string;
  log?: (line: string) => void;
  corpusDir?: string;
  /** Stop (after checkpointing) once this step is done, without exporting: simulates an interrupted run (tests). */
  stopAfter?: number;
}

export interface EncoderMetrics {
  modality: EncoderModality;
  unit: "phoneme" | "viseme";
  steps: number;
  trainSeconds: number;
  finalTrainLoss: number;
  /** Greedy CTC error rate on val (PER for audio, viseme error rate for video). */
  valErrorRate: number;
  /** Audio only: PER on val with babble at 0 dB. */
  valErrorRateBabble0dB?: number;
  /** With the sub-word objective: greedy-CTC WER of the sub-word head on val (clean). */
  valSubwordWer?: number;
  /** Audio with the sub-word objective: the same with babble at 0 dB. */
  valSubwordWerBabble0dB?: number;
  valUtterances: number;
  params: number;
}

export interface EncoderPretrainResult {
  outDir: string;
  metrics: EncoderMetrics;
  skipped: boolean;
}

export function encoderOutDir(preset: string, modality: EncoderModality): string {
  return join(repoRoot(), "checkpoints", "encoders", preset, modality);
}

/** sha256 of the corpus's manifest and config: the data a checkpoint was trained on. */
export function corpusHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of ["manifest.csv", "config.json"]) h.update(readFileSync(join(dir, f)));
  return h.digest("hex");
}

function gitCommit(): string {
  try {
    return execSync("git rev-parse HEAD", { cwd: repoRoot(), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}

export async function openPretrainData(preset: string, modality: EncoderModality, spec: EncoderSpec, corpusDir?: string): Promise<PretrainData> {
  const ds = await openCorpus(preset, { dir: corpusDir, videoSize: spec.videoSize });
  const inventory = modality === "audio" ? phonemeInventory(ds) : visemeInventory();
  const noise = modality === "audio" ? await createNoiseBank(ds, { seed: 0 }) : undefined;
  if (!spec.train.subword) return { ds, inventory, noise };
  const tokenizerPath = join(repoRoot(), "checkpoints", "lm", preset, "tokenizer.json");
  if (!existsSync(tokenizerPath)) throw new Error(`${modality} encoder: the sub-word objective needs the LM tokeniser ${tokenizerPath}: run \`npm run pretrain:lm -- --preset ${preset}\` first`);
  return { ds, inventory, noise, tokenizer: BpeTokenizer.fromJSON(readFileSync(tokenizerPath, "utf8")), tokenizerPath };
}

/**
 * Pretrains one encoder with CTC, resuming from its newest checkpoint, evaluates it on val and
 * exports the frozen weights. Returns early (skipped) when the export exists and `force` is not set.
 */
export async function pretrainEncoder(o: PretrainOptions): Promise<EncoderPretrainResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const seed = o.seed ?? 0;
  const spec = encoderSpec(o.preset, o.modality, o.train);
  const outDir = o.outDir ?? encoderOutDir(o.preset, o.modality);
  if (!o.force && existsSync(join(outDir, "metrics.json"))) {
    log(`[pretrain ${o.modality}] ${outDir} exists (use --force to retrain)`);
    return { outDir, metrics: JSON.parse(readFileSync(join(outDir, "metrics.json"), "utf8")) as EncoderMetrics, skipped: true };
  }
  installFastMaxPoolGrad();
  const workDir = o.workDir ?? dataDir(o.preset, "encoder-runs", o.modality);
  const ckDir = join(workDir, "checkpoints");
  const d = await openPretrainData(o.preset, o.modality, spec, o.corpusDir);
  let train = d.ds.utterances("train");
  if (spec.train.trainLimit > 0) train = train.slice(0, spec.train.trainLimit);
  let val = d.ds.utterances("val");
  if (spec.train.valLimit > 0) val = val.slice(0, spec.train.valLimit);
  // utterances whose targets cannot fit their output frames are left out of training
  const fits = (u: Utterance) =>
    targetsOf(d.ds, u.id, d.inventory).length <= outputFrames(spec, inputFramesOf(spec, u)) &&
    (!d.tokenizer || subwordTargetsOf(u.text, d.tokenizer).length <= outputFrames(spec, inputFramesOf(spec, u)));
  train = train.filter(fits);

  const model = new CtcEncoder(spec, d.inventory, new Rng(seed).fork(`encoder-${o.modality}`), d.tokenizer?.vocab.length ?? 0);
  const params = model.namedParameters();
  const opt = new AdamW({ beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: spec.train.weightDecay });
  let step = 0;
  let elapsedBefore = 0;
  let ck = latestCheckpoint(ckDir);
  if (ck) {
    // a checkpoint of the same recipe resumes, also when only `steps` changed (extending a run: the
    // cosine schedule is then recomputed for the new total); any other difference starts afresh
    const saved = JSON.parse(readFileSync(join(ck, "config.json"), "utf8")) as { spec?: EncoderSpec; seed?: number };
    const recipe = (x: EncoderSpec | undefined) => JSON.stringify(x ? { ...x, train: { ...x.train, steps: 0 } } : null);
    if (recipe(saved.spec) !== recipe(spec) || saved.seed !== seed) {
      log(`[pretrain ${o.modality}] checkpoints in ${ckDir} are from another config or seed: starting afresh`);
      rmSync(ckDir, { recursive: true, force: true });
      ck = undefined;
    }
  }
  if (ck) {
    const c = loadCheckpoint(ck);
    assignParams(model, c.params, ck);
    const { m, v } = momentsOf(c);
    opt.setState(c.state.optimizer.t, m, v);
    step = c.state.step;
    elapsedBefore = Number(c.state.extra?.elapsedS ?? 0);
    log(`[pretrain ${o.modality}] resumed at step ${step} from ${ck}`);
  } else if (spec.train.initFrom) {
    const from = join(isAbsolute(spec.train.initFrom) ? spec.train.initFrom : join(repoRoot(), spec.train.initFrom), "encoder.safetensors");
    if (!existsSync(from)) throw new Error(`${o.modality} encoder: initFrom ${from} does not exist`);
    assignParams(model, loadSafetensorsFile(from).tensors, from);
    log(`[pretrain ${o.modality}] initialised from ${from}`);
  }

  // the step -> batch map: epochs of frame-budget batches, concatenated
  const epochs: number[][][] = [];
  const batchOf = (s: number): number[] => {
    let k = s - 1;
    for (let e = 0; ; e++) {
      epochs[e] ??= epochBatches(spec, train, seed, e);
      if (k < epochs[e]!.length) return epochs[e]![k]!;
      k -= epochs[e]!.length;
    }
  };
  const total = spec.train.steps;
  const progress = new Progress(total, { label: `pretrain ${o.modality}`, startAt: step, elapsedBefore, write: log, intervalMs: 5000 });
  const schedule = { baseLr: spec.train.lr, warmupSteps: spec.train.warmup, totalSteps: total };
  const t0 = Date.now();
  let lastLoss = NaN;
  let smooth = NaN;
  let uttDone = 0;
  const save = () =>
    saveCheckpoint(
      ckDir,
      {
        params,
        optimizer: { m: opt.m, v: opt.v },
        state: { step, rng: {}, optimizer: { t: opt.t, config: opt.cfg }, extra: { elapsedS: elapsedBefore + (Date.now() - t0) / 1000 } },
        config: { spec, inventory: d.inventory, seed },
      },
      2,
    );
  while (step < total) {
    const next = step + 1;
    const idx = batchOf(next);
    const items = idx.map((i, k) => loadInput(d, spec, train[i]!.id, spec.train.noiseAug ? new Rng(hashSeed("encoder-aug", seed, next, k)) : undefined));
    const labels = idx.map((i) => targetsOf(d.ds, train[i]!.id, d.inventory));
    const ceW = spec.train.frameCeWeight ?? 0;
    const sw = d.tokenizer ? spec.train.subword : undefined;
    const swLabels = sw ? idx.map((i) => subwordTargetsOf(train[i]!.text, d.tokenizer!)) : [];
    const fps = o.modality === "audio" ? 50 : 25;
    const trainable = params.map(([, v]) => v);
    // each objective's value, for the progress line (read inside the graph: the native/cpu backends are synchronous)
    const parts: Record<string, number> = {};
    const part = (name: string, x: tf.Scalar): tf.Scalar => {
      parts[name] = x.dataSync()[0]!;
      return x;
    };
    const { value, grads } = tf.variableGrads(() => {
      const f = encoderForward(model.encoder, spec, items);
      let loss: tf.Scalar = part("ctc", ctcLossFast(model.head.apply(f.features), labels, f.lengths));
      if (ceW > 0 && model.frameHead) {
        const ce = part("ce", frameCe(model.frameHead, f.features, f.lengths, (b, n) => frameTargetsOf(d.ds, train[idx[b]!]!.id, d.inventory, n, fps)));
        loss = tf.add(loss, tf.mul(ce, ceW));
      }
      if (sw && model.subwordHead) {
        loss = tf.add(loss, tf.mul(part("sw_ctc", ctcLossFast(model.subwordHead.apply(f.features), swLabels, f.lengths)), sw.ctcWeight));
        if (sw.frameCeWeight > 0 && model.subwordFrameHead) {
          const ce = part("sw_ce", frameCe(model.subwordFrameHead, f.features, f.lengths, (b, n) => subwordFrameTargetsOf(d.ds, train[idx[b]!]!.id, d.tokenizer!, n, fps)));
          loss = tf.add(loss, tf.mul(ce, sw.frameCeWeight));
        }
      }
      return loss;
    }, trainable);
    const byName = new Map<string, tf.Tensor | null>(params.map(([n, v]) => [n, grads[v.name] ?? null]));
    const clipped = clipByGlobalNorm(byName, spec.train.clip);
    const lr = cosineLr(next, schedule);
    opt.step(params, clipped.grads, lr);
    tf.dispose([...clipped.grads.values()].filter((g): g is tf.Tensor => !!g));
    tf.dispose(Object.values(grads));
    lastLoss = value.dataSync()[0]!;
    value.dispose();
    smooth = Number.isNaN(smooth) ? lastLoss : 0.95 * smooth + 0.05 * lastLoss;
    step = next;
    uttDone += idx.length;
    const el = (Date.now() - t0) / 1000;
    progress.update(step, { loss: lastLoss, avg: smooth, ...parts }, `${(uttDone / el).toFixed(1)} utt/s | batch ${idx.length}${ctcFastStats.skipped ? ` | ${ctcFastStats.skipped} unalignable` : ""} | lr ${lr.toExponential(2)}`);
    if (step % spec.train.checkpointEvery === 0 || step === total || step === o.stopAfter) save();
    if (step === o.stopAfter && step < total) {
      model.dispose();
      opt.dispose();
      throw new Error(`stopped after step ${step} (stopAfter)`);
    }
  }
  const trainSeconds = elapsedBefore + (Date.now() - t0) / 1000;

  log(`[pretrain ${o.modality}] scoring ${val.length} val utterances`);
  const clean = evaluateCtc(model, d, val);
  const metrics: EncoderMetrics = {
    modality: o.modality,
    unit: d.inventory.kind,
    steps: total,
    trainSeconds: Math.round(trainSeconds),
    finalTrainLoss: Number.isNaN(smooth) ? lastLoss : smooth,
    valErrorRate: clean.errorRate,
    valUtterances: val.length,
    params: model.encoder.numParams(),
  };
  if (o.modality === "audio") metrics.valErrorRateBabble0dB = evaluateCtc(model, d, val, { snrDb: 0 }).errorRate;
  log(`[pretrain ${o.modality}] val ${d.inventory.kind} error rate ${(100 * clean.errorRate).toFixed(2)}%` + (metrics.valErrorRateBabble0dB !== undefined ? `, babble 0 dB ${(100 * metrics.valErrorRateBabble0dB).toFixed(2)}%` : ""));
  if (model.subwordHead) {
    metrics.valSubwordWer = evaluateSubwordCtc(model, d, val).rate;
    if (o.modality === "audio") metrics.valSubwordWerBabble0dB = evaluateSubwordCtc(model, d, val, { snrDb: 0 }).rate;
    log(`[pretrain ${o.modality}] val sub-word CTC WER ${(100 * metrics.valSubwordWer).toFixed(2)}%` + (metrics.valSubwordWerBabble0dB !== undefined ? `, babble 0 dB ${(100 * metrics.valSubwordWerBabble0dB).toFixed(2)}%` : ""));
  }

  exportEncoder(outDir, model, {
    metrics,
    provenance: {
      command: o.command ?? `npm run pretrain:encoders -- --preset ${o.preset} --modality ${o.modality}`,
      gitCommit: gitCommit(),
      seed,
      corpus: d.ds.dir,
      dataHash: corpusHash(d.ds.dir),
      ...(d.tokenizerPath ? { tokenizerSha256: createHash("sha256").update(readFileSync(d.tokenizerPath)).digest("hex") } : {}),
      backend: tf.getBackend(),
      node: process.version,
      date: new Date().toISOString(),
    },
  });
  model.dispose();
  opt.dispose();
  return { outDir, metrics, skipped: false };
}

export interface EncoderFileConfig {
  format: "omni-avsr-lab/encoder";
  version: 1;
  preset?: string;
  spec: EncoderSpec;
  inventory: UnitInventory;
  /** Size of the LM vocabulary of the sub-word heads (absent: none). */
  subwordVocab?: number;
}

/** Writes encoder.safetensors (encoder + CTC head), config.json, metrics.json, provenance.json; metrics.json last. */
export function exportEncoder(outDir: string, model: CtcEncoder, info: { metrics: unknown; provenance: unknown }): void {
  mkdirSync(outDir, { recursive: true });
  saveSafetensorsFile(join(outDir, "encoder.safetensors"), model.namedParameters(), { format: "omni-avsr-lab/encoder", modality: model.spec.modality });
  const cfg: EncoderFileConfig = { format: "omni-avsr-lab/encoder", version: 1, spec: model.spec, inventory: model.inventory, ...(model.subwordVocab > 0 ? { subwordVocab: model.subwordVocab } : {}) };
  writeFileAtomicSync(join(outDir, "config.json"), JSON.stringify(cfg, null, 1) + "\n");
  writeFileAtomicSync(join(outDir, "provenance.json"), JSON.stringify(info.provenance, null, 1) + "\n");
  writeFileAtomicSync(join(outDir, "metrics.json"), JSON.stringify(info.metrics, null, 1) + "\n");
}

// ---- loading ------------------------------------------------------------------------------------

export interface LoadedEncoder {
  model: CtcEncoder;
  spec: EncoderSpec;
  inventory: UnitInventory;
  /** First 16 hex digits of sha256(encoder.safetensors): the cache key of its features. */
  hash: string;
  dir: string;
  /** Output feature width. */
  dim: number;
}

/** Loads a frozen encoder from `dir` (default checkpoints/encoders/<preset>/<modality>). */
export function loadEncoder(preset: string, modality: EncoderModality, dir = encoderOutDir(preset, modality)): LoadedEncoder {
  const path = join(dir, "encoder.safetensors");
  if (!existsSync(path)) throw new Error(`no ${modality} encoder at ${dir}: run \`npm run pretrain:encoders -- --preset ${preset} --modality ${modality}\``);
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as EncoderFileConfig;
  const bytes = readFileSync(path);
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const model = new CtcEncoder(cfg.spec, cfg.inventory, new Rng(0), cfg.subwordVocab ?? 0);
  const { tensors } = loadSafetensorsFile(path);
  assignParams(model, tensors, path, { complete: true });
  model.freeze();
  const dim = modality === "audio" ? cfg.spec.audio!.dim : cfg.spec.video!.dim;
  return { model, spec: cfg.spec, inventory: cfg.inventory, hash, dir, dim };
}
