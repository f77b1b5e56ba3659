import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { initAudio } from "../../src/audio/dsp.js";
import { MUSIC_DIR, NoiseBank, TRAIN_SNRS, measureSnr, mixAtSnr, whiteNoise } from "../../src/audio/noise.js";
import { Rng } from "../../src/util/rng.js";

await initAudio();
const rng = new Rng(11);
const speechLike = (n: number, r: Rng) => {
  const f = r.uniform(100, 300);
  return Float32Array.from({ length: n }, (_, i) => (0.2 + 0.2 * Math.sin(i / 900)) * Math.sin((2 * Math.PI * f * i) / 16000) + 0.02 * r.normal());
};
const sources = Array.from({ length: 12 }, (_, k) => speechLike(8000 + 500 * k, rng.fork(k)));
const bank = new NoiseBank({ babbleSources: sources });
const clean = speechLike(24000, rng.fork("clean"));

test("mixAtSnr hits the target SNR within 0.1 dB for babble, white and music", () => {
  const kinds = existsSync(MUSIC_DIR) ? (["babble", "white", "music"] as const) : (["babble", "white"] as const);
  assert.ok(existsSync(MUSIC_DIR), `music noise needs Debian asterisk-moh-opsound-wav in ${MUSIC_DIR}`);
  for (const kind of kinds) {
    for (const snr of [-5, 0, 5, 10, 15, 20]) {
      const mix = bank.mixForEval(clean, "utt-1", kind, snr, 0);
      const measured = measureSnr(clean, mix);
      assert.ok(Math.abs(measured - snr) < 0.1, `${kind} at ${snr} dB measured ${measured}`);
    }
  }
});

test("evaluation mixes are deterministic per (utterance, noise, SNR, seed)", () => {
  const a = bank.mixForEval(clean, "utt-7", "babble", 0, 3);
  const b = bank.mixForEval(clean, "utt-7", "babble", 0, 3);
  assert.deepEqual(a, b);
  const c = bank.mixForEval(clean, "utt-8", "babble", 0, 3);
  const d = bank.mixForEval(clean, "utt-7", "babble", 0, 4);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, d);
});

test("training augmentation draws SNRs from {-5,0,5,10,15,20,clean}", () => {
  const r = new Rng(5);
  const seen = new Set<number | null>();
  for (let i = 0; i < 200; i++) {
    const { audio, snrDb } = bank.augment(clean, r);
    seen.add(snrDb);
    if (snrDb === null) assert.equal(audio, clean);
    else assert.ok(Math.abs(measureSnr(clean, audio) - snrDb) < 0.1);
  }
  assert.deepEqual([...seen].sort(), [...TRAIN_SNRS].sort());
});

test("babble sums 4 to 8 talkers and rejects too few sources", () => {
  const b = bank.babble(16000, new Rng(1));
  assert.equal(b.length, 16000);
  assert.ok(b.some((v) => v !== 0));
  // with constant sources (unit RMS: every sample 1) each babble sample is the number of talkers
  const ones = new NoiseBank({ babbleSources: Array.from({ length: 12 }, (_, i) => new Float32Array(100 + i).fill(1)) });
  const counts = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const x = ones.babble(300, new Rng(seed));
    assert.ok(x.every((v) => Math.abs(v - x[0]!) < 1e-5), "one talker count over the whole signal");
    counts.add(Math.round(x[0]!));
  }
  assert.deepEqual([...counts].sort(), [4, 5, 6, 7, 8]);
  assert.throws(() => new NoiseBank({ babbleSources: sources.slice(0, 3) }), /at least 8/);
  assert.throws(() => mixAtSnr(new Float32Array(10), whiteNoise(10, new Rng(1)), 0), /silent/);
});
