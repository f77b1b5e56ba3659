/**
 * The auxiliary CTC head of a run (ctcWeight > 0) as used for joint decoding and probe:aux-ctc:
 * its per-sample log-probabilities, the scorers built on them, and a run without the head.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { resolveRunConfig } from "../../src/pipeline/config.js";
import { AvsrTrainModel, buildModel } from "../../src/pipeline/model.js";
import { ctcLoss } from "../../src/models/ctc.js";
import { MeanPrefixScorer } from "../../src/eval/ctc-prefix.js";
import { PAD_ID } from "../../src/text/tokenizer.js";
import { ensureSmokeModels } from "../helpers/smoke-models.js";

before(async () => {
  await ensureSmokeModels();
});

test("auxiliary CTC head: normalised [ceil(T/r), V] log-probabilities per sample; its scorers agree with the CTC loss; AVSR averages both heads", async () => {
  const built = await buildModel(resolveRunConfig({ method: "omni-st", preset: "smoke", ctcWeight: 0.5 }));
  const m = built.model as AvsrTrainModel;
  const { audioDim, videoDim } = m.cfg;
  const V = m.cfg.llm.vocabSize;
  const samples = [13, 30].map((T) => ({ audio: tf.randomNormal([T, audioDim], 0, 1, "float32", T) as tf.Tensor2D, video: tf.randomNormal([Math.ceil(T / 2), videoDim], 0, 1, "float32", T + 1) as tf.Tensor2D }));
  const lps = m.ctcLogProbs(samples, "audio", 4);
  assert.deepEqual(lps.map((x) => x.shape), [[4, V], [8, V]]);
  for (const lp of lps) for (const s of tf.tidy(() => tf.sum(tf.exp(lp), 1)).arraySync() as number[]) assert.ok(Math.abs(s - 1) < 1e-4);
  const labels = [5, 9, 9];
  const sc = m.ctcScorers(samples, "asr", { audio: 4, video: 2 });
  let st = sc[1]!.initial();
  for (const c of labels) st = sc[1]!.extend(st, c);
  const nll = ctcLoss(tf.expandDims(lps[1]!, 0) as tf.Tensor3D, [labels], [8], PAD_ID, "none").dataSync()[0]!;
  assert.ok(Math.abs(-sc[1]!.final(st) - nll) < 1e-3, `${-sc[1]!.final(st)} vs ${nll}`);
  const av = m.ctcScorers(samples, "avsr", { audio: 4, video: 2 });
  assert.ok(av.every((s) => s instanceof MeanPrefixScorer), "AVSR: the audio and video heads together");
  assert.equal(m.ctcScorers(samples, "vsr", { audio: 4, video: 2 }).length, 2);
  tf.dispose([...lps, ...samples.flatMap((s) => [s.audio, s.video])]);
  m.dispose();

  const plain = await buildModel(resolveRunConfig({ method: "omni-st", preset: "smoke" }));
  assert.throws(() => (plain.model as AvsrTrainModel).ctcLogProbs([], "audio", 4), /only in runs trained with the auxiliary CTC loss/);
  assert.throws(() => (plain.model as AvsrTrainModel).ctcScorers([], "asr", { audio: 4, video: 2 }), /needs a run trained with the auxiliary CTC loss/);
  plain.model.dispose();
});
