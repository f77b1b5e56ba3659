/**
 * The dataset interface shared by the synthetic corpus and the real LRS2/LRS3 loaders, so training
 * code does not care which it gets, plus the synthetic-corpus implementation.
 *
 * Every loader gives 16 kHz mono Float32Array audio and grayscale video as a Clip [T, H, W] in [0, 1]
 * at 25 fps. `loadAvPair` loads both and enforces the audio/video length contract (see there).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { initAudio } from "../audio/dsp.js";
import { readWav, type ReadAudioOptions } from "../audio/wav.js";
import { renderMouthVideo, type SpeakerAppearance } from "../video/render.js";
import { clip, type Clip } from "../video/transforms.js";
import type { TimedViseme } from "../video/visemes.js";
import type { RenderStyle } from "../video/augment.js";
import type { CorpusConfig } from "./config.js";
import { readManifest, type ManifestRow } from "./manifest.js";
import type { Split } from "./plan.js";
import type { Speaker } from "./speakers.js";
import type { AlignFile } from "./utterance.js";
import { InputError } from "../util/errors.js";

export type { Split } from "./plan.js";

export interface Utterance {
  id: string;
  split: Split;
  speaker: string;
  /** Normalised transcript: lower-case [a-z'] words separated by single spaces. */
  text: string;
  durationS: number;
  /** Audio samples at 16 kHz (for real data: expected from the frame count until loaded). */
  numSamples: number;
  videoFrames: number;
}

export interface VideoOptions {
  /** Frame side in pixels; default the dataset's `videoSize`. */
  size?: number;
}

/** Options of the synthetic corpus's renderer: the common ones plus a style override for augmentation. */
export interface SyntheticVideoOptions extends VideoOptions {
  /** Maps the speaker's appearance and the utterance's render parameters to the ones to render with. */
  restyle?: (original: RenderStyle) => RenderStyle;
}

export interface AvDataset {
  readonly name: string;
  readonly sampleRate: number;
  readonly fps: number;
  /** Native frame side (synthetic: default render size; LRS: the mp4's side, 96 from auto_avsr). */
  readonly videoSize: number;
  utterances(split?: Split): Utterance[];
  get(id: string): Utterance;
  loadAudio(id: string): Promise<Float32Array>;
  loadVideo(id: string, opts?: VideoOptions): Promise<Clip>;
}

export class DataError extends InputError {
  constructor(readonly id: string, readonly path: string, reason: string) {
    super(`${id} (${path}): ${reason}`);
    this.name = "DataError";
  }
}

export const SAMPLES_PER_VIDEO_FRAME = 640;

export interface AvPairOptions extends VideoOptions {
  /**
   * Audio and video may differ by up to this many video frames (default 2, 80 ms); both are then
   * trimmed to the shorter, and the trim is reported through `onRepair`. A larger mismatch is an error
   * naming the utterance.
   */
  toleranceFrames?: number;
  onRepair?: (message: string) => void;
}

export interface AvPair {
  utterance: Utterance;
  audio: Float32Array;
  video: Clip;
}

/** Loads audio and video of one utterance and makes their lengths agree (audio = 640 x frames). */
export async function loadAvPair(ds: AvDataset, id: string, opts: AvPairOptions = {}): Promise<AvPair> {
  const u = ds.get(id);
  const [audio, video] = await Promise.all([ds.loadAudio(id), ds.loadVideo(id, opts)]);
  const audioFrames = audio.length / SAMPLES_PER_VIDEO_FRAME;
  const tol = opts.toleranceFrames ?? 2;
  const diff = Math.abs(audioFrames - video.frames);
  if (diff > tol) {
    throw new DataError(id, ds.name, `audio (${audio.length} samples = ${audioFrames.toFixed(2)} frames) and video (${video.frames} frames) differ by more than ${tol} frames`);
  }
  const frames = Math.min(video.frames, Math.floor(audioFrames));
  if (frames === video.frames && audio.length === frames * SAMPLES_PER_VIDEO_FRAME) return { utterance: u, audio, video };
  (opts.onRepair ?? ((m: string) => process.stderr.write(`[av repair] ${m}\n`)))(
    `${id}: trimmed audio ${audio.length} -> ${frames * SAMPLES_PER_VIDEO_FRAME} samples and video ${video.frames} -> ${frames} frames`,
  );
  const fs = video.height * video.width;
  return {
    utterance: u,
    audio: audio.slice(0, frames * SAMPLES_PER_VIDEO_FRAME),
    video: clip(video.data.slice(0, frames * fs), frames, video.height, video.width),
  };
}

export interface SyntheticOpenOptions {
  /** Default render size (88 as the paper; smaller is cheaper). */
  videoSize?: number;
  audio?: ReadAudioOptions;
}

function toUtterance(r: ManifestRow): Utterance {
  return {
    id: r.id,
    split: r.split as Split,
    speaker: r.speaker,
    text: r.text,
    durationS: Number(r.duration_s),
    numSamples: Number(r.num_samples),
    videoFrames: Number(r.video_frames),
  };
}

/** The generated corpus in data/<preset>/ (see src/data/generate.ts). Video is rendered on load. */
export class SyntheticCorpus implements AvDataset {
  readonly sampleRate = 16000;
  readonly fps = 25;
  private readonly rows: Utterance[];
  private readonly byId: Map<string, { u: Utterance; row: ManifestRow }>;
  private readonly appearance: Map<string, SpeakerAppearance>;

  private constructor(
    readonly dir: string,
    readonly config: CorpusConfig,
    readonly speakers: Speaker[],
    manifest: ManifestRow[],
    readonly videoSize: number,
    private readonly audioOpts: ReadAudioOptions,
  ) {
    this.rows = manifest.map(toUtterance);
    this.byId = new Map(manifest.map((r, i) => [r.id, { u: this.rows[i]!, row: r }]));
    this.appearance = new Map(speakers.map((s) => [s.id, s.appearance]));
  }

  static async open(dir: string, opts: SyntheticOpenOptions = {}): Promise<SyntheticCorpus> {
    for (const f of ["manifest.csv", "speakers.json", "config.json"]) {
      if (!existsSync(join(dir, f))) throw new Error(`${dir} is not a finished corpus: ${f} is missing (run npm run corpus)`);
    }
    await initAudio();
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as CorpusConfig;
    const speakers = JSON.parse(readFileSync(join(dir, "speakers.json"), "utf8")) as Speaker[];
    return new SyntheticCorpus(dir, config, speakers, readManifest(join(dir, "manifest.csv")), opts.videoSize ?? 88, opts.audio ?? {});
  }

  get name(): string {
    return `synthetic:${this.config.preset}`;
  }

  utterances(split?: Split): Utterance[] {
    return split ? this.rows.filter((u) => u.split === split) : [...this.rows];
  }

  get(id: string): Utterance {
    const e = this.byId.get(id);
    if (!e) throw new Error(`${this.name}: no utterance ${JSON.stringify(id)}`);
    return e.u;
  }

  private row(id: string): ManifestRow {
    this.get(id);
    return this.byId.get(id)!.row;
  }

  async loadAudio(id: string): Promise<Float32Array> {
    return this.loadAudioSync(id);
  }

  loadAudioSync(id: string): Float32Array {
    return readWav(resolve(this.dir, this.row(id).audio_path), this.audioOpts).samples;
  }

  /** Timings and render parameters of an utterance. */
  alignment(id: string): AlignFile {
    const path = resolve(this.dir, this.row(id).align_path);
    if (!existsSync(path)) throw new DataError(id, path, "alignment file missing: the video cannot be rendered");
    try {
      return JSON.parse(readFileSync(path, "utf8")) as AlignFile;
    } catch (err) {
      throw new DataError(id, path, `unreadable alignment file (${(err as Error).message})`);
    }
  }

  async loadVideo(id: string, opts: VideoOptions = {}): Promise<Clip> {
    return this.loadVideoSync(id, opts);
  }

  /**
   * Renders the mouth clip [T, size, size] deterministically from the alignment file, with the
   * speaker's appearance and the utterance's render parameters, or with what `opts.restyle` makes of
   * them (training-time augmentation, video/augment.ts).
   */
  loadVideoSync(id: string, opts: SyntheticVideoOptions = {}): Clip {
    const a = this.alignment(id);
    const size = opts.size ?? this.videoSize;
    const visemes: TimedViseme[] = a.visemes.map(([viseme, start, end]) => ({ viseme, start, end }));
    const own = this.appearance.get(a.speaker);
    if (!own) throw new DataError(id, join(this.dir, "speakers.json"), `speaker ${a.speaker} not in speakers.json`);
    const { appearance, params } = opts.restyle ? opts.restyle({ appearance: own, params: a.render }) : { appearance: own, params: a.render };
    const data = renderMouthVideo({ visemes, appearance, params, numFrames: a.numFrames, size });
    return clip(data, a.numFrames, size, size);
  }

  /**
   * This corpus with the training utterances of `extra` (a voice bank, CorpusConfig.voiceBank) added to
   * its train split: for encoder pretraining on more voices. Val and test stay this corpus's. The bank
   * must have been made for this corpus (its voiceBank.base is this preset, with the same seed) and its
   * ids and speakers must not clash with this corpus's.
   */
  withExtraTraining(extra: SyntheticCorpus): SyntheticCorpus {
    const bank = extra.config.voiceBank;
    if (!bank || bank.base !== this.config.preset || extra.config.seed !== this.config.seed) {
      throw new Error(`${extra.dir}: not a voice bank of corpus ${this.config.preset} (seed ${this.config.seed}); its config.json has voiceBank ${JSON.stringify(bank)} and seed ${extra.config.seed}`);
    }
    const rows = extra.utterances();
    const clash = rows.find((u) => this.byId.has(u.id) || u.split !== "train");
    if (clash) throw new Error(`${extra.dir}: utterance ${clash.id} clashes with ${this.dir} or is not a training utterance`);
    const mine = new Set(this.speakers.map((s) => s.id));
    const spk = extra.speakers.find((s) => mine.has(s.id));
    if (spk) throw new Error(`${extra.dir}: speaker ${spk.id} is also a speaker of ${this.dir}`);
    const manifest = [
      ...this.utterances().map((u) => this.byId.get(u.id)!.row),
      ...rows.map((u) => {
        const r = extra.byId.get(u.id)!.row;
        return { ...r, audio_path: resolve(extra.dir, r.audio_path), align_path: resolve(extra.dir, r.align_path) };
      }),
    ];
    return new SyntheticCorpus(this.dir, this.config, [...this.speakers, ...extra.speakers], manifest, this.videoSize, this.audioOpts);
  }

  /** Text for LM pretraining (val and test transcripts removed). */
  lmText(): string[] {
    return readFileSync(join(this.dir, "lm_text.txt"), "utf8").split("\n").filter((l) => l.length > 0);
  }
}
