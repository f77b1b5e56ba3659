import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { accuracyByPosition, emptyPositionAccuracy, teacherForcedAccuracy } from "../../src/eval/position-accuracy.js";
import { IGNORE } from "../../src/models/llm.js";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import { AvsrModel, DEFAULT_PROMPTS } from "../../src/models/avsr.js";
import { BpeTokenizer } from "../../src/text/tokenizer.js";
import { transcribe } from "../../src/eval/decode.js";

const X = IGNORE;

test("accuracyByPosition counts each row's transcript tokens by their order, skipping prefix and padding", () => {
  // two rows of length 6: row 0 = prefix, prefix, t1, t2, t3, EOS; row 1 = prefix, t1, t2, pad, pad, pad
  const targets = [X, X, 5, 6, 7, 2, X, 9, 9, X, X, X];
  const pred = [0, 0, 5, 1, 7, 2, 9, 9, 4, 9, 9, 9];
  const acc = accuracyByPosition(pred, targets, 2, 6, emptyPositionAccuracy(3));
  // position 1: row 0 right (5), row 1 right (9); position 2: row 0 wrong (1 vs 6), row 1 wrong (4 vs 9);
  // positions 3+ pooled: row 0's 7 and EOS both right; predictions under IGNORE never count
  assert.deepEqual(acc.counts, [2, 2, 2]);
  assert.deepEqual(acc.hits, [2, 0, 2]);
  // accumulates across batches
  accuracyByPosition([5], [5], 1, 1, acc);
  assert.deepEqual(acc.counts, [3, 2, 2]);
  assert.deepEqual(acc.hits, [3, 0, 2]);
  assert.throws(() => accuracyByPosition([1, 2], [1, 2, 3], 1, 3, acc), /expected 1x3 predictions and targets, got 2 and 3/);
});

test("teacher forcing on the model's own greedy transcript is right at every position (decode and training paths agree)", async () => {
  await initBackend({ warn: () => {} });
  const tok = BpeTokenizer.train(["transcribe speech and video to text", "the cat sat on the mat"], { vocabSize: 120 });
  const llm = { vocabSize: tok.size, dim: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 24, maxSeqLen: 128, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };
  const m = new AvsrModel(
    { llm, audioDim: 6, videoDim: 5, audioRates: [4], videoRates: [2], compression: "avg-pooling", tail: "partial", projectorHidden: 12, lora: { r: 2, alpha: 4, targets: ["q_proj", "v_proj"], dropout: 0 }, strategy: "ST", prompts: DEFAULT_PROMPTS },
    tok,
    new Rng(9),
  );
  const rates = { audio: 4, video: 2 };
  const maxNew = 6;
  let checked = 0;
  for (let i = 0; i < 4; i++) {
    const s = { audio: tf.randomNormal([24 + 8 * i, 6], 0, 1, "float32", 40 + i) as tf.Tensor2D, video: tf.randomNormal([12 + 4 * i, 5], 0, 1, "float32", 50 + i) as tf.Tensor2D };
    for (const task of ["asr", "avsr"] as const) {
      const greedy = transcribe(m, [s], task, rates, { maxNewTokens: maxNew })[0]!;
      if (greedy.length === 0) continue;
      const acc = teacherForcedAccuracy(m, [{ ...s, transcript: greedy }], task, rates, emptyPositionAccuracy(maxNew + 2));
      const stoppedByEos = greedy.length < maxNew;
      assert.deepEqual(acc.counts.slice(0, greedy.length + 1), new Array(greedy.length + 1).fill(1), "each transcript token and EOS counted once");
      assert.deepEqual(acc.hits.slice(0, greedy.length), new Array(greedy.length).fill(1), `${task} sample ${i}: greedy ${greedy}`);
      if (stoppedByEos) assert.equal(acc.hits[greedy.length], 1, "EOS predicted where greedy stopped");
      // change one token: the prediction at that position is now wrong (and later ones see another history)
      const wrong = [...greedy];
      wrong[0] = greedy[0] === 10 ? 11 : 10;
      const off = teacherForcedAccuracy(m, [{ ...s, transcript: wrong }], task, rates, emptyPositionAccuracy(maxNew + 2));
      assert.equal(off.hits[0], 0);
      checked++;
    }
    tf.dispose([s.audio, s.video]);
  }
  assert.ok(checked >= 4, `only ${checked} non-empty greedy transcripts`);
  m.dispose();
});
