import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import { Linear } from "../../src/models/nn.js";
import { Llm, LlmConfig } from "../../src/models/llm.js";
import {
  LoraConfig,
  LoraLinear,
  activeAdapters,
  adapterNames,
  injectLora,
  llmLoraParamCount,
  loraConfigLikeReference,
  loraParamCount,
  LoraStrategy,
} from "../../src/models/lora.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

const C: LlmConfig = { vocabSize: 17, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 20, maxSeqLen: 32, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };
const CFG: LoraConfig = { r: 3, alpha: 6, targets: ["q_proj", "v_proj"], dropout: 0 };

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test("strategies choose adapter sets without special cases", () => {
  assert.deepEqual(adapterNames("S"), ["shared"]);
  assert.deepEqual(adapterNames("T"), ["asr", "vsr", "avsr"]);
  assert.deepEqual(adapterNames("ST"), ["asr", "vsr", "avsr", "shared"]);
  assert.deepEqual(activeAdapters("S", "vsr"), ["shared"]);
  assert.deepEqual(activeAdapters("T", "vsr"), ["vsr"]);
  assert.deepEqual(activeAdapters("ST", "avsr"), ["avsr", "shared"]);
  const ref = loraConfigLikeReference(2048, 32, 4);
  assert.equal(ref.r, 64);
  assert.equal(ref.alpha / ref.r, 0.125);
});

test("trainable-parameter counts of S, T and ST match their formulas", () => {
  for (const strategy of ["S", "T", "ST"] as LoraStrategy[]) {
    for (const cfg of [CFG, { ...CFG, targets: ["q_proj", "k_proj", "v_proj", "o_proj"] }]) {
      const m = new Llm(C, new Rng(1));
      m.freeze();
      const wrapped = injectLora(m, cfg, adapterNames(strategy), new Rng(2));
      assert.equal(wrapped.size, C.nLayers * cfg.targets.length);
      const expected = llmLoraParamCount(C, cfg, strategy);
      assert.equal(m.numParams(true), expected, `${strategy} ${cfg.targets}`);
      assert.equal(loraParamCount([...wrapped.values()], cfg.r, adapterNames(strategy).length), expected);
      // hand formula for q,v with GQA: nAdapters * L * r * ((d + d) + (d + d/2))
      if (cfg.targets.length === 2) {
        const n = { S: 1, T: 3, ST: 4 }[strategy];
        assert.equal(expected, n * C.nLayers * cfg.r * (C.dim + C.dim + C.dim + C.dim / 2));
      }
      m.dispose();
    }
  }
});

test("LoRA output equals the base output at initialisation (both zero-init sides)", () => {
  for (const zeroInit of ["up", "down"] as const) {
    const m = new Llm(C, new Rng(1));
    const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
    const base = m.forward({ ids }).logits!;
    m.freeze();
    injectLora(m, { ...CFG, zeroInit }, adapterNames("ST"), new Rng(2));
    const lora = m.forward({ ids }, { ctx: { adapters: activeAdapters("ST", "asr") } }).logits!;
    assert.equal(maxAbsDiff(base, lora), 0);
    tf.dispose([ids, base, lora]);
    m.dispose();
  }
});

test("after training, the LoRA output equals the merged weight's output", () => {
  const rng = new Rng(9);
  const base = new Linear(6, 5, { rng, bias: true });
  const w = new LoraLinear(base);
  w.addAdapter("asr", CFG, rng);
  w.addAdapter("shared", CFG, rng);
  const x = tf.randomNormal([4, 6], 0, 1, "float32", 1);
  const target = tf.randomNormal([4, 5], 0, 1, "float32", 2);
  const active = { adapters: ["asr", "shared"] };
  const opt = tf.train.sgd(0.1);
  const vars = w.trainableParameters().map(([, v]) => v);
  assert.equal(vars.length, 4); // base frozen: only A/B of two adapters
  for (let i = 0; i < 20; i++) opt.minimize(() => tf.losses.meanSquaredError(target, w.apply(x, active)) as tf.Scalar, false, vars);
  const trained = w.apply(x, active);
  const baseBefore = base.apply(x);
  assert.ok(maxAbsDiff(trained, baseBefore) > 1e-3, "training moved the output");
  w.merge("asr");
  w.merge("shared");
  const mergedBaseOnly = base.apply(x); // merged weight, no adapters
  assert.ok(maxAbsDiff(trained, mergedBaseOnly) < 1e-5);
  const afterMergeWithAdapters = w.apply(x, active); // adapters now contribute 0
  assert.ok(maxAbsDiff(trained, afterMergeWithAdapters) < 1e-5);
  tf.dispose([x, target, trained, baseBefore, mergedBaseOnly, afterMergeWithAdapters]);
  opt.dispose();
  w.dispose();
});

test("T: a task's pass trains only that task's adapter", () => {
  const m = new Llm(C, new Rng(1));
  m.freeze();
  injectLora(m, CFG, adapterNames("T"), new Rng(2));
  const ids = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
  const named = m.trainableParameters();
  const { grads } = tf.variableGrads(
    () => tf.sum(m.forward({ ids }, { ctx: { adapters: activeAdapters("T", "vsr") } }).logits!) as tf.Scalar,
    named.map(([, v]) => v),
  );
  for (const [name, v] of named) {
    const g = grads[v.name]; // tfjs gives null for variables the loss does not reach
    const norm = g ? tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]!) : 0;
    if (name.includes("lora_vsr.up")) assert.ok(norm > 0, name);
    else if (!name.includes("lora_vsr")) assert.equal(norm, 0, name);
  }
  tf.dispose(Object.values(grads).filter((g) => g));
  ids.dispose();
  m.dispose();
});
