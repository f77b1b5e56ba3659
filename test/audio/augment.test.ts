import { test } from "node:test";
import assert from "node:assert/strict";
import { initAudio } from "../../src/audio/dsp.js";
import { DEFAULT_AUDIO_AUGMENT, augmentedLogMel, drawWarp, specAugment, validateAugment, type AudioAugmentConfig } from "../../src/audio/augment.js";
import { logMel, melFilterbank, vtlpWarp, WHISPER_MEL, type Features } from "../../src/audio/features.js";
import { Rng } from "../../src/util/rng.js";

await initAudio();

const sine = (hz: number, n = 8000) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * hz * i) / 16000));
const peakBin = (f: Features, t: number) => {
  let best = 0;
  for (let m = 1; m < f.bins; m++) if (f.data[t * f.bins + m]! > f.data[t * f.bins + best]!) best = m;
  return best;
};

test("VTLP warp: identity at 1, fixes 0 and Nyquist, linear (×α) below the boundary, monotone, continuous", () => {
  for (const f of [0, 123, 4000, 7999]) assert.equal(vtlpWarp(f, 1, 8000), f);
  for (const a of [0.88, 0.95, 1.05, 1.12]) {
    assert.equal(vtlpWarp(0, a, 8000), 0);
    assert.ok(Math.abs(vtlpWarp(8000, a, 8000) - 8000) < 1e-9);
    // boundary 4800 min(α,1)/α: 1,000 Hz is below it for every α here
    assert.ok(Math.abs(vtlpWarp(1000, a, 8000) - 1000 * a) < 1e-9);
    const b = (4800 * Math.min(a, 1)) / a;
    assert.ok(Math.abs(vtlpWarp(b + 1e-6, a, 8000) - vtlpWarp(b, a, 8000)) < 1e-4, "continuous at the boundary");
    let prev = -1;
    for (let f = 0; f <= 8000; f += 50) {
      const w = vtlpWarp(f, a, 8000);
      assert.ok(w > prev && w <= 8000 + 1e-9, `monotone inside the band at α ${a}, f ${f}`);
      prev = w;
    }
  }
  // hand-worked: α 1.1, boundary 4800/1.1 = 4363.64 Hz; 6000 Hz -> 8000 - (8000 - 4800)/(8000 - 4363.64)·2000 = 6240
  assert.ok(Math.abs(vtlpWarp(6000, 1.1, 8000) - 6240) < 1e-6);
});

test("the unwarped filterbank is unchanged by the warp option; α > 1 moves a tone's energy to higher mel bins", () => {
  assert.deepEqual(melFilterbank({ ...WHISPER_MEL, warp: 1 }), melFilterbank(WHISPER_MEL));
  const x = sine(1500);
  const base = peakBin(logMel(x), 20);
  const up = peakBin(logMel(x, { ...WHISPER_MEL, warp: 1.15 }), 20);
  const down = peakBin(logMel(x, { ...WHISPER_MEL, warp: 0.85 }), 20);
  assert.ok(up > base && base > down, `peak bins ${down} < ${base} < ${up}`);
});

test("SpecAugment masks: the drawn bands hold the utterance mean, everything else is untouched, widths within the limits", () => {
  const frames = 300;
  const bins = 80;
  const data = Float32Array.from({ length: frames * bins }, (_, i) => Math.sin(i * 0.37) + (i % 7) * 0.1);
  const x: Features = { data: data.slice(), frames, bins };
  const mean = data.reduce((a, b) => a + b, 0) / data.length;
  const a: AudioAugmentConfig = { ...DEFAULT_AUDIO_AUGMENT, vtlp: [1, 1] };
  const masks = specAugment(x, a, new Rng(3));
  assert.equal(masks.freq.length, a.freqMasks);
  assert.equal(masks.time.length, a.timeMasks);
  const masked = new Uint8Array(frames * bins);
  for (const [f0, w] of masks.freq) {
    assert.ok(w <= a.freqMaskWidth && f0 + w <= bins);
    for (let t = 0; t < frames; t++) for (let f = f0; f < f0 + w; f++) masked[t * bins + f] = 1;
  }
  for (const [t0, w] of masks.time) {
    assert.ok(w <= Math.min(a.timeMaskWidth, 0.1 * frames) && t0 + w <= frames);
    masked.fill(1, t0 * bins, (t0 + w) * bins);
  }
  for (let i = 0; i < data.length; i++) {
    if (masked[i]) assert.ok(Math.abs(x.data[i]! - mean) < 1e-5);
    else assert.equal(x.data[i], data[i]);
  }
  // the same seed draws the same masks
  assert.deepEqual(specAugment({ data: data.slice(), frames, bins }, a, new Rng(3)), masks);
});

test("augmented log-mel keeps the frame count, is a pure function of the seed, and differs from the clean features", () => {
  const x = sine(700, 12000);
  const clean = logMel(x);
  const a = augmentedLogMel(x, DEFAULT_AUDIO_AUGMENT, new Rng(11));
  const b = augmentedLogMel(x, DEFAULT_AUDIO_AUGMENT, new Rng(11));
  assert.equal(a.frames, clean.frames);
  assert.equal(a.bins, clean.bins);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, clean.data);
  // warps are drawn inside the range and rounded to 0.01
  const rng = new Rng(5);
  for (let i = 0; i < 200; i++) {
    const w = drawWarp(DEFAULT_AUDIO_AUGMENT, rng);
    assert.ok(w >= 0.88 && w <= 1.12 && Math.abs(w * 100 - Math.round(w * 100)) < 1e-9);
  }
});

test("bad augmentation configs are refused with the field named", () => {
  assert.throws(() => validateAugment({ ...DEFAULT_AUDIO_AUGMENT, vtlp: [1.2, 0.9] }), /augment\.vtlp/);
  assert.throws(() => validateAugment({ ...DEFAULT_AUDIO_AUGMENT, freqMasks: 1.5 }), /augment\.freqMasks/);
  assert.throws(() => validateAugment({ ...DEFAULT_AUDIO_AUGMENT, timeMaskFraction: 2 }), /augment\.timeMaskFraction/);
  validateAugment(DEFAULT_AUDIO_AUGMENT);
});
