/**
 * Time masking of the LLM's input frames while training (pipeline/time-mask.ts, `--time-mask`): the
 * reference's adaptive mask (a span under 0.4 s per second of input), drawn from the step's generator
 * and applied to the training samples only.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { buildFeatureCache, featureDir, FeatureSet } from "../../src/features/cache.js";
import { resolveRunConfig } from "../../src/pipeline/config.js";
import { encoderRef, openTrainData } from "../../src/pipeline/data.js";
import { maskFrames, masks, timeMaskSpans } from "../../src/pipeline/time-mask.js";
import { openCorpus } from "../../src/data/index.js";
import { Rng } from "../../src/util/rng.js";
import { ensureSmokeModels } from "../helpers/smoke-models.js";

before(async () => {
  await ensureSmokeModels();
  await buildFeatureCache({ preset: "smoke", log: () => {} });
});

test("spans: one draw per second of input, each narrower than 0.4 s and inside the input; a function of the generator", () => {
  // 25 frames/s: window 10 frames, stride 25; 100 frames -> floor((100 + 24.9) / 25) = 4 draws
  let widths = 0;
  let spansSeen = 0;
  for (let seed = 0; seed < 200; seed++) {
    const spans = timeMaskSpans(100, 25, new Rng(seed));
    assert.ok(spans.length <= 4, `${spans.length} spans`);
    for (const [s, e] of spans) {
      assert.ok(s >= 0 && e <= 100 && e - s >= 1 && e - s <= 9, `span [${s}, ${e})`);
      widths += e - s;
      spansSeen++;
    }
    assert.deepEqual(timeMaskSpans(100, 25, new Rng(seed)), spans);
  }
  // a zero width is drawn 1 time in 10 and skipped: ~3.6 spans of mean width 5 per input
  assert.ok(spansSeen > 200 * 3.3 && spansSeen < 200 * 3.9, `${spansSeen} spans in 200 inputs`);
  assert.ok(Math.abs(widths / spansSeen - 5) < 0.5, `mean width ${widths / spansSeen}`);
  // audio at 50 frames/s: window 20, stride 50; 125 frames -> floor((125 + 49.9) / 50) = 3 draws
  for (let seed = 0; seed < 50; seed++) {
    const spans = timeMaskSpans(125, 50, new Rng(seed));
    assert.ok(spans.length <= 3 && spans.every(([s, e]) => e - s <= 19 && e <= 125));
  }
  assert.deepEqual(timeMaskSpans(0, 25, new Rng(1)), []); // floor(24.9 / 25) = 0 draws
  for (let seed = 0; seed < 20; seed++) assert.deepEqual(timeMaskSpans(1, 25, new Rng(seed)), []); // no span fits one frame
  assert.throws(() => timeMaskSpans(-1, 25, new Rng(1)), /frames must be a whole number/);
  assert.throws(() => timeMaskSpans(10, 0, new Rng(1)), /fps > 0/);
});

test("maskFrames zeroes exactly the spans' rows and leaves the input alone", () => {
  const x = tf.tensor2d(Array.from({ length: 12 }, (_, i) => i + 1), [6, 2]);
  const y = maskFrames(x, [[1, 3], [5, 6]]);
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 0, 0, 0, 0, 7, 8, 9, 10, 0, 0]);
  assert.deepEqual(Array.from(x.dataSync()), Array.from({ length: 12 }, (_, i) => i + 1));
  assert.deepEqual(Array.from(maskFrames(x, []).dataSync()), Array.from(x.dataSync()));
  assert.throws(() => maskFrames(x, [[4, 7]]), /span \[4, 7\) outside 6 frames/);
  tf.dispose([x, y]);
  assert.ok(masks("both", "audio") && masks("both", "video") && masks("video", "video"));
  assert.ok(!masks("video", "audio") && !masks(undefined, "video"));
});

test("run config: timeMask shows in the run id and config only when set; a bad value is refused", () => {
  const c = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "vsr", audioRates: [4], videoRates: [2], timeMask: "video" });
  assert.equal(c.runId, "default-llama-avsr-vsr-a4-v2-tiny-tmaskv-s0");
  assert.equal(c.timeMask, "video");
  assert.match(resolveRunConfig({ method: "omni-st", preset: "default", timeMask: "both" }).runId, /-tmaskav-s0$/);
  assert.equal("timeMask" in resolveRunConfig({ method: "omni-st", preset: "default" }), false);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "default", timeMask: "lips" as never }), /timeMask must be one of audio, video, both/);
  assert.throws(() => resolveRunConfig({ method: "llama-avsr", preset: "default", task: "asr", audioRates: [4], videoRates: [2], timeMask: "audio", audioSource: "oracle" }), /not the oracle/);
});

const identity = { encode: (t: string) => [...t].map((ch) => ch.charCodeAt(0)), decode: () => "" };

test("training samples: with timeMask video, spans of the cached video are zeroed and the rest is the cache; audio and unmasked runs untouched", async () => {
  const base = { preset: "smoke", seed: 0, batchSize: 4, trainLimit: 0, noiseAug: false, needAudio: true, needVideo: true };
  const dirOf = (m: "audio" | "video") => join(featureDir("smoke", m, encoderRef("smoke", m).hash), "train", "clean");
  const [audio, video] = [FeatureSet.open(dirOf("audio")), FeatureSet.open(dirOf("video"))];
  const corpus = await openCorpus("smoke");
  const idsOf = new Map<string, string[]>();
  for (const u of corpus.utterances("train")) idsOf.set(u.text, [...(idsOf.get(u.text) ?? []), u.id]);
  const zeroRows = (x: tf.Tensor2D) => {
    const [T, D] = x.shape;
    const v = x.dataSync();
    let n = 0;
    for (let t = 0; t < T; t++) if (v.subarray(t * D, (t + 1) * D).every((a) => a === 0)) n++;
    return n;
  };
  // the sample equals the cache (of one of the utterances speaking its sentence) outside the zeroed rows
  const matchesCache = (set: FeatureSet, ids: string[], x: tf.Tensor2D) => {
    const v = x.dataSync();
    const D = x.shape[1];
    return ids.some((id) => set.frames(id) === x.shape[0] && set.get(id).data.every((a, i) => v[i] === a || v.subarray(Math.floor(i / D) * D, (Math.floor(i / D) + 1) * D).every((b) => b === 0)));
  };
  const count = async (timeMask?: "video") => {
    const data = await openTrainData({ ...base, timeMask }, identity as never);
    let videoZero = 0;
    let audioZero = 0;
    let videoFrames = 0;
    const rng = new Rng(5);
    for (let step = 1; step <= 6; step++) {
      for (const s of data.provider(step, rng)) {
        const ids = idsOf.get(String.fromCharCode(...s.transcript!))!;
        assert.ok(matchesCache(video, ids, s.video as tf.Tensor2D), `video of ${ids.join("/")}`);
        assert.ok(matchesCache(audio, ids, s.audio as tf.Tensor2D), `audio of ${ids.join("/")}`);
        videoZero += zeroRows(s.video as tf.Tensor2D);
        audioZero += zeroRows(s.audio as tf.Tensor2D);
        videoFrames += s.video!.shape[0];
      }
    }
    data.dispose();
    return { videoZero, audioZero, videoFrames };
  };
  const plain = await count();
  assert.equal(plain.videoZero + plain.audioZero, 0);
  const masked = await count("video");
  assert.equal(masked.audioZero, 0);
  // ~3.6 spans of mean width 5 per 25 frames: about 15 % of the frames, less the overlaps
  const frac = masked.videoZero / masked.videoFrames;
  assert.ok(frac > 0.05 && frac < 0.4, `${(100 * frac).toFixed(1)} % of the video frames masked`);
  await assert.rejects(openTrainData({ ...base, needVideo: false, timeMask: "video" }, identity as never), /timeMask video: this run reads no cached video/);
});
