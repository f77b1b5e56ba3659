/**
 * The frozen-encoder feature cache. The encoders are frozen, so their outputs are computed once per
 * (preset, encoder checkpoint, split, condition) and every training and evaluation run reads them.
 *
 * Layout (git-ignored, under the corpus folder):
 *
 *   data/<preset>/features/<modality>-<encoder hash>/<split>/<condition>/part-NNN.f16   float16 values
 *   data/<preset>/features/<modality>-<encoder hash>/<split>/<condition>/part-NNN.json  index (last)
 *
 * The encoder hash is the first 16 hex digits of sha256(encoder.safetensors): a retrained encoder gets a
 * new folder and never mixes with old features. A part holds up to `partSize` utterances; its .json
 * (ids, frames, dim, offsets) is written atomically after the .f16, so a part is complete iff its .json
 * exists: an interrupted build resumes by skipping complete parts.
 *
 * Conditions:
 * - `clean`: every split, both modalities.
 * - `babble<snr>` (e.g. babble5, babble-2.5): the test split's audio mixed with babble at that SNR,
 *   deterministic per (utterance, noise, SNR, seed) through NoiseBank.mixForEval (seed 0). Video is
 *   never corrupted (the paper's protocol).
 * - `aug<k>` (k < trainNoisyVariants): the train split's audio, each utterance mixed with deterministic
 *   babble at an SNR level assigned per utterance (`trainVariantSnrs`: the K variants of an utterance
 *   get K distinct levels of {-5, 0, 5, 10, 15, 20} dB, spread evenly over utterances). With a frozen
 *   encoder, augmentation has to happen before the cache; the batch provider then reproduces the
 *   paper's per-sample draw from {-5, 0, 5, 10, 15, 20 dB, clean}: clean with probability 1/7, otherwise
 *   one of the utterance's noisy variants, so every level has marginal probability 1/7. K = 2 by
 *   default: a training run sees each utterance about once (see pipeline/config.ts), so more variants
 *   would mostly cost encoding time and disk.
 * - `restyle<k>` (k < videoRestyleVariants, 0 by default): the train split's video rendered as a new
 *   virtual speaker (video/augment.ts: a fresh appearance, head motion and lighting, the timeline kept),
 *   drawn per (utterance, k). Runs with `videoRestyle` draw each sample's video uniformly from the clean
 *   clip and these variants: the LLM side sees more faces than the corpus's 60.
 *
 * Sizes (default preset, 128-wide features, float16): audio ≈ 31.6 KB and video ≈ 15.9 KB per
 * utterance; the cache is measured and printed by `npm run features`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCorpus, createNoiseBank, folderBytes, frameBudgetBatches, type SyntheticCorpus, type Utterance, type Split } from "../data/index.js";
import type { NoiseBank } from "../audio/noise.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { dataDir } from "../util/paths.js";
import { Progress } from "../util/progress.js";
import { hashSeed, Rng } from "../util/rng.js";
import { audioInput, encodeInputs, loadEncoder, outputFrames, videoInput, type EncoderInput, type EncoderModality, type LoadedEncoder } from "../pretrain/encoders/index.js";
import { decodeHalf, encodeHalf } from "./f16.js";
import { InputError } from "../util/errors.js";

export const EVAL_SNRS = [5, 2.5, 0, -2.5, -5] as const;
export const TRAIN_NOISE_LEVELS = [-5, 0, 5, 10, 15, 20] as const;

/** `clean` or `babble<snr>`. */
export function conditionName(snrDb: number | null | undefined): string {
  return snrDb === null || snrDb === undefined ? "clean" : `babble${snrDb}`;
}

/** The SNR levels of an utterance's K training variants (distinct, evenly spread over utterances). */
export function trainVariantSnrs(id: string, k: number): number[] {
  const n = TRAIN_NOISE_LEVELS.length;
  if (k > n) throw new Error(`at most ${n} noisy training variants`);
  const h = hashSeed("train-aug-level", id) % n;
  return Array.from({ length: k }, (_, i) => TRAIN_NOISE_LEVELS[(h + Math.floor((i * n) / k)) % n]!);
}

export function featureDir(preset: string, modality: EncoderModality, encoderHash: string, root = dataDir(preset, "features")): string {
  return join(root, `${modality}-${encoderHash}`);
}

/** The cached training variants `<prefix>0`, `<prefix>1`, ... (aug / restyle) of an encoder, up to the first missing one. */
export function trainVariantDirs(preset: string, modality: EncoderModality, encoderHash: string, prefix: "aug" | "restyle"): string[] {
  const dirs: string[] = [];
  for (let k = 0; FeatureSet.exists(join(featureDir(preset, modality, encoderHash), "train", `${prefix}${k}`)); k++) {
    dirs.push(join(featureDir(preset, modality, encoderHash), "train", `${prefix}${k}`));
  }
  return dirs;
}

/**
 * How many restyled renders (restyle0, restyle1, ...) a `videoRestyle` run draws from: the count asked for, or,
 * when none was asked, every complete one cached (at least 1, so a cache without renders is refused, not ignored).
 * `cached`: trainVariantDirs(preset, "video", encoderHash, "restyle"), when the caller has already listed them.
 */
export function restyleVariantCount(preset: string, encoderHash: string, asked?: number, cached?: readonly string[]): number {
  return asked ?? Math.max(1, (cached ?? trainVariantDirs(preset, "video", encoderHash, "restyle")).length);
}

// ---- reading ------------------------------------------------------------------------------------

interface PartIndex {
  ids: string[];
  frames: number[];
  /** Offsets in values (not bytes) into the part's .f16. */
  offsets: number[];
  dim: number;
  condition: string;
  split: string;
}

/** Features of one (split, condition): id -> [frames, dim] row-major float32 on request. */
export class FeatureSet {
  private readonly where = new Map<string, { buf: Uint16Array; offset: number; frames: number }>();
  dim = 0;

  private constructor(readonly dir: string) {}

  static exists(dir: string): boolean {
    return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith(".json"));
  }

  static open(dir: string): FeatureSet {
    if (!FeatureSet.exists(dir)) throw new InputError(`no cached features in ${dir}: run \`npm run features\``);
    const s = new FeatureSet(dir);
    for (const f of readdirSync(dir).filter((x) => /^part-\d+\.json$/.test(x)).sort()) {
      const idx = JSON.parse(readFileSync(join(dir, f), "utf8")) as PartIndex;
      const bytes = readFileSync(join(dir, f.replace(/\.json$/, ".f16")));
      const buf = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
      s.dim = idx.dim;
      idx.ids.forEach((id, i) => s.where.set(id, { buf, offset: idx.offsets[i]!, frames: idx.frames[i]! }));
    }
    return s;
  }

  get ids(): string[] {
    return [...this.where.keys()];
  }

  get size(): number {
    return this.where.size;
  }

  has(id: string): boolean {
    return this.where.has(id);
  }

  frames(id: string): number {
    return this.entry(id).frames;
  }

  private entry(id: string) {
    const e = this.where.get(id);
    if (!e) throw new Error(`${this.dir}: no features for ${id}`);
    return e;
  }

  /** [frames, dim] row-major. */
  get(id: string): { data: Float32Array; frames: number; dim: number } {
    const e = this.entry(id);
    const n = e.frames * this.dim;
    return { data: decodeHalf(e.buf.subarray(e.offset, e.offset + n)), frames: e.frames, dim: this.dim };
  }

  /** Rows [start, end) of `id`, row-major [end − start, dim] (pipeline/splice.ts). */
  rows(id: string, start: number, end: number): Float32Array {
    const e = this.entry(id);
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= e.frames)) {
      throw new Error(`${this.dir}: rows [${start}, ${end}) of ${id} are outside its ${e.frames} frames`);
    }
    return decodeHalf(e.buf.subarray(e.offset + start * this.dim, e.offset + end * this.dim));
  }
}

// ---- building -----------------------------------------------------------------------------------

export interface FeatureJob {
  modality: EncoderModality;
  split: Split;
  condition: string;
  /** Audio: babble SNR (null = clean); per-utterance level for aug variants. */
  snrOf: (u: Utterance) => number | null;
  /** Video: the restyled variant this job renders (restyle<k>); absent = as the corpus renders it. */
  restyle?: number;
  /** Seed of NoiseBank.mixForEval for this condition. */
  noiseSeed: number;
}

export interface FeatureCacheOptions {
  preset: string;
  modalities?: EncoderModality[];
  splits?: Split[];
  /** Noisy training variants per utterance (audio). */
  trainNoisyVariants?: number;
  /** Restyled video variants of the train split (restyle<k>); default 0. */
  videoRestyleVariants?: number;
  /** Babble SNRs cached for the test split (audio). */
  evalSnrs?: readonly number[];
  partSize?: number;
  /** Input frames per encoder batch. */
  batchFrames?: number;
  /** Encoder checkpoint folders (default checkpoints/encoders/<preset>/<modality>). */
  encoderDirs?: Partial<Record<EncoderModality, string>>;
  /** Cache root (default data/<preset>/features). */
  root?: string;
  corpusDir?: string;
  log?: (line: string) => void;
}

export interface FeatureCacheSummary {
  dirs: Record<string, string>;
  parts: { written: number; skipped: number };
  utterancesEncoded: number;
  bytes: number;
  seconds: number;
}

/** The (modality, split, condition) jobs a cache build runs. */
export function featureJobs(o: Required<Pick<FeatureCacheOptions, "modalities" | "splits" | "trainNoisyVariants" | "evalSnrs">> & Pick<FeatureCacheOptions, "videoRestyleVariants">): FeatureJob[] {
  const restyles = o.videoRestyleVariants ?? 0;
  if (!(Number.isInteger(restyles) && restyles >= 0)) throw new InputError(`videoRestyleVariants must be a whole number, got ${restyles}`);
  const jobs: FeatureJob[] = [];
  for (const modality of o.modalities) {
    for (const split of o.splits) {
      jobs.push({ modality, split, condition: "clean", snrOf: () => null, noiseSeed: 0 });
      if (modality === "video" && split === "train") {
        for (let k = 0; k < restyles; k++) jobs.push({ modality, split, condition: `restyle${k}`, snrOf: () => null, noiseSeed: 0, restyle: k });
      }
      if (modality !== "audio") continue;
      if (split === "train") {
        for (let k = 0; k < o.trainNoisyVariants; k++) {
          jobs.push({ modality, split, condition: `aug${k}`, snrOf: (u) => trainVariantSnrs(u.id, o.trainNoisyVariants)[k]!, noiseSeed: 1000 + k });
        }
      }
      if (split === "test") for (const snr of o.evalSnrs) jobs.push({ modality, split, condition: conditionName(snr), snrOf: () => snr, noiseSeed: 0 });
    }
  }
  return jobs;
}

function inputOf(ds: SyntheticCorpus, enc: LoadedEncoder, noise: NoiseBank | undefined, u: Utterance, job: FeatureJob): EncoderInput {
  if (job.modality === "video") {
    const restyle = job.restyle === undefined ? undefined : { config: { rerender: 1 }, rng: new Rng(hashSeed("video-restyle", u.id, job.restyle)) };
    return videoInput(ds, u.id, enc.spec.videoSize, restyle);
  }
  const snr = job.snrOf(u);
  return snr === null ? audioInput(ds, u.id) : audioInput(ds, u.id, { noise, snrDb: snr, evalSeed: job.noiseSeed });
}

/** Encodes one part (a list of utterances) and writes it atomically. */
function writePart(dir: string, part: number, utts: readonly Utterance[], ds: SyntheticCorpus, enc: LoadedEncoder, noise: NoiseBank | undefined, job: FeatureJob, batchFrames: number, onUtt: () => void): void {
  const inputs = utts.map((u) => inputOf(ds, enc, noise, u, job));
  const feats: Float32Array[] = new Array(utts.length);
  const { batches } = frameBudgetBatches(inputs.map((x) => x.frames), { frameBudget: batchFrames, maxBatchSize: 64 });
  for (const b of batches) {
    const out = encodeInputs(enc.model.encoder, enc.spec, b.map((i) => inputs[i]!));
    b.forEach((i, k) => {
      feats[i] = out[k]!;
      onUtt();
    });
  }
  const frames = utts.map((_, i) => outputFrames(enc.spec, inputs[i]!.frames));
  const offsets: number[] = [];
  let total = 0;
  for (let i = 0; i < utts.length; i++) {
    offsets.push(total);
    total += frames[i]! * enc.dim;
  }
  const all = new Float32Array(total);
  feats.forEach((f, i) => all.set(f, offsets[i]!));
  const name = `part-${String(part).padStart(3, "0")}`;
  writeFileAtomicSync(join(dir, `${name}.f16`), encodeHalf(all));
  const idx: PartIndex = { ids: utts.map((u) => u.id), frames, offsets, dim: enc.dim, condition: job.condition, split: job.split };
  writeFileAtomicSync(join(dir, `${name}.json`), JSON.stringify(idx));
}

/** Builds (or completes) the feature cache of a preset. */
export async function buildFeatureCache(o: FeatureCacheOptions): Promise<FeatureCacheSummary> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const modalities = o.modalities ?? ["audio", "video"];
  const jobs = featureJobs({
    modalities,
    splits: o.splits ?? ["train", "val", "test"],
    trainNoisyVariants: o.trainNoisyVariants ?? 2,
    evalSnrs: o.evalSnrs ?? EVAL_SNRS,
    videoRestyleVariants: o.videoRestyleVariants,
  });
  const partSize = o.partSize ?? 500;
  const encoders = new Map<EncoderModality, LoadedEncoder>();
  for (const m of modalities) encoders.set(m, loadEncoder(o.preset, m, o.encoderDirs?.[m]));
  const videoSize = encoders.get("video")?.spec.videoSize;
  const ds = await openCorpus(o.preset, { dir: o.corpusDir, videoSize });
  const noise = modalities.includes("audio") ? await createNoiseBank(ds, { seed: 0 }) : undefined;
  const dirs: Record<string, string> = {};
  for (const [m, e] of encoders) dirs[m] = featureDir(o.preset, m, e.hash, o.root);

  // count the work left, for one progress line over everything
  const plan = jobs.map((job) => {
    const utts = ds.utterances(job.split);
    const dir = join(dirs[job.modality]!, job.split, job.condition);
    const parts = Array.from({ length: Math.ceil(utts.length / partSize) }, (_, p) => utts.slice(p * partSize, (p + 1) * partSize));
    const todo = parts.map((_, p) => !existsSync(join(dir, `part-${String(p).padStart(3, "0")}.json`)));
    return { job, dir, parts, todo };
  });
  const totalUtts = plan.reduce((s, p) => s + p.parts.reduce((n, part, i) => n + (p.todo[i] ? part.length : 0), 0), 0);
  const progress = new Progress(Math.max(1, totalUtts), { unit: "utt", label: `features ${o.preset}`, write: log, intervalMs: 5000 });
  let done = 0;
  let written = 0;
  let skipped = 0;
  for (const { job, dir, parts, todo } of plan) {
    mkdirSync(dir, { recursive: true });
    const enc = encoders.get(job.modality)!;
    const batchFrames = o.batchFrames ?? (job.modality === "audio" ? 8000 : 1200);
    for (let p = 0; p < parts.length; p++) {
      if (!todo[p]) {
        skipped++;
        continue;
      }
      writePart(dir, p, parts[p]!, ds, enc, noise, job, batchFrames, () => {
        done++;
        progress.update(done, {}, `${job.modality} ${job.split}/${job.condition} part ${p + 1}/${parts.length}`);
      });
      written++;
    }
  }
  for (const e of encoders.values()) e.model.dispose();
  const bytes = Object.values(dirs).reduce((s, d) => s + (existsSync(d) ? folderBytes(d) : 0), 0);
  return { dirs, parts: { written, skipped }, utterancesEncoded: done, bytes, seconds: (Date.now() - t0) / 1000 };
}

/** Opens the cached features of a preset for one modality/split/condition (encoder from checkpoints/). */
export function openFeatures(preset: string, modality: EncoderModality, encoderHash: string, split: Split, condition = "clean", root?: string): FeatureSet {
  return FeatureSet.open(join(featureDir(preset, modality, encoderHash, root), split, condition));
}
