import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeWaveFromFloat32Channels } from "@echogarden/wave-codec";
import { initAudio, resample } from "../../src/audio/dsp.js";
import { AudioFileError, encodeWav16, readWav, writeWav16 } from "../../src/audio/wav.js";

await initAudio();
const dir = mkdtempSync(join(tmpdir(), "omni-wav-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sine = (n: number, rate: number, hz = 440) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / rate));

test("16-bit round trip is exact to one LSB", () => {
  const x = sine(1600, 16000);
  const p = join(dir, "ok.wav");
  writeWav16(p, x);
  const r = readWav(p);
  assert.equal(r.sampleRate, 16000);
  assert.deepEqual(r.repairs, []);
  assert.equal(r.samples.length, x.length);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(r.samples[i]! - x[i]!) <= 1 / 32767);
});

test("truncated WAV is an error naming the file", () => {
  const bytes = encodeWav16(sine(1600, 16000));
  const p = join(dir, "truncated.wav");
  writeFileSync(p, bytes.subarray(0, bytes.length - 500));
  assert.throws(() => readWav(p), (e: unknown) => e instanceof AudioFileError && e.message.includes(p) && /truncated|corrupt/.test(e.message));
});

test("garbage and missing files are errors naming the file", () => {
  const p = join(dir, "garbage.wav");
  writeFileSync(p, Buffer.from("this is not a wave file at all, not even close"));
  assert.throws(() => readWav(p), (e: unknown) => e instanceof AudioFileError && e.message.includes(p));
  const q = join(dir, "absent.wav");
  assert.throws(() => readWav(q), (e: unknown) => e instanceof AudioFileError && e.message.includes(q) && /ENOENT/.test(e.message));
});

test("wrong sample rate is resampled and the repair names the file; or an error when asked", () => {
  const p = join(dir, "r44.wav");
  writeFileSync(p, encodeWaveFromFloat32Channels([sine(44100, 44100, 300)], 44100, 16));
  const messages: string[] = [];
  const r = readWav(p, { onRepair: (m) => messages.push(m) });
  assert.equal(r.samples.length, 16000);
  assert.equal(messages.length, 1);
  assert.match(messages[0]!, /r44\.wav: resampled 44100 Hz -> 16000 Hz/);
  const ref = sine(16000, 16000, 300);
  let err = 0;
  for (let i = 100; i < 15900; i++) err = Math.max(err, Math.abs(r.samples[i]! - ref[i]!));
  assert.ok(err < 1e-3, `resampling error ${err}`);
  assert.throws(() => readWav(p, { onWrongRate: "error" }), /r44\.wav: sample rate 44100 Hz, expected 16000 Hz/);
});

test("stereo is downmixed (reported) or rejected when asked", () => {
  const l = sine(800, 16000);
  const r = new Float32Array(800).fill(0.25);
  const p = join(dir, "stereo.wav");
  writeFileSync(p, encodeWaveFromFloat32Channels([l, r], 16000, 16));
  const messages: string[] = [];
  const out = readWav(p, { onRepair: (m) => messages.push(m) });
  assert.match(messages[0]!, /stereo\.wav: downmixed 2 channels to mono/);
  assert.ok(Math.abs(out.samples[10]! - (l[10]! + 0.25) / 2) < 1e-4);
  assert.throws(() => readWav(p, { onMultiChannel: "error" }), /stereo\.wav: 2 channels, expected mono/);
});

test("resample keeps length ratio exactly and adds no delay", () => {
  const x = sine(22050, 22050, 200);
  const y = resample(x, 22050, 16000);
  assert.equal(y.length, 16000);
  const ref = sine(16000, 16000, 200);
  let err = 0;
  for (let i = 200; i < 15800; i++) err = Math.max(err, Math.abs(y[i]! - ref[i]!));
  assert.ok(err < 1e-4, `error ${err}`);
  assert.ok(readFileSync(join(dir, "ok.wav")).length > 44);
});
