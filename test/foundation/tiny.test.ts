import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { trainTiny } from "../../src/demo/tiny.js";

test("the tiny demo model really learns, reproducibly, without leaking tensors", async () => {
  await initBackend();
  const before = tf.memory().numTensors;
  const a = await trainTiny({ steps: 150, seed: 3 });
  const after = tf.memory().numTensors;
  const b = await trainTiny({ steps: 150, seed: 3 });
  assert.ok(a.losses.at(-1)!.loss < a.losses[0]!.loss / 5, `${a.losses[0]!.loss} -> ${a.losses.at(-1)!.loss}`);
  assert.deepEqual(a.losses.map((l) => l.loss), b.losses.map((l) => l.loss));
  assert.equal(after, before);
});
