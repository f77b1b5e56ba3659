/**
 * The run config's `compression` (models/compression.ts modes): "stack" reaches the model (projector
 * widths r·D, token counts ceil(T/r)) and the run id; "avg-pooling", the presets' and the paper's,
 * leaves committed run ids and config.json as they were.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { resolveRunConfig } from "../../src/pipeline/config.js";
import { buildModel } from "../../src/pipeline/model.js";
import { ensureSmokeModels } from "../helpers/smoke-models.js";

before(async () => {
  await ensureSmokeModels();
});

test("run config: compression stack shows in the run id and config; avg-pooling leaves both as before; bad values are refused", () => {
  const plain = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "asr", audioRates: [4], videoRates: [2], compression: "avg-pooling" });
  assert.equal(plain.runId, "default-llama-avsr-asr-a4-v2-tiny-s0");
  assert.ok(!("compression" in plain), "committed runs' config.json stay valid");
  const c = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "asr", audioRates: [4], videoRates: [2], compression: "stack", audioInput: "ctc-embed", ctcWeight: 0.5, splice: 16 });
  assert.equal(c.compression, "stack");
  assert.equal(c.runId, "default-llama-avsr-asr-a4-v2-tiny-stack-ctc0.5-ctcemb-splice16-s0");
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "smoke", compression: "max-pooling" as never }), /compression must be avg-pooling or stack, got "max-pooling"/);
});

test("compression stack: projectors read r·D wide windows and a sample gives ceil(T/r) tokens per modality", async () => {
  const avg = await buildModel(resolveRunConfig({ method: "omni-st", preset: "smoke" }));
  const st = await buildModel(resolveRunConfig({ method: "omni-st", preset: "smoke", compression: "stack" }));
  const { audioDim, videoDim } = avg.model.cfg;
  assert.equal(st.model.cfg.compression, "stack");
  for (const r of st.model.cfg.audioRates) {
    assert.equal(st.model.projectors.of("audio", r).inDim, r * audioDim);
    assert.equal(avg.model.projectors.of("audio", r).inDim, audioDim);
  }
  for (const r of st.model.cfg.videoRates) assert.equal(st.model.projectors.of("video", r).inDim, r * videoDim);
  const sample = { audio: tf.randomNormal([23, audioDim]) as tf.Tensor2D, video: tf.randomNormal([12, videoDim]) as tf.Tensor2D };
  const spans = st.model.modalitySpans([sample], "avsr", { audio: 4, video: 5 });
  assert.deepEqual(spans.audio![0]!.shape, [6, st.model.cfg.llm.dim]);
  assert.deepEqual(spans.video![0]!.shape, [3, st.model.cfg.llm.dim]);
  tf.dispose([sample.audio, sample.video, spans.audio!, spans.video!, ...Object.values(spans.packed ?? {})]);
  avg.model.dispose();
  st.model.dispose();
});
