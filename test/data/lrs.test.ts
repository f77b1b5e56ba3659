/**
 * The LRS2/LRS3 loader on fixtures written here in the auto_avsr layout (mp4 encoded by ffmpeg).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { initAudio } from "../../src/audio/dsp.js";
import { writeWav16 } from "../../src/audio/wav.js";
import { DataError, loadAvPair } from "../../src/data/dataset.js";
import { LrsDataset } from "../../src/data/lrs.js";
import { TranscriptError } from "../../src/data/text.js";
import { Rng } from "../../src/util/rng.js";
import { drawAppearance, drawRenderParams, renderMouthVideo } from "../../src/video/render.js";

await initAudio();
const root = mkdtempSync(join(tmpdir(), "omni-lrs-"));
after(() => rmSync(root, { recursive: true, force: true }));
const ds = "lrs3";
const vdir = join(root, ds, `${ds}_video_seg24s`);
const tdir = join(root, ds, `${ds}_text_seg24s`);
const app = drawAppearance(new Rng(4));
const frames = (n: number, seed: number) =>
  renderMouthVideo({
    visemes: [{ viseme: "sil", start: 0, end: 0.3 }, { viseme: "AA", start: 0.3, end: 0.8 }, { viseme: "PBM", start: 0.8, end: 5 }],
    appearance: app,
    params: drawRenderParams(new Rng(seed), app),
    numFrames: n,
    size: 96,
  });
const tone = (n: number) => Float32Array.from({ length: n }, (_, i) => 0.3 * Math.sin(i / 7));

function writeMp4(path: string, video: Float32Array, n: number, opts: { fps?: number; audio?: Float32Array } = {}): void {
  mkdirSync(dirname(path), { recursive: true });
  const raw = Buffer.from(Uint8Array.from(video, (v) => Math.round(v * 255)));
  const args = ["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "96x96", "-r", String(opts.fps ?? 25), "-i", "pipe:0"];
  if (opts.audio) {
    const wav = path.replace(/\.mp4$/, ".tmpaudio.wav");
    writeWav16(wav, opts.audio);
    args.push("-i", wav, "-c:a", "aac");
  }
  args.push("-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", path);
  execFileSync("ffmpeg", args, { input: raw });
  void n;
}

function utt(rel: string, text: string, n: number, opts: { wavSamples?: number; muxAudio?: boolean; fps?: number; noVideo?: boolean } = {}): string {
  const mp4 = join(vdir, `${rel}.mp4`);
  if (!opts.noVideo) writeMp4(mp4, frames(n, n), n, { fps: opts.fps, audio: opts.muxAudio ? tone(n * 640) : undefined });
  if (!opts.muxAudio && !opts.noVideo) writeWav16(join(vdir, `${rel}.wav`), tone(opts.wavSamples ?? n * 640));
  mkdirSync(dirname(join(tdir, `${rel}.txt`)), { recursive: true });
  writeFileSync(join(tdir, `${rel}.txt`), text + "\n");
  return `${ds},${ds}_video_seg24s/${rel}.mp4,${n},12 34 56`;
}

mkdirSync(join(root, "labels"), { recursive: true });
const testRows = [
  utt("test/spkA/00001", "HELLO WORLD", 30),
  utt("test/spkA/00002", "IT'S {LG} FINE", 25, { muxAudio: true }),
  utt("test/spkB/00003", "ROOM 101", 20),
  utt("test/spkB/00004", "TOO LONG AUDIO", 20, { wavSamples: 20 * 640 + 16000 }),
  utt("test/spkC/00005", "THIRTY FRAMES PER SECOND", 30, { fps: 30 }),
];
writeFileSync(join(root, "labels", `${ds}_test_transcript_lengths_seg24s.csv`), testRows.join("\n") + "\n");
writeFileSync(join(root, "labels", `${ds}_val_transcript_lengths_seg24s.csv`), utt("val/spkD/00001", "NO VIDEO HERE", 10, { noVideo: true }) + "\n");

test("a transcript outside [a-z' ] is an error naming the file, or an exclusion that is reported", async () => {
  await assert.rejects(LrsDataset.open({ root, dataset: ds, subset: "test" }), (e: unknown) => e instanceof TranscriptError && e.message.includes("spkB/00003"));
  const d = await LrsDataset.open({ root, dataset: ds, subset: "test", onBadUtterance: "exclude" });
  assert.equal(d.utterances().length, 4);
  assert.equal(d.excluded.length, 1);
  assert.match(d.excluded[0]!.reason, /00003.*outside/);
});

test("mp4 decodes to 25 fps grayscale frames matching the source; wav and mp4 audio both load", async () => {
  const d = await LrsDataset.open({ root, dataset: ds, subset: "test", onBadUtterance: "exclude" });
  assert.equal(d.videoSize, 96);
  const u = d.get("test/spkA/00001");
  assert.equal(u.text, "hello world");
  assert.equal(u.speaker, "spkA");
  assert.equal(u.split, "test");
  const v = await d.loadVideo(u.id);
  assert.equal(v.frames, 30);
  assert.equal(v.height, 96);
  const src = frames(30, 30);
  let err = 0;
  for (let i = 0; i < src.length; i++) err += Math.abs(src[i]! - v.data[i]!);
  assert.ok(err / src.length < 0.01, `mean abs error ${err / src.length}`);
  const small = await d.loadVideo(u.id, { size: 48 });
  assert.equal(small.height, 48);
  assert.equal(small.frames, 30);
  const pair = await loadAvPair(d, u.id);
  assert.equal(pair.audio.length, 30 * 640);
  assert.equal(d.get("test/spkA/00002").text, "it's fine");
  const repairs: string[] = [];
  const muxed = await loadAvPair(d, "test/spkA/00002", { onRepair: (m) => repairs.push(m) });
  assert.equal(muxed.audio.length, muxed.video.frames * 640);
  assert.ok(Math.abs(muxed.video.frames - 25) <= 2);
});

test("audio and video lengths that disagree beyond the tolerance are an error naming the utterance", async () => {
  const d = await LrsDataset.open({ root, dataset: ds, subset: "test", onBadUtterance: "exclude" });
  await assert.rejects(loadAvPair(d, "test/spkB/00004"), (e: unknown) => e instanceof DataError && e.message.includes("test/spkB/00004") && /differ by more than 2 frames/.test(e.message));
});

test("video at another frame rate is resampled to 25 fps and reported", async () => {
  const repairs: string[] = [];
  const d = await LrsDataset.open({ root, dataset: ds, subset: "test", onBadUtterance: "exclude", onRepair: (m) => repairs.push(m) });
  const v = await d.loadVideo("test/spkC/00005");
  assert.ok(Math.abs(v.frames - 25) <= 1, `frames ${v.frames}`);
  assert.ok(repairs.some((m) => m.includes("00005.mp4") && m.includes("30.000 fps resampled to 25 fps")));
});

test("a missing video file is an error naming it", async () => {
  await assert.rejects(LrsDataset.open({ root, dataset: ds, subset: "val" }), (e: unknown) => e instanceof DataError && e.message.includes("spkD/00001.mp4") && /video file missing/.test(e.message));
});
