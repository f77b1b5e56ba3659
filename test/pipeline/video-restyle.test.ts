/**
 * Restyled training video (video/augment.ts, features/cache.ts `restyle<k>`, `--video-restyle`): the
 * cached variants are the encoder's output on re-rendered clips, and a run's samples draw their video
 * from the clean clip and the variants.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeHalf } from "../../src/features/f16.js";
import { buildFeatureCache, featureDir, FeatureSet, restyleVariantCount } from "../../src/features/cache.js";
import { resolveRunConfig } from "../../src/pipeline/config.js";
import { encoderRef, openTrainData } from "../../src/pipeline/data.js";
import { checkRunInputs, runInputs } from "../../src/pipeline/inputs.js";
import { openCorpus } from "../../src/data/index.js";
import { encodeInputs, loadEncoder, videoInput } from "../../src/pretrain/encoders/index.js";
import { Rng, hashSeed } from "../../src/util/rng.js";
import { ensureSmokeModels } from "../helpers/smoke-models.js";

before(async () => {
  await ensureSmokeModels();
  await buildFeatureCache({ preset: "smoke", log: () => {} });
  await buildFeatureCache({ preset: "smoke", modalities: ["video"], splits: ["train"], videoRestyleVariants: 2, log: () => {} });
});

const identity = { encode: (t: string) => [...t].map((ch) => ch.charCodeAt(0)), decode: () => "" };

test("run config: videoRestyle shows in the run id and config only when set", () => {
  const c = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "vsr", videoRates: [2], audioRates: [4], videoRestyle: true });
  assert.equal(c.runId, "default-llama-avsr-vsr-a4-v2-tiny-vrestyle-s0");
  assert.equal(c.videoRestyle, true);
  assert.equal("videoRestyle" in resolveRunConfig({ method: "omni-st", preset: "default", videoRestyle: false }), false);
  // a run may name how many renders it draws from (the first K); the id says so
  const k1 = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "vsr", videoRates: [2], audioRates: [4], videoRestyle: true, videoRestyleVariants: 1 });
  assert.equal(k1.runId, "default-llama-avsr-vsr-a4-v2-tiny-vrestyle1-s0");
  assert.equal(k1.videoRestyleVariants, 1);
  assert.equal("videoRestyleVariants" in c, false);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "default", videoRestyleVariants: 2 }), /with videoRestyle only/);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "default", videoRestyle: true, videoRestyleVariants: 0 }), /whole number >= 1/);
});

test("a run's inputs.json counts the restyled renders it draws from, so a resume on another count is refused (evaluation is not)", () => {
  const c = resolveRunConfig({ method: "llama-avsr", preset: "smoke", task: "vsr", videoRates: [2], audioRates: [4], videoRestyle: true });
  assert.equal(runInputs(c).videoRestyleVariants, "2");
  assert.equal("videoRestyleVariants" in runInputs({ ...c, videoRestyle: undefined }), false);
  assert.equal(runInputs({ ...c, videoRestyleVariants: 1 }).videoRestyleVariants, "1");
  const dir = mkdtempSync(join(tmpdir(), "omni-restyle-inputs-"));
  writeFileSync(join(dir, "inputs.json"), JSON.stringify({ ...runInputs(c), videoRestyleVariants: "1" }));
  assert.throws(() => checkRunInputs(dir, runInputs(c)), /videoRestyleVariants: 1 -> 2/);
  checkRunInputs(dir, runInputs(c), "eval"); // evaluating a finished run does not read the training variants
  rmSync(dir, { recursive: true, force: true });
});

test("restyleVariantCount: the count asked for, else every cached render, and never 0 (a cache without renders is refused at training)", () => {
  const hash = loadEncoder("smoke", "video").hash;
  assert.equal(restyleVariantCount("smoke", hash), 2);
  assert.equal(restyleVariantCount("smoke", hash, 1), 1);
  assert.equal(restyleVariantCount("smoke", hash, 5), 5);
  assert.equal(restyleVariantCount("smoke", "no-such-encoder"), 1);
  // a listing the caller already has is counted, not scanned again
  assert.equal(restyleVariantCount("smoke", "no-such-encoder", undefined, ["a", "b", "c"]), 3);
  assert.equal(restyleVariantCount("smoke", hash, undefined, []), 1);
});

test("restyle<k> caches the encoder on re-rendered clips: deterministic per (utterance, k), unlike the clean clip", async () => {
  const enc = loadEncoder("smoke", "video");
  const ds = await openCorpus("smoke", { videoSize: enc.spec.videoSize });
  const dir = (c: string) => join(featureDir("smoke", "video", enc.hash), "train", c);
  const [clean, r0, r1] = ["clean", "restyle0", "restyle1"].map((c) => FeatureSet.open(dir(c)));
  const id = ds.utterances("train")[0]!.id;
  assert.equal(r0!.size, clean!.size);
  assert.equal(r0!.frames(id), clean!.frames(id));
  assert.notDeepEqual(r0!.get(id).data, clean!.get(id).data);
  assert.notDeepEqual(r0!.get(id).data, r1!.get(id).data);
  const direct = encodeInputs(enc.model.encoder, enc.spec, [videoInput(ds, id, enc.spec.videoSize, { config: { rerender: 1 }, rng: new Rng(hashSeed("video-restyle", id, 1)) })])[0]!;
  const cached = r1!.get(id).data;
  assert.equal(cached.length, direct.length);
  for (let i = 0; i < direct.length; i++) assert.ok(Math.abs(cached[i]! - direct[i]!) <= 2e-3 * (1 + Math.abs(direct[i]!)), `restyle1 ${id}[${i}]`);
  enc.model.dispose();
});

test("training samples draw their video from the clean clip and its restyled variants; without the option, always clean", async () => {
  const base = { preset: "smoke", seed: 0, batchSize: 4, trainLimit: 0, noiseAug: false, needAudio: false, needVideo: true };
  const hash = encoderRef("smoke", "video").hash;
  const sets = ["clean", "restyle0", "restyle1"].map((c) => FeatureSet.open(join(featureDir("smoke", "video", hash), "train", c)));
  const corpus = await openCorpus("smoke");
  const idsOf = new Map<string, string[]>(); // a sentence may be spoken in several utterances
  for (const u of corpus.utterances("train")) idsOf.set(u.text, [...(idsOf.get(u.text) ?? []), u.id]);
  const sourcesOf = async (videoRestyle: boolean, videoRestyleVariants?: number) => {
    const data = await openTrainData({ ...base, videoRestyle, videoRestyleVariants }, identity as never);
    const seen = [0, 0, 0];
    const rng = new Rng(3);
    for (let step = 1; step <= 12; step++) {
      for (const s of data.provider(step, rng)) {
        const ids = idsOf.get(String.fromCharCode(...s.transcript!))!;
        const v = s.video!.dataSync();
        const k = sets.findIndex((set) => ids.some((id) => set.frames(id) === s.video!.shape[0] && set.get(id).data.every((x, i) => x === v[i])));
        assert.ok(k >= 0, `the video of ${ids.join("/")} is one of the cached renders`);
        seen[k]!++;
      }
    }
    const variants = data.videoVariants;
    data.dispose();
    return { seen, variants };
  };
  const plain = await sourcesOf(false);
  assert.equal(plain.variants, 0);
  assert.equal(plain.seen[1]! + plain.seen[2]!, 0);
  const restyled = await sourcesOf(true);
  assert.equal(restyled.variants, 2);
  assert.ok(restyled.seen.every((n) => n > 0), `clean / restyle0 / restyle1 drawn ${restyled.seen.join(" / ")} times`);
  // the first K renders only, when the run names K; more than are cached is refused
  const first = await sourcesOf(true, 1);
  assert.equal(first.variants, 1);
  assert.ok(first.seen[0]! > 0 && first.seen[1]! > 0 && first.seen[2] === 0, `clean / restyle0 / restyle1 drawn ${first.seen.join(" / ")} times`);
  await assert.rejects(openTrainData({ ...base, videoRestyle: true, videoRestyleVariants: 3 }, identity as never), /needs 3 cached restyled renders .* found 2: run `npm run features -- --preset smoke --modality video --splits train --video-restyle 3`/);
  await assert.rejects(openTrainData({ ...base, needVideo: false, needAudio: true, videoRestyle: true }, identity as never), /does not use the video/);
  // a half-built variant (one utterance of many) is refused, naming its folder
  const partial = join(featureDir("smoke", "video", hash), "train", "restyle2");
  const one = sets[1]!.ids[0]!;
  const rows = sets[1]!.get(one);
  mkdirSync(partial, { recursive: true });
  try {
    writeFileSync(join(partial, "part-000.f16"), encodeHalf(rows.data));
    writeFileSync(join(partial, "part-000.json"), JSON.stringify({ ids: [one], frames: [rows.frames], offsets: [0], dim: rows.dim, condition: "restyle2", split: "train" }));
    await assert.rejects(openTrainData({ ...base, videoRestyle: true }, identity as never), /restyle2: \d+ of \d+ training utterances are not cached/);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
});
