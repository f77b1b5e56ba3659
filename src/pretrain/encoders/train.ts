/**
 * Encoder pretraining: the resumable CTC training run of one encoder, its validation scores and export.
 *
 * Design choices:
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
import { existsSync, readFileSync, rmSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Utterance } from "../../data/index.js";
import type { CtcHead } from "../../models/encoders.js";
import { AdamW, clipByGlobalNorm, cosineLr } from "../../train/optim.js";
import { assignParams, latestCheckpoint, loadCheckpoint, momentsOf, loadSafetensorsFile, saveCheckpoint } from "../../train/checkpoint.js";
import { dataDir, repoRoot } from "../../util/paths.js";
import { Progress } from "../../util/progress.js";
import { Rng, hashSeed } from "../../util/rng.js";
import { validateAugment } from "../../audio/augment.js";
import { validateVideoAugment } from "../../video/augment.js";
import { ctcLossFast, ctcFastStats } from "../../models/ctc-fast.js";
import { installFastMaxPoolGrad } from "../encoder-kernels.js";
import { frameTargetsOf, subwordFrameTargetsOf, subwordTargetsOf, targetsOf, type EncoderModality } from "../encoder-data.js";
import { encoderSpec, type EncoderSpec, type EncoderTrainConfig } from "./config.js";
import { CtcEncoder, ENCODER_FPS, encoderForward, outputFrames } from "./model.js";
import { epochBatches, inputFramesOf, loadInput, openPretrainData } from "./data.js";
import { evaluateCtc, evaluateSubwordCtc } from "./evaluate.js";
import { corpusHash, encoderOutDir, exportEncoder, gitCommit } from "./shipped.js";

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

export interface PretrainOptions {
  preset: string;
  modality: EncoderModality;
  seed?: number;
  /** Overrides of the preset's training config (tests: fewer steps). */
  train?: Partial<EncoderTrainConfig>;
  /** Transformer blocks, if not the preset's (see `encoderSpec`). */
  layers?: number;
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
  /** Folder of the voice bank `train.extraTrain` (default data/<extraTrain>/). */
  extraCorpusDir?: string;
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

/**
 * Pretrains one encoder with CTC, resuming from its newest checkpoint, evaluates it on val and
 * exports the frozen weights. Returns early (skipped) when the export exists and `force` is not set.
 */
export async function pretrainEncoder(o: PretrainOptions): Promise<EncoderPretrainResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const seed = o.seed ?? 0;
  const spec = encoderSpec(o.preset, o.modality, o.train, o.layers);
  if (spec.train.augment) {
    if (o.modality !== "audio") throw new Error(`${o.modality} encoder: train.augment (VTLP + SpecAugment) applies to audio only`);
    validateAugment(spec.train.augment);
  }
  if (spec.train.videoAugment) {
    if (o.modality !== "video") throw new Error(`${o.modality} encoder: train.videoAugment (re-rendered faces) applies to video only`);
    validateVideoAugment(spec.train.videoAugment);
  }
  const outDir = o.outDir ?? encoderOutDir(o.preset, o.modality);
  if (!o.force && existsSync(join(outDir, "metrics.json"))) {
    log(`[pretrain ${o.modality}] ${outDir} exists (use --force to retrain)`);
    return { outDir, metrics: JSON.parse(readFileSync(join(outDir, "metrics.json"), "utf8")) as EncoderMetrics, skipped: true };
  }
  installFastMaxPoolGrad();
  const workDir = o.workDir ?? dataDir(o.preset, "encoder-runs", o.modality);
  const ckDir = join(workDir, "checkpoints");
  const d = await openPretrainData(o.preset, o.modality, spec, o.corpusDir, o.extraCorpusDir);
  let train = d.ds.utterances("train");
  if (spec.train.trainLimit > 0) train = train.slice(0, spec.train.trainLimit);
  let val = d.ds.utterances("val");
  if (spec.train.valLimit > 0) val = val.slice(0, spec.train.valLimit);
  // utterances whose targets cannot fit their output frames are left out of training
  const fits = (u: Utterance) =>
    targetsOf(d.ds, u.id, d.inventory).length <= outputFrames(spec, inputFramesOf(spec, u)) &&
    (!d.tokenizer || subwordTargetsOf(u.text, d.tokenizer).length <= outputFrames(spec, inputFramesOf(spec, u)));
  train = train.filter(fits);
  if (d.bank) {
    const known = new Set(d.inventory.units);
    const bankIds = new Set(d.bank.utterances("train").map((u) => u.id));
    const bank = train.filter((u) => bankIds.has(u.id));
    let dropped = 0;
    for (const u of bank) for (const [p] of d.ds.alignment(u.id).phonemes) if (p !== "" && !known.has(p)) dropped++;
    log(`[pretrain ${o.modality}] voice bank ${spec.train.extraTrain}: ${bank.length} utterances join ${train.length - bank.length} of the corpus's (${dropped} bank phones outside the inventory dropped)`);
  }

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
    const items = idx.map((i, k) => loadInput(d, spec, train[i]!.id, spec.train.noiseAug || spec.train.augment || spec.train.videoAugment ? new Rng(hashSeed("encoder-aug", seed, next, k)) : undefined));
    const labels = idx.map((i) => targetsOf(d.ds, train[i]!.id, d.inventory));
    const ceW = spec.train.frameCeWeight ?? 0;
    const sw = d.tokenizer ? spec.train.subword : undefined;
    const swLabels = sw ? idx.map((i) => subwordTargetsOf(train[i]!.text, d.tokenizer!)) : [];
    const fps = ENCODER_FPS[o.modality];
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
      ...(d.bank ? { extraTrain: { preset: spec.train.extraTrain, dir: d.bank.dir, dataHash: corpusHash(d.bank.dir) } } : {}),
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
