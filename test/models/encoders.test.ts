import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/util/rng.js";
import { AudioEncoder, CtcHead, VideoEncoder } from "../../src/models/encoders.js";
import { ctcLoss } from "../../src/models/ctc.js";
import { injectLora } from "../../src/models/lora.js";
import { normalValues } from "../../src/models/nn.js";

before(async () => {
  // conv gradients need Conv2DBackpropFilter (cpu/native; the wasm backend lacks it)
  await tf.setBackend("cpu");
});

const TR = { dim: 16, nLayers: 1, nHeads: 2, ffnDim: 32 };

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test("audio encoder: 100 -> 50 frames/s (ceil(T/2)), padding does not leak into real frames", () => {
  const enc = new AudioEncoder({ ...TR, nMels: 8 }, new Rng(1));
  tf.tidy(() => {
    const rng = new Rng(2);
    const x = normalValues(rng, [1, 11, 8], 1) as tf.Tensor3D;
    const alone = enc.apply(x);
    assert.deepEqual(alone.features.shape, [1, 6, 16]);
    assert.deepEqual(alone.lengths, [6]);
    // the same utterance zero-padded to 15 frames in a batch with a longer one
    const padded = tf.concat([x, tf.zeros([1, 4, 8])], 1);
    const other = normalValues(rng, [1, 15, 8], 1);
    const batch = enc.apply(tf.concat([padded, other], 0) as tf.Tensor3D, [11, 15]);
    assert.deepEqual(batch.lengths, [6, 8]);
    assert.ok(maxAbsDiff(tf.slice(batch.features, [0, 0, 0], [1, 6, -1]), alone.features) < 1e-4);
  });
  enc.dispose();
});

test("video encoder: [B, T, H, W] -> [B, T, dim] (25 frames/s kept), padding does not leak into real frames", () => {
  const enc = new VideoEncoder({ ...TR, temporalKernel: 3, channels: [4, 8], blocksPerStage: 1 }, new Rng(3));
  tf.tidy(() => {
    const rng = new Rng(4);
    const x = normalValues(rng, [2, 5, 12, 12], 1) as tf.Tensor4D;
    const out = enc.apply(x);
    assert.deepEqual(out.features.shape, [2, 5, 16]);
    assert.deepEqual(out.lengths, [5, 5]);
    // a clip zero-padded to 8 frames in a batch with a longer one: its real frames do not change
    const clip = tf.slice(x, [0, 0, 0, 0], [1, 5, -1, -1]);
    const alone = enc.apply(clip as tf.Tensor4D);
    const padded = tf.concat([clip, tf.zeros([1, 3, 12, 12])], 1);
    const batch = enc.apply(tf.concat([padded, normalValues(rng, [1, 8, 12, 12], 1)], 0) as tf.Tensor4D, [5, 8]);
    assert.deepEqual(batch.lengths, [5, 8]);
    assert.ok(maxAbsDiff(tf.slice(batch.features, [0, 0, 0], [1, 5, -1]), alone.features) < 1e-4);
  });
  enc.dispose();
});

test("CTC pretraining step on an encoder lowers the loss; freezing and LoRA on the video encoder's Q/V", () => {
  const rng = new Rng(5);
  const enc = new AudioEncoder({ ...TR, nMels: 8 }, rng.fork("enc"));
  const head = new CtcHead(16, 5, rng.fork("head"));
  const x = normalValues(rng, [2, 12, 8], 1) as tf.Tensor3D;
  const labels = [[1, 2, 3], [4, 4]];
  const vars = [...enc.parameters(), ...head.parameters()];
  const opt = tf.train.adam(3e-2);
  const lossOf = () => ctcLoss(head.apply(enc.apply(x).features), labels, [6, 6]) as tf.Scalar;
  const first = tf.tidy(() => lossOf().dataSync()[0]!);
  for (let i = 0; i < 8; i++) tf.dispose(opt.minimize(lossOf, true, vars) ?? []);
  const last = tf.tidy(() => lossOf().dataSync()[0]!);
  assert.ok(last < first * 0.7, `${first} -> ${last}`);
  enc.freeze();
  assert.equal(enc.numParams(true), 0);

  const venc = new VideoEncoder({ ...TR, temporalKernel: 3, channels: [4], blocksPerStage: 1 }, rng.fork("v"));
  venc.freeze();
  const wrapped = injectLora(venc, { r: 2, alpha: 4, targets: ["q_proj", "v_proj"], dropout: 0 }, ["video"], rng.fork("lora"));
  assert.equal(wrapped.size, 2);
  assert.equal(venc.numParams(true), 2 * 2 * (16 + 16));
  tf.tidy(() => {
    const f = normalValues(rng, [1, 3, 8, 8], 1) as tf.Tensor4D;
    const a = venc.apply(f).features;
    const b = venc.apply(f, undefined, { adapters: ["video"] }).features;
    assert.equal(maxAbsDiff(a, b), 0); // LoRA starts from the base model
  });
  tf.dispose([x]);
  opt.dispose();
  enc.dispose();
  head.dispose();
  venc.dispose();
});
