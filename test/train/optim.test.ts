import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import { AdamW, clipByGlobalNorm, cosineLr } from "../../src/train/optim.js";
import { MatryoshkaSampler, METHODS, allRatePairs, loraStrategyOf, methodCost, planStep, DEFAULT_LAMBDAS } from "../../src/train/methods.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

test("AdamW matches a hand computation of PyTorch's update (decoupled decay)", () => {
  const cfg = { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.1 };
  const opt = new AdamW(cfg);
  const p = tf.variable(tf.tensor1d([1.0, -2.0]));
  const gs = [[0.5, -1.0], [0.1, 0.3]];
  const lr = 0.01;
  // reference in float64
  let x = [1.0, -2.0];
  let m = [0, 0];
  let v = [0, 0];
  gs.forEach((g, i) => {
    const t = i + 1;
    x = x.map((xi) => xi * (1 - lr * cfg.weightDecay));
    m = m.map((mi, j) => cfg.beta1 * mi + (1 - cfg.beta1) * g[j]!);
    v = v.map((vi, j) => cfg.beta2 * vi + (1 - cfg.beta2) * g[j]! ** 2);
    const bc1 = 1 - cfg.beta1 ** t;
    const bc2 = 1 - cfg.beta2 ** t;
    x = x.map((xi, j) => xi - (lr / bc1) * (m[j]! / (Math.sqrt(v[j]!) / Math.sqrt(bc2) + cfg.eps)));
    const grad = tf.tensor1d(g);
    opt.step([["p", p]], new Map([["p", grad]]), lr);
    grad.dispose();
  });
  const got = Array.from(p.dataSync());
  got.forEach((gv, j) => assert.ok(Math.abs(gv - x[j]!) < 1e-6, `${gv} vs ${x[j]}`));
  assert.equal(opt.t, 2);
  // a parameter without gradient is left alone (no decay)
  const q = tf.variable(tf.tensor1d([3]));
  opt.step([["q", q]], new Map([["q", null]]), lr);
  assert.equal(q.dataSync()[0], 3);
  opt.dispose();
  p.dispose();
  q.dispose();
});

test("cosine schedule with warmup follows the reference formula", () => {
  const c = { baseLr: 1e-3, warmupSteps: 10, totalSteps: 110 };
  assert.equal(cosineLr(5, c), 0.5e-3);
  assert.equal(cosineLr(10, c), 1e-3);
  assert.ok(Math.abs(cosineLr(60, c) - 0.5e-3) < 1e-12);
  assert.ok(cosineLr(110, c) < 1e-12);
  const noWarm = { baseLr: 1, warmupSteps: 0, totalSteps: 4 };
  assert.ok(Math.abs(cosineLr(1, noWarm) - 0.5 * (1 + Math.cos(Math.PI / 4))) < 1e-12);
});

test("global-norm clipping scales to the max norm and leaves small gradients", () => {
  const g = new Map<string, tf.Tensor | null>([["a", tf.tensor1d([3, 0])], ["b", tf.tensor1d([4])], ["c", null]]);
  const { grads, norm } = clipByGlobalNorm(g, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  const a = Array.from(grads.get("a")!.dataSync());
  assert.ok(Math.abs(a[0]! - 0.6) < 1e-5 && Math.abs(grads.get("b")!.dataSync()[0]! - 0.8) < 1e-5);
  assert.equal(grads.get("c"), null);
  const small = new Map<string, tf.Tensor | null>([["a", tf.tensor1d([0.1])]]);
  const r = clipByGlobalNorm(small, 1);
  assert.equal(r.grads.get("a"), small.get("a"));
  tf.dispose([...grads.values(), ...r.grads.values()].filter((x): x is tf.Tensor => !!x));
});

test("the matryoshka sampler covers every rate and rate pair, reproducibly", () => {
  const s = new MatryoshkaSampler([4, 16], [2, 5], new Rng(1));
  const seen = new Map<string, number>();
  const draws: string[] = [];
  for (let i = 0; i < 400; i++) {
    const r = s.sample();
    const k = `${r.audio}-${r.video}`;
    draws.push(k);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  assert.deepEqual([...seen.keys()].sort(), ["16-2", "16-5", "4-2", "4-5"]);
  for (const n of seen.values()) assert.ok(n > 60 && n < 140, `roughly uniform: ${n}`);
  const s2 = new MatryoshkaSampler([4, 16], [2, 5], new Rng(1));
  assert.deepEqual(Array.from({ length: 400 }, () => { const r = s2.sample(); return `${r.audio}-${r.video}`; }), draws);
  // three rates too
  const s3 = new MatryoshkaSampler([2, 4, 8], [1], new Rng(2));
  assert.deepEqual([...new Set(Array.from({ length: 100 }, () => s3.sample().audio))].sort((a, b) => a - b), [2, 4, 8]);
});

test("step plans per method: passes, weights, divisor", () => {
  const base = { audioRates: [4, 16], videoRates: [2, 5], lambdas: DEFAULT_LAMBDAS };
  const sampler = new MatryoshkaSampler([4, 16], [2, 5], new Rng(3));
  const omni = planStep({ ...base, method: "omni-st" }, sampler);
  assert.deepEqual(omni.passes.map((p) => [p.task, p.weight]), [["asr", 1], ["vsr", 1.5], ["avsr", 1]]);
  assert.equal(omni.divisor, 3);
  assert.ok(omni.passes.every((p) => p.rates === omni.passes[0]!.rates), "one rate pair per step");
  const mtsk = planStep({ ...base, method: "llama-mtsk", task: "avsr" });
  assert.deepEqual(mtsk.passes.map((p) => p.rates), allRatePairs([4, 16], [2, 5]));
  assert.equal(mtsk.divisor, 4);
  assert.equal(planStep({ ...base, method: "llama-mtsk", task: "asr" }).passes.length, 2);
  const mt = planStep({ ...base, audioRates: [16], videoRates: [5], method: "llama-mt" });
  assert.deepEqual(mt.passes.map((p) => p.rates), [{ audio: 16, video: 5 }, { audio: 16, video: 5 }, { audio: 16, video: 5 }]);
  const single = planStep({ ...base, audioRates: [4], videoRates: [2], method: "llama-avsr", task: "vsr" });
  assert.deepEqual(single, { passes: [{ task: "vsr", rates: { audio: 4, video: 2 }, weight: 1 }], divisor: 1 });
  assert.deepEqual(METHODS.map(loraStrategyOf), ["S", "T", "ST", "S", "S", "S"]);
  assert.equal(methodCost({ ...base, method: "llama-avsr" }).models, 8);
  assert.equal(methodCost({ ...base, method: "llama-mt" }).models, 4);
  assert.equal(methodCost({ ...base, method: "omni-t" }).models, 1);
});
