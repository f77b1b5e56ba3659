import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import { compress, compressedLength } from "../../src/models/compression.js";
import { Projector, ProjectorBank } from "../../src/models/projector.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

test("pooling by rate r shortens length to ceil(T/r) (partial tail) or floor(T/r) (drop)", () => {
  for (const T of [1, 3, 4, 5, 16, 17, 50]) {
    for (const r of [1, 2, 4, 5, 16]) {
      const x = tf.ones([T, 3]);
      const p = compress(x, r);
      assert.deepEqual(p.shape, [Math.ceil(T / r), 3], `T=${T} r=${r}`);
      assert.equal(compressedLength(T, r), Math.ceil(T / r));
      const d = compress(x, r, { tail: "drop" });
      assert.deepEqual(d.shape, [Math.floor(T / r), 3]);
      const s = compress(x, r, { mode: "stack" });
      assert.deepEqual(s.shape, [Math.ceil(T / r), 3 * r]);
      tf.dispose([x, p, d, s]);
    }
  }
});

test("average pooling values, including the partial last window", () => {
  tf.tidy(() => {
    // T = 5, D = 2, rate 2: windows [0,1], [2,3], [4]
    const x = tf.tensor2d([[1, 10], [3, 20], [5, 30], [7, 40], [9, 50]]);
    assert.deepEqual(Array.from(compress(x, 2).dataSync()), [2, 15, 6, 35, 9, 50]);
    assert.deepEqual(Array.from(compress(x, 2, { tail: "drop" }).dataSync()), [2, 15, 6, 35]);
    // stack: concatenation, zero-padded tail
    assert.deepEqual(Array.from(compress(x, 2, { mode: "stack" }).dataSync()), [1, 10, 3, 20, 5, 30, 7, 40, 9, 50, 0, 0]);
    // batched input equals per-utterance input
    const xb = tf.stack([x, tf.mul(x, 2)]);
    const yb = compress(xb, 4);
    assert.deepEqual(yb.shape, [2, 2, 2]);
    assert.deepEqual(Array.from(tf.slice(yb, [1, 0, 0], [1, -1, -1]).dataSync()), Array.from(tf.mul(compress(x, 4), 2).dataSync()));
  });
});

test("projector bank has one 2-layer MLP per modality and rate with the right widths", () => {
  const bank = new ProjectorBank({ audioDim: 8, videoDim: 6, audioRates: [4, 16], videoRates: [2, 5], hiddenDim: 12, llmDim: 10, mode: "avg-pooling" }, new Rng(1));
  assert.deepEqual([...bank.items.keys()], ["audio_r4", "audio_r16", "video_r2", "video_r5"]);
  assert.equal(bank.numParams(), 2 * (8 * 12 + 12 + 12 * 10 + 10) + 2 * (6 * 12 + 12 + 12 * 10 + 10));
  const stack = new ProjectorBank({ audioDim: 8, videoDim: 6, audioRates: [4], videoRates: [2], hiddenDim: 12, llmDim: 10, mode: "stack" }, new Rng(1));
  assert.equal(stack.of("audio", 4).inDim, 32);
  assert.equal(stack.of("video", 2).inDim, 12);
  tf.tidy(() => {
    const p: Projector = bank.of("video", 5);
    const y = p.apply(tf.ones([7, 6]));
    assert.deepEqual(y.shape, [7, 10]);
    // ReLU between the layers: equals the hand composition
    const h = tf.relu(tf.add(tf.matMul(tf.ones([7, 6]), p.fc1.weight), p.fc1.bias!));
    const ref = tf.add(tf.matMul(h, p.fc2.weight), p.fc2.bias!);
    assert.ok(tf.max(tf.abs(tf.sub(y, ref))).dataSync()[0]! < 1e-5);
  });
  bank.dispose();
  stack.dispose();
});
