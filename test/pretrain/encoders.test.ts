/**
 * Encoder pretraining: the fast CTC loss and the MaxPoolGrad override against the stock versions, and a
 * smoke-sized pretraining run that is interrupted, resumed, exported and loaded back.
 */
import { test, before } from "node:test";
import { ensureSmokeModels } from "../helpers/smoke-models.js";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { generateCorpus, openCorpus, presetConfig } from "../../src/data/index.js";
import { ctcLoss } from "../../src/models/ctc.js";
import { ctcLossFast } from "../../src/models/ctc-fast.js";
import { installFastMaxPoolGrad } from "../../src/pretrain/encoder-kernels.js";
import { DEFAULT_AUDIO_AUGMENT } from "../../src/audio/augment.js";
import { logMel } from "../../src/audio/features.js";
import { audioInput, ENCODER_FPS, encodeInputs, outputFrames, encoderSpec, loadEncoder, phonemeInventory, pretrainEncoder, subwordFrameTargetsOf, subwordTargetsOf, targetsOf, visemeInventory, editDistance } from "../../src/pretrain/encoders/index.js";
import { loadSafetensorsFile } from "../../src/train/checkpoint.js";
import { BpeTokenizer } from "../../src/text/tokenizer.js";
import type { SyntheticCorpus } from "../../src/data/index.js";
import { Rng } from "../../src/util/rng.js";

const quiet = () => {};


before(() => ensureSmokeModels());

test("ctcLossFast equals ctcLoss in value and gradient", async () => {
  await initBackend();
  const r = new Rng(7);
  const [B, T, C] = [4, 11, 6];
  const x = tf.tensor3d(Array.from({ length: B * T * C }, () => 2 * r.normal()), [B, T, C]);
  const labels = [[1, 2, 2, 3], [5], [4, 1, 4, 2, 1], []];
  const lens = [11, 6, 10, 3];
  const a = ctcLoss(x, labels, lens).dataSync()[0]!;
  const b = ctcLossFast(x, labels, lens).dataSync()[0]!;
  assert.ok(Math.abs(a - b) < 1e-4 * Math.abs(a), `${a} vs ${b}`);
  const ga = tf.grad((z: tf.Tensor) => ctcLoss(z as tf.Tensor3D, labels, lens))(x).dataSync();
  const gb = tf.grad((z: tf.Tensor) => ctcLossFast(z as tf.Tensor3D, labels, lens))(x).dataSync();
  for (let i = 0; i < ga.length; i++) assert.ok(Math.abs(ga[i]! - gb[i]!) < 1e-5, `grad ${i}: ${ga[i]} vs ${gb[i]}`);
});

test("ctcLossFast gives unalignable rows zero loss and gradient", async () => {
  await initBackend();
  const x = tf.randomNormal([2, 3, 4], 0, 1, "float32", 1) as tf.Tensor3D;
  // row 0 needs 1,1 -> at least 3 frames with a blank between: fits; row 1 needs 4 labels in 2 frames: cannot
  const g = tf.grad((z: tf.Tensor) => ctcLossFast(z as tf.Tensor3D, [[1, 1], [1, 2, 3, 1]], [3, 2]))(x).arraySync() as number[][][];
  assert.ok(g[1]!.flat().every((v) => v === 0));
  assert.ok(g[0]!.flat().some((v) => v !== 0));
});

test("fast MaxPoolGrad equals the stock kernel", async () => {
  await initBackend();
  const x = tf.randomNormal([2, 9, 10, 3], 0, 1, "float32", 3) as tf.Tensor4D;
  const w = tf.randomNormal([2, 5, 5, 3], 0, 1, "float32", 4);
  const f = (z: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(z as tf.Tensor4D, 3, 2, "same"), w));
  const stock = tf.grad(f)(x).dataSync();
  assert.ok(installFastMaxPoolGrad());
  const fast = tf.grad(f)(x).dataSync();
  // same positions; sums of overlapping windows may round differently in float32
  assert.equal(fast.length, stock.length);
  for (let i = 0; i < fast.length; i++) assert.ok(Math.abs(fast[i]! - stock[i]!) <= 1e-6 * (1 + Math.abs(stock[i]!)), `${i}: ${fast[i]} vs ${stock[i]}`);
});

test("targets: phonemes for audio, merged visemes (no silence) for video", async () => {
  const ds = await openCorpus("smoke", { generateIfMissing: true });
  const id = ds.utterances("val")[0]!.id;
  const ph = targetsOf(ds, id, phonemeInventory(ds));
  assert.equal(ph.length, ds.alignment(id).phonemes.length);
  const vis = targetsOf(ds, id, visemeInventory());
  assert.ok(vis.length > 0 && vis.every((c, i) => c >= 1 && c <= 15 && (i === 0 || vis[i - 1] !== c)));
  assert.equal(editDistance([1, 2, 3], [1, 3, 4, 5]), 3);
});

test("sub-word targets: the LM's pieces (id + 1); frames share each word's interval by letters", () => {
  const tok = BpeTokenizer.train(["the cat sat", "the cat", "a cat sat on the mat"], { vocabSize: 8 + 27 + 6, alphabet: "abcdefghijklmnopqrstuvwxyz'" });
  const ids = tok.encode("the cat");
  assert.deepEqual(subwordTargetsOf("the cat", tok), ids.map((t) => t + 1));
  // one word "cats" from 0.1 s to 0.5 s; its pieces split the 0.4 s by letter count
  const pieces = tok.encode("cats");
  assert.ok(pieces.length >= 2, `"cats" is several pieces: ${pieces.map((t) => tok.idToToken(t))}`);
  const letters = pieces.map((t) => Math.max(1, tok.idToToken(t).replace("\u2581", "").length));
  const ds = { alignment: () => ({ words: [["cats", 0.1, 0.5]] }) } as unknown as SyntheticCorpus;
  const fps = 50;
  const y = subwordFrameTargetsOf(ds, "x", tok, 30, fps);
  const total = letters.reduce((a, b) => a + b, 0);
  for (let t = 0; t < 30; t++) {
    const c = (t + 0.5) / fps;
    let want = 0;
    let at = 0.1;
    pieces.forEach((p, k) => {
      const end = k === pieces.length - 1 ? 0.5 : at + (0.4 * letters[k]!) / total;
      if (c >= at && c < end) want = p + 1;
      at = end;
    });
    assert.equal(y[t], want, `frame ${t}`);
  }
  assert.equal(y[0], 0); // before the word: silence
  assert.equal(y[29], 0); // after it
});

test("smoke pretraining: interrupted + resumed equals uninterrupted; export loads back", async () => {
  await initBackend();
  const root = mkdtempSync(join(tmpdir(), "omni-enc-"));
  const train = { steps: 6, checkpointEvery: 2, valLimit: 4 };
  const base = { preset: "smoke", modality: "audio" as const, seed: 3, train, log: quiet };
  const a = await pretrainEncoder({ ...base, workDir: join(root, "a"), outDir: join(root, "a-out") });
  await assert.rejects(pretrainEncoder({ ...base, workDir: join(root, "b"), outDir: join(root, "b-out"), stopAfter: 3 }), /stopped after step 3/);
  assert.ok(!existsSync(join(root, "b-out", "metrics.json")));
  const b = await pretrainEncoder({ ...base, workDir: join(root, "b"), outDir: join(root, "b-out") });
  assert.equal(a.skipped, false);
  assert.deepEqual(readFileSync(join(root, "b-out", "encoder.safetensors")), readFileSync(join(root, "a-out", "encoder.safetensors")));
  assert.equal(b.metrics.valErrorRate, a.metrics.valErrorRate);
  // the smoke audio preset has the sub-word objective: its head is scored as a CTC recogniser
  assert.ok(Number.isFinite(a.metrics.valSubwordWer) && a.metrics.valSubwordWer! >= 0, `sub-word WER ${a.metrics.valSubwordWer}`);
  assert.equal(b.metrics.valSubwordWer, a.metrics.valSubwordWer);
  for (const f of ["encoder.safetensors", "config.json", "metrics.json", "provenance.json"]) assert.ok(existsSync(join(root, "a-out", f)), f);
  assert.ok(statSync(join(root, "a-out", "encoder.safetensors")).size < 20 * 2 ** 20);
  const prov = JSON.parse(readFileSync(join(root, "a-out", "provenance.json"), "utf8"));
  assert.equal(prov.seed, 3);
  assert.match(prov.dataHash, /^[0-9a-f]{64}$/);
  // an existing export is not retrained
  const again = await pretrainEncoder({ ...base, workDir: join(root, "a"), outDir: join(root, "a-out") });
  assert.equal(again.skipped, true);
  // the loaded encoder computes features of the right shape, padding-independent
  const enc = loadEncoder("smoke", "audio", join(root, "a-out"));
  const ds = await openCorpus("smoke");
  const [u1, u2] = ds.utterances("val");
  const x1 = audioInput(ds, u1!.id);
  const x2 = audioInput(ds, u2!.id);
  const alone = encodeInputs(enc.model.encoder, enc.spec, [x1])[0]!;
  const batched = encodeInputs(enc.model.encoder, enc.spec, [x1, x2]);
  assert.equal(alone.length, Math.ceil(x1.frames / 2) * enc.dim);
  assert.equal(batched[1]!.length, Math.ceil(x2.frames / 2) * enc.dim);
  let maxDiff = 0;
  for (let i = 0; i < alone.length; i++) maxDiff = Math.max(maxDiff, Math.abs(alone[i]! - batched[0]![i]!));
  assert.ok(maxDiff < 1e-4, `padding changed the features by ${maxDiff}`);
  assert.ok(enc.model.encoder.trainableParameters().length === 0, "loaded encoder is frozen");
  assert.ok(enc.model.subwordHead, "the export keeps its sub-word head");
  // a warm start copies the matching weights: with lr 0 the exported encoder equals its source
  await pretrainEncoder({ ...base, train: { ...train, steps: 1, lr: 0, initFrom: join(root, "a-out") }, workDir: join(root, "c"), outDir: join(root, "c-out") });
  const src = loadSafetensorsFile(join(root, "a-out", "encoder.safetensors")).tensors;
  const warm = loadSafetensorsFile(join(root, "c-out", "encoder.safetensors")).tensors;
  assert.deepEqual([...warm.keys()].sort(), [...src.keys()].sort());
  for (const [k, t] of src) assert.deepEqual(warm.get(k)!.data, t.data, k);
  // a deeper warm start (--layers): the source's blocks and heads are copied, the extra block is new
  await pretrainEncoder({ ...base, layers: 2, train: { ...train, steps: 1, lr: 0, initFrom: join(root, "a-out") }, workDir: join(root, "d"), outDir: join(root, "d-out") });
  const deep = loadSafetensorsFile(join(root, "d-out", "encoder.safetensors")).tensors;
  const extra = [...deep.keys()].filter((k) => !src.has(k));
  assert.ok(extra.length > 0 && extra.every((k) => k.includes(".1.")), `new tensors: ${extra.join(", ")}`);
  for (const [k, t] of src) assert.deepEqual(deep.get(k)!.data, t.data, k);
  assert.equal(loadEncoder("smoke", "audio", join(root, "d-out")).spec.audio!.nLayers, 2);
  assert.throws(() => encoderSpec("smoke", "audio", {}, 0), /positive integer/);
  // speaker augmentation (VTLP + SpecAugment) changes what the run sees, reproducibly, and is audio-only
  const aug = { steps: 2, checkpointEvery: 2, valLimit: 2, augment: DEFAULT_AUDIO_AUGMENT };
  const e1 = await pretrainEncoder({ ...base, train: aug, workDir: join(root, "e1"), outDir: join(root, "e1-out") });
  const e2 = await pretrainEncoder({ ...base, train: aug, workDir: join(root, "e2"), outDir: join(root, "e2-out") });
  const plain = await pretrainEncoder({ ...base, train: { ...aug, augment: undefined }, workDir: join(root, "e3"), outDir: join(root, "e3-out") });
  assert.deepEqual(readFileSync(join(root, "e2-out", "encoder.safetensors")), readFileSync(join(root, "e1-out", "encoder.safetensors")));
  assert.notDeepEqual(readFileSync(join(root, "e3-out", "encoder.safetensors")), readFileSync(join(root, "e1-out", "encoder.safetensors")));
  assert.notEqual(e1.metrics.finalTrainLoss, plain.metrics.finalTrainLoss);
  assert.equal(e2.metrics.finalTrainLoss, e1.metrics.finalTrainLoss);
  await assert.rejects(pretrainEncoder({ ...base, modality: "video", train: aug, workDir: join(root, "e4"), outDir: join(root, "e4-out") }), /audio only/);
  await assert.rejects(pretrainEncoder({ ...base, train: { ...aug, augment: { ...DEFAULT_AUDIO_AUGMENT, vtlp: [1.3, 0.8] } }, workDir: join(root, "e5"), outDir: join(root, "e5-out") }), /augment\.vtlp/);
  // re-rendered faces change what a video run sees, reproducibly, and are video-only
  const vaug = { steps: 2, checkpointEvery: 2, valLimit: 2, videoAugment: { rerender: 1 } };
  const video = { ...base, modality: "video" as const };
  const v1 = await pretrainEncoder({ ...video, train: vaug, workDir: join(root, "v1"), outDir: join(root, "v1-out") });
  const v2 = await pretrainEncoder({ ...video, train: vaug, workDir: join(root, "v2"), outDir: join(root, "v2-out") });
  const vPlain = await pretrainEncoder({ ...video, train: { ...vaug, videoAugment: undefined }, workDir: join(root, "v3"), outDir: join(root, "v3-out") });
  assert.equal(v2.metrics.finalTrainLoss, v1.metrics.finalTrainLoss);
  assert.deepEqual(readFileSync(join(root, "v2-out", "encoder.safetensors")), readFileSync(join(root, "v1-out", "encoder.safetensors")));
  assert.notEqual(vPlain.metrics.finalTrainLoss, v1.metrics.finalTrainLoss);
  await assert.rejects(pretrainEncoder({ ...base, train: vaug, workDir: join(root, "v4"), outDir: join(root, "v4-out") }), /video only/);
  await assert.rejects(pretrainEncoder({ ...video, train: { ...vaug, videoAugment: { rerender: 1.5 } }, workDir: join(root, "v5"), outDir: join(root, "v5-out") }), /rerender must be a probability/);
});

test("a voice bank joins the audio encoder's training: logged, in the provenance, and it changes the run", { timeout: 120_000 }, async () => {
  await initBackend();
  const root = mkdtempSync(join(tmpdir(), "omni-enc-bank-"));
  const bankDir = join(root, "bank");
  await generateCorpus(presetConfig("smoke-voicebank"), { outDir: bankDir, log: quiet });
  const lines: string[] = [];
  const base = { preset: "smoke", modality: "audio" as const, seed: 3, extraCorpusDir: bankDir };
  const train = { steps: 2, checkpointEvery: 2, valLimit: 2 };
  const withBank = await pretrainEncoder({ ...base, train: { ...train, extraTrain: "smoke-voicebank" }, log: (l) => lines.push(l), workDir: join(root, "w1"), outDir: join(root, "o1") });
  const without = await pretrainEncoder({ ...base, train, log: quiet, workDir: join(root, "w2"), outDir: join(root, "o2") });
  assert.ok(lines.some((l) => l.includes(`voice bank smoke-voicebank: 12 utterances join`)), lines.join("\n"));
  const prov = JSON.parse(readFileSync(join(root, "o1", "provenance.json"), "utf8"));
  assert.equal(prov.extraTrain.preset, "smoke-voicebank");
  assert.match(prov.extraTrain.dataHash, /^[0-9a-f]{64}$/);
  assert.equal(JSON.parse(readFileSync(join(root, "o2", "provenance.json"), "utf8")).extraTrain, undefined);
  assert.notEqual(withBank.metrics.finalTrainLoss, without.metrics.finalTrainLoss);
  // validation is the corpus's own, with or without the bank
  assert.equal(withBank.metrics.valUtterances, without.metrics.valUtterances);
  await assert.rejects(pretrainEncoder({ ...base, modality: "video", train: { ...train, extraTrain: "smoke-voicebank" }, log: quiet, workDir: join(root, "w3"), outDir: join(root, "o3") }), /audio encoder only/);
});

test("encoder frame rates: 1 s of audio gives 50 output frames, video runs at the corpus's 25 fps", () => {
  const mel = logMel(new Float32Array(16000).map((_, i) => Math.sin(i / 7)));
  assert.equal(mel.frames, 100);
  assert.equal(outputFrames(encoderSpec("smoke", "audio"), mel.frames), ENCODER_FPS.audio);
  assert.equal(ENCODER_FPS.video, 25);
  assert.equal(outputFrames(encoderSpec("smoke", "video"), 25), ENCODER_FPS.video);
});
