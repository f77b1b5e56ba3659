/**
 * The feature cache: float16 storage, the training-variant SNR assignment, a cache round trip equal to
 * the encoder's output, resumability, and deterministic babble conditions.
 */
import { test, before } from "node:test";
import { ensureSmokeModels } from "../helpers/smoke-models.js";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initBackend } from "../../src/backend/index.js";
import { openCorpus, createNoiseBank } from "../../src/data/index.js";
import { decodeHalf, encodeHalf, toHalf } from "../../src/features/f16.js";
import { FeatureSet, TRAIN_NOISE_LEVELS, buildFeatureCache, conditionName, featureDir, trainVariantSnrs } from "../../src/features/cache.js";
import { audioInput, encodeInputs, encoderOutputFrames, loadEncoder, videoInput } from "../../src/pretrain/encoders/index.js";

const quiet = () => {};


before(() => ensureSmokeModels());

test("float16 round trip", () => {
  const x = new Float32Array([0, -0, 1, -2.5, 65504, 1e-3, 3.14159, 1e-7, 7e4, -7e4, 6.1e-5]);
  const y = decodeHalf(encodeHalf(x));
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Math.abs(v) > 65504) assert.equal(y[i], v > 0 ? Infinity : -Infinity);
    else if (Math.abs(v) >= 6.1e-5) assert.ok(Math.abs(y[i]! - v) <= Math.abs(v) * 2 ** -11, `${v} -> ${y[i]}`);
    else assert.ok(Math.abs(y[i]! - v) <= 2 ** -25, `${v} -> ${y[i]}`);
  }
  assert.equal(toHalf(1), 0x3c00);
  assert.ok(Number.isNaN(decodeHalf(encodeHalf(new Float32Array([NaN])))[0]!));
});

test("training variants: distinct levels per utterance, balanced over utterances", () => {
  const counts = new Map<number, number>();
  for (let i = 0; i < 6000; i++) {
    const s = trainVariantSnrs(`train-${i}`, 2);
    assert.equal(new Set(s).size, 2);
    for (const v of s) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  for (const l of TRAIN_NOISE_LEVELS) assert.ok(Math.abs(counts.get(l)! / 12000 - 1 / 6) < 0.02, `level ${l}: ${counts.get(l)}`);
  assert.equal(conditionName(null), "clean");
  assert.equal(conditionName(-2.5), "babble-2.5");
});

test("cache round trip equals the encoder output; a second build skips; babble is deterministic", async () => {
  await initBackend();
  await openCorpus("smoke", { generateIfMissing: true });
  const a = mkdtempSync(join(tmpdir(), "omni-feat-a-"));
  const b = mkdtempSync(join(tmpdir(), "omni-feat-b-"));
  const opts = { preset: "smoke", splits: ["val" as const, "test" as const], evalSnrs: [0], partSize: 7, log: quiet };
  const s1 = await buildFeatureCache({ ...opts, root: a });
  assert.ok(s1.parts.written > 2 && s1.parts.skipped === 0);
  const s2 = await buildFeatureCache({ ...opts, root: a });
  assert.equal(s2.parts.written, 0);
  assert.equal(s2.parts.skipped, s1.parts.written);

  const audio = loadEncoder("smoke", "audio");
  const video = loadEncoder("smoke", "video");
  const ds = await openCorpus("smoke", { videoSize: video.spec.videoSize });
  const val = ds.utterances("val");
  const aset = FeatureSet.open(join(featureDir("smoke", "audio", audio.hash, a), "val", "clean"));
  const vset = FeatureSet.open(join(featureDir("smoke", "video", video.hash, a), "val", "clean"));
  assert.equal(aset.size, val.length);
  // the frame counts the manifest predicts (pipeline/ctc-coverage.ts reads them instead of the cache)
  for (const u of val) {
    assert.equal(aset.frames(u.id), encoderOutputFrames("audio", u), `audio frames of ${u.id}`);
    assert.equal(vset.frames(u.id), encoderOutputFrames("video", u), `video frames of ${u.id}`);
  }
  for (const u of val.slice(0, 3)) {
    const fa = encodeInputs(audio.model.encoder, audio.spec, [audioInput(ds, u.id)])[0]!;
    const ca = aset.get(u.id);
    assert.equal(ca.data.length, fa.length);
    for (let i = 0; i < fa.length; i++) assert.ok(Math.abs(ca.data[i]! - fa[i]!) <= 2e-3 * (1 + Math.abs(fa[i]!)), `audio ${u.id}[${i}]`);
    const fv = encodeInputs(video.model.encoder, video.spec, [videoInput(ds, u.id, video.spec.videoSize)])[0]!;
    const cv = vset.get(u.id);
    assert.equal(cv.frames, u.videoFrames);
    for (let i = 0; i < fv.length; i++) assert.ok(Math.abs(cv.data[i]! - fv[i]!) <= 2e-3 * (1 + Math.abs(fv[i]!)), `video ${u.id}[${i}]`);
  }

  // babble at 0 dB: the same bytes from an independent build, different from clean, equal to mixForEval
  await buildFeatureCache({ ...opts, splits: ["test"], modalities: ["audio"], root: b });
  const da = join(featureDir("smoke", "audio", audio.hash, a), "test", "babble0");
  const db = join(featureDir("smoke", "audio", audio.hash, b), "test", "babble0");
  for (const f of readdirSync(da).filter((x) => x.endsWith(".f16"))) assert.deepEqual(readFileSync(join(db, f)), readFileSync(join(da, f)));
  const noisy = FeatureSet.open(da);
  const clean = FeatureSet.open(join(featureDir("smoke", "audio", audio.hash, a), "test", "clean"));
  const t0 = ds.utterances("test")[0]!.id;
  assert.notDeepEqual(noisy.get(t0).data, clean.get(t0).data);
  const bank = await createNoiseBank(ds, { seed: 0 });
  const direct = encodeInputs(audio.model.encoder, audio.spec, [audioInput(ds, t0, { noise: bank, snrDb: 0 })])[0]!;
  const cached = noisy.get(t0).data;
  for (let i = 0; i < direct.length; i++) assert.ok(Math.abs(cached[i]! - direct[i]!) <= 2e-3 * (1 + Math.abs(direct[i]!)));
});
