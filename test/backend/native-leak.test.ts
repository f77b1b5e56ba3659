/**
 * No leaks over many training steps of a small reference model (the benchmark checks the full
 * 1,000 steps of the real one): tf.memory().numTensors is identical after every step, and process
 * RSS after GC grows by less than 30 MB between step 50 and step 400.
 * Runs on `native`, or on `cpu` when the addon is absent (the model and optimizer code are shared).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as tf from "@tensorflow/tfjs";
import { createReferenceStep } from "../../scripts/bench/reference-model.js";
import { REQUIRE_NATIVE, nativeAvailability } from "./harness.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function rssAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().rss;
}

const avail = await nativeAvailability();

describe("memory over training steps", () => {
  const backend = avail.ok ? "native" : "cpu";
  it(`${backend}: tensors and RSS stay flat over 400 steps`, async () => {
    assert.ok(avail.ok || !REQUIRE_NATIVE, `OMNI_REQUIRE_NATIVE=1 but the native backend did not load: ${avail.reason}`);
    await tf.setBackend(backend);
    const steps = avail.ok ? 400 : 60;
    const ref = createReferenceStep({ batch: 4, seq: 16, dModel: 32, heads: 4, ff: 64, layers: 2, lr: 1e-3 });
    ref.step();
    const tensors = tf.memory().numTensors;
    let rss50 = 0;
    for (let i = 1; i <= steps; i++) {
      const loss = ref.step();
      assert.ok(Number.isFinite(loss));
      assert.equal(tf.memory().numTensors, tensors, `step ${i}: tensor count changed`);
      if (i === 50) rss50 = rssAfterGc();
    }
    const growth = (rssAfterGc() - rss50) / 2 ** 20;
    ref.dispose();
    if (avail.ok) assert.ok(growth < 30, `RSS grew ${growth.toFixed(1)} MB between step 50 and ${steps}`);
  });
});
