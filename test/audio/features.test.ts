import { test } from "node:test";
import assert from "node:assert/strict";
import { initAudio, RealFft } from "../../src/audio/dsp.js";
import { hannWindow, hzToMel, logMel, melFilterbank, melToHz, WHISPER_MEL } from "../../src/audio/features.js";
import { Rng } from "../../src/util/rng.js";

await initAudio();

test("Slaney mel scale matches hand-computed values", () => {
  assert.ok(Math.abs(hzToMel(1000) - 15) < 1e-12);
  assert.ok(Math.abs(hzToMel(500) - 7.5) < 1e-12);
  // 15 + 27 ln(8) / ln(6.4) = 45.245640...
  assert.ok(Math.abs(hzToMel(8000) - 45.24564) < 1e-4);
  assert.ok(Math.abs(melToHz(hzToMel(3210)) - 3210) < 1e-9);
});

test("first mel filter matches a hand computation (and Whisper's mel_80 value 0.02486)", () => {
  const fb = melFilterbank(WHISPER_MEL);
  assert.equal(fb.length, 80);
  assert.equal(fb[0]!.length, 201);
  // points: 0, 37.2392, 74.4784 Hz; bin 1 = 40 Hz -> (74.4784-40)/37.2392 * 2/74.4784
  assert.equal(fb[0]![0], 0);
  assert.ok(Math.abs(fb[0]![1]! - 0.024862) < 2e-6, `got ${fb[0]![1]}`);
  assert.equal(fb[0]![2], 0);
});

test("power spectrum of a Hann-windowed sine at a bin centre is (A N / 4)^2, neighbours (A N / 8)^2", () => {
  const n = 400;
  const w = hannWindow(n);
  const frame = new Float32Array(n);
  for (let i = 0; i < n; i++) frame[i] = 0.5 * Math.cos((2 * Math.PI * 25 * i) / n) * w[i]!;
  const p = new Float32Array(201);
  new RealFft(n).power(frame, p);
  assert.ok(Math.abs(p[25]! - 2500) < 1e-2, `bin 25: ${p[25]}`);
  assert.ok(Math.abs(p[24]! - 625) < 1e-2 && Math.abs(p[26]! - 625) < 1e-2);
  assert.ok(p[30]! < 1e-6);
});

/** Independent slow reference: float64 direct DFT, reflect padding, same filterbank definition. */
function referenceLogMel(x: Float32Array): number[][] {
  const n = 400, hop = 160, pad = 200;
  const fb = melFilterbank(WHISPER_MEL);
  const frames = Math.floor(x.length / hop);
  const win = Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  const out: number[][] = [];
  for (let t = 0; t < frames; t++) {
    const seg: number[] = [];
    for (let i = 0; i < n; i++) {
      let j = t * hop - pad + i;
      if (j < 0) j = -j;
      if (j >= x.length) j = 2 * (x.length - 1) - j;
      seg.push(x[j]! * win[i]!);
    }
    const pw: number[] = [];
    for (let k = 0; k <= n / 2; k++) {
      let re = 0, im = 0;
      for (let i = 0; i < n; i++) {
        re += seg[i]! * Math.cos((2 * Math.PI * k * i) / n);
        im -= seg[i]! * Math.sin((2 * Math.PI * k * i) / n);
      }
      pw.push(re * re + im * im);
    }
    out.push(fb.map((row) => Math.log10(Math.max(1e-10, row.reduce((s, v, k) => s + v * pw[k]!, 0)))));
  }
  const max = Math.max(...out.flat());
  return out.map((r) => r.map((v) => (Math.max(v, max - 8) + 4) / 4));
}

test("logMel equals a direct-DFT reference and has floor(n/160) frames", () => {
  const rng = new Rng(3);
  const x = new Float32Array(16000 * 0.25 + 37);
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin(i * 0.05) + 0.05 * rng.normal();
  const f = logMel(x);
  assert.equal(f.bins, 80);
  assert.equal(f.frames, Math.floor(x.length / 160));
  const ref = referenceLogMel(x);
  let maxErr = 0;
  for (let t = 0; t < f.frames; t++) for (let m = 0; m < 80; m++) maxErr = Math.max(maxErr, Math.abs(f.data[t * 80 + m]! - ref[t]![m]!));
  assert.ok(maxErr < 2e-4, `max abs error ${maxErr}`);
});

test("logMel rejects audio shorter than the padding", () => {
  assert.throws(() => logMel(new Float32Array(100)), /shorter than the reflect padding/);
});
