/**
 * Loader for real LRS2/LRS3 data in the layout written by the auto_avsr preprocessing
 * (preparation/preprocess_lrs2lrs3.py):
 *
 *   <root>/labels/<ds>_<subset>_transcript_lengths_seg<S>s.csv   rows: ds,rel_path,frames,token_ids
 *   <root>/<ds>/<ds>_video_seg<S>s/<subset>/<spk>/<utt>.mp4       96x96 grayscale-able mouth crop, 25 fps
 *   <root>/<ds>/<ds>_video_seg<S>s/<subset>/<spk>/<utt>.wav       16 kHz mono (absent with --combine-av,
 *                                                                  then the mp4's audio track is used)
 *   <root>/<ds>/<ds>_text_seg<S>s/<subset>/<spk>/<utt>.txt        transcript (upper case in LRS)
 *
 * When the label CSV is missing, the video folder is scanned for mp4 files instead. The token ids in
 * the CSV are ignored (our tokenisers re-tokenise the text). Decoding uses Debian's ffmpeg/ffprobe.
 *
 * Bad input: a transcript outside [a-z' ] after normalisation, a missing mp4, or a missing transcript
 * is an error naming the file (or, with `onBadUtterance: "exclude"`, the utterance is left out and
 * listed in `excluded` with the reason, and a summary line is printed: never silently). Video that is
 * not 25 fps is resampled by ffmpeg's fps filter, reported as a repair.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { promisify } from "node:util";
import Papa from "papaparse";
import { initAudio } from "../audio/dsp.js";
import { conformAudio, readWav } from "../audio/wav.js";
import { clip, type Clip } from "../video/transforms.js";
import { DataError, type AvDataset, type Utterance, type VideoOptions } from "./dataset.js";
import type { Split } from "./plan.js";
import { normalizeTranscript } from "./text.js";

const run = promisify(execFile);

export interface LrsOptions {
  root: string;
  dataset: "lrs2" | "lrs3";
  /** auto_avsr subset name: "train", "val" or "test". */
  subset: string;
  /** Segment length in the folder names (auto_avsr default 24). */
  segSeconds?: number;
  /** Split label given to every utterance (default: the subset when it is train/val/test). */
  split?: Split;
  onBadUtterance?: "error" | "exclude";
  onRepair?: (message: string) => void;
}

interface Entry {
  u: Utterance;
  mp4: string;
  wav: string;
}

async function probe(path: string): Promise<{ width: number; height: number; fps: number; hasAudio: boolean }> {
  let out: string;
  try {
    out = (await run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,width,height,r_frame_rate", "-of", "json", path], { maxBuffer: 1 << 20 })).stdout;
  } catch (err) {
    throw new DataError(relative(process.cwd(), path), path, `ffprobe failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
  const streams = (JSON.parse(out) as { streams: Array<{ codec_type: string; width?: number; height?: number; r_frame_rate?: string }> }).streams;
  const v = streams.find((s) => s.codec_type === "video");
  if (!v || !v.width || !v.height) throw new DataError(path, path, "no video stream");
  const [num, den] = (v.r_frame_rate ?? "25/1").split("/").map(Number);
  return { width: v.width, height: v.height, fps: num! / (den || 1), hasAudio: streams.some((s) => s.codec_type === "audio") };
}

export class LrsDataset implements AvDataset {
  readonly sampleRate = 16000;
  readonly fps = 25;
  /** Utterances left out with `onBadUtterance: "exclude"`, with the reason. */
  readonly excluded: Array<{ path: string; reason: string }> = [];
  private readonly entries: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  videoSize = 96;

  private constructor(readonly opts: LrsOptions) {}

  get name(): string {
    return `${this.opts.dataset}:${this.opts.subset}`;
  }

  static async open(opts: LrsOptions): Promise<LrsDataset> {
    await initAudio();
    const ds = new LrsDataset(opts);
    const seg = opts.segSeconds ?? 24;
    const base = join(opts.root, opts.dataset);
    const videoDir = join(base, `${opts.dataset}_video_seg${seg}s`);
    const textDir = join(base, `${opts.dataset}_text_seg${seg}s`);
    const labels = join(opts.root, "labels", `${opts.dataset}_${opts.subset}_transcript_lengths_seg${seg}s.csv`);
    let items: Array<{ rel: string; frames: number | undefined }>;
    if (existsSync(labels)) {
      const rows = Papa.parse<string[]>(readFileSync(labels, "utf8"), { skipEmptyLines: true }).data;
      items = rows.map((r, i) => {
        if (r.length < 3) throw new DataError(`row ${i + 1}`, labels, `expected dataset,rel_path,frames,token_ids, got ${JSON.stringify(r)}`);
        return { rel: r[1]!, frames: Number(r[2]) };
      });
    } else {
      const dir = join(videoDir, opts.subset);
      if (!existsSync(dir)) throw new Error(`${opts.root}: neither ${labels} nor ${dir} exists`);
      items = (readdirSync(dir, { recursive: true }) as string[])
        .filter((f) => f.endsWith(".mp4"))
        .sort()
        .map((f) => ({ rel: join(`${opts.dataset}_video_seg${seg}s`, opts.subset, f), frames: undefined }));
    }
    const split: Split = opts.split ?? (["train", "val", "test"].includes(opts.subset) ? (opts.subset as Split) : "test");
    const videoPrefix = `${opts.dataset}_video_seg${seg}s${sep}`;
    for (const it of items) {
      const mp4 = join(base, it.rel);
      const inner = it.rel.startsWith(videoPrefix) ? it.rel.slice(videoPrefix.length) : it.rel;
      const id = inner.replace(/\.mp4$/, "");
      const txt = join(textDir, `${id}.txt`);
      try {
        if (!existsSync(mp4)) throw new DataError(id, mp4, "video file missing");
        if (!existsSync(txt)) throw new DataError(id, txt, "transcript file missing");
        // LRS marks non-speech events in braces ({LG} laughter, {NS} noise); they are not words, so they
        // are removed (auto_avsr keeps the tag text without the braces)
        const raw = readFileSync(txt, "utf8").split("\n")[0]!.replace(/\{[^}]*\}/g, " ");
        const text = normalizeTranscript(raw, `${id} (${txt})`);
        const frames = it.frames ?? (await ds.countFrames(mp4));
        const parts = id.split(/[\\/]/);
        const u: Utterance = {
          id,
          split,
          speaker: parts.length >= 2 ? parts[parts.length - 2]! : id,
          text,
          durationS: frames / 25,
          numSamples: frames * 640,
          videoFrames: frames,
        };
        const e = { u, mp4, wav: mp4.replace(/\.mp4$/, ".wav") };
        ds.entries.push(e);
        ds.byId.set(id, e);
      } catch (err) {
        if (opts.onBadUtterance !== "exclude") throw err;
        ds.excluded.push({ path: mp4, reason: (err as Error).message });
      }
    }
    if (ds.excluded.length > 0) {
      process.stderr.write(`[lrs] ${ds.name}: excluded ${ds.excluded.length} utterances (see .excluded), first: ${ds.excluded[0]!.reason}\n`);
    }
    if (ds.entries.length > 0) ds.videoSize = (await probe(ds.entries[0]!.mp4)).height;
    return ds;
  }

  private async countFrames(mp4: string): Promise<number> {
    const { stdout } = await run("ffprobe", ["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", mp4]);
    const n = Number(stdout.trim());
    if (!Number.isFinite(n)) throw new DataError(mp4, mp4, `cannot count frames (${stdout.trim()})`);
    return n;
  }

  utterances(split?: Split): Utterance[] {
    const all = this.entries.map((e) => e.u);
    return split ? all.filter((u) => u.split === split) : all;
  }

  get(id: string): Utterance {
    return this.entry(id).u;
  }

  private entry(id: string): Entry {
    const e = this.byId.get(id);
    if (!e) throw new Error(`${this.name}: no utterance ${JSON.stringify(id)}`);
    return e;
  }

  /** The utterance's WAV if present, else the mp4's audio track (decoded and resampled by ffmpeg). */
  async loadAudio(id: string): Promise<Float32Array> {
    const e = this.entry(id);
    if (existsSync(e.wav)) return readWav(e.wav, { onRepair: this.opts.onRepair }).samples;
    const info = await probe(e.mp4);
    if (!info.hasAudio) throw new DataError(id, e.mp4, "no .wav beside the video and no audio track in it");
    let stdout: Buffer;
    try {
      stdout = (
        await run("ffmpeg", ["-v", "error", "-i", e.mp4, "-vn", "-ac", "1", "-ar", "16000", "-f", "f32le", "pipe:1"], {
          encoding: "buffer",
          maxBuffer: 1 << 30,
        })
      ).stdout;
    } catch (err) {
      throw new DataError(id, e.mp4, `ffmpeg audio decode failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
    }
    const samples = new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
    return conformAudio({ channels: [samples], sampleRate: 16000 }, e.mp4, { onRepair: this.opts.onRepair }).samples;
  }

  /** Decodes the mp4 to grayscale [T, H, W] in [0, 1]; `size` rescales (area filter) to size x size. */
  async loadVideo(id: string, opts: VideoOptions = {}): Promise<Clip> {
    const e = this.entry(id);
    if (!existsSync(e.mp4)) throw new DataError(id, e.mp4, "video file missing");
    const info = await probe(e.mp4);
    const filters: string[] = [];
    if (Math.abs(info.fps - 25) > 1e-3) {
      filters.push("fps=25");
      (this.opts.onRepair ?? ((m: string) => process.stderr.write(`[video repair] ${m}\n`)))(`${e.mp4}: ${info.fps.toFixed(3)} fps resampled to 25 fps`);
    }
    const w = opts.size ?? info.width;
    const h = opts.size ?? info.height;
    if (opts.size) filters.push(`scale=${w}:${h}:flags=area`);
    const args = ["-v", "error", "-i", e.mp4, ...(filters.length ? ["-vf", filters.join(",")] : []), "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"];
    let stdout: Buffer;
    try {
      stdout = (await run("ffmpeg", args, { encoding: "buffer", maxBuffer: 1 << 30 })).stdout;
    } catch (err) {
      throw new DataError(id, e.mp4, `ffmpeg video decode failed: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`);
    }
    const fs = w * h;
    if (stdout.length === 0 || stdout.length % fs !== 0) throw new DataError(id, e.mp4, `decoded ${stdout.length} bytes, not a whole number of ${w}x${h} frames`);
    const data = new Float32Array(stdout.length);
    for (let i = 0; i < data.length; i++) data[i] = stdout[i]! / 255;
    return clip(data, stdout.length / fs, h, w);
  }
}
