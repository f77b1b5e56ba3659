import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, describeBackend, BACKEND_ORDER } from "../../src/backend/index.js";

test("initBackend picks a working backend in the documented order and says why", async () => {
  const warnings: string[] = [];
  const choice = await initBackend({ prefer: "auto", warn: (l) => warnings.push(l) });
  assert.ok(BACKEND_ORDER.includes(choice.name));
  assert.equal(tf.getBackend(), choice.name);
  // Everything before the chosen backend was tried and failed with a reason.
  const idx = BACKEND_ORDER.indexOf(choice.name);
  assert.deepEqual(choice.attempts.map((a) => a.name), BACKEND_ORDER.slice(0, idx + 1));
  for (const a of choice.attempts.slice(0, -1)) assert.ok(!a.ok && a.reason.length > 0);
  assert.match(describeBackend(choice), new RegExp(`^backend: ${choice.name} \\(`));
  const y = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
  assert.deepEqual(Array.from(await y.data()), [4, 6]);
  y.dispose();
});

test("a forced backend is used; an unavailable forced backend falls back with a one-line warning", async () => {
  const cpu = await initBackend({ prefer: "cpu" });
  assert.equal(cpu.name, "cpu");
  assert.match(cpu.reason, /^forced by option/);
  const warnings: string[] = [];
  // tfjs-node is not installable offline here, so forcing it must fall back (and name why).
  const fb = await initBackend({ prefer: "tensorflow", warn: (l) => warnings.push(l) });
  if (fb.name !== "tensorflow") {
    assert.match(fb.reason, /^fallback from tensorflow/);
    assert.equal(warnings.length, 1, warnings.join(" | "));
    assert.match(warnings[0]!, /^\[backend\] tensorflow unavailable, falling back: /);
    assert.ok(!warnings[0]!.includes("\n"));
  } else {
    // a machine with @tensorflow/tfjs-node(-gpu) installed: used as forced, with nothing to warn about
    assert.match(fb.reason, /^forced by option/);
    assert.deepEqual(warnings, []);
  }
});

test("OMNI_BACKEND with an unknown name is a clear error", async () => {
  const old = process.env.OMNI_BACKEND;
  process.env.OMNI_BACKEND = "cuda";
  try {
    await assert.rejects(initBackend(), /OMNI_BACKEND=cuda: unknown backend; use one of auto, tensorflow, native, wasm, cpu/);
  } finally {
    if (old === undefined) delete process.env.OMNI_BACKEND;
    else process.env.OMNI_BACKEND = old;
  }
});
