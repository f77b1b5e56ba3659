import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import {
  LLM_SIZES,
  Llm,
  LlmConfig,
  disposeCache,
  emptyCache,
  llmConfig,
  llmParamCount,
  lmLoss,
  maskedCrossEntropy,
  IGNORE,
} from "../../src/models/llm.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

const TINY: LlmConfig = {
  vocabSize: 23,
  dim: 16,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  ffnDim: 24,
  maxSeqLen: 64,
  ropeTheta: 10000,
  normEps: 1e-5,
  tieEmbeddings: true,
};

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test("parameter count matches the closed form, for every size and for untied/GQA variants", () => {
  for (const c of [TINY, { ...TINY, tieEmbeddings: false, nKvHeads: 4 }]) {
    const m = new Llm(c);
    assert.equal(m.numParams(), llmParamCount(c));
    m.dispose();
  }
  const counts: number[] = [];
  for (const size of Object.keys(LLM_SIZES) as Array<keyof typeof LLM_SIZES>) {
    const c = llmConfig(size, 1024);
    const m = new Llm(c);
    assert.equal(m.numParams(), llmParamCount(c), size);
    counts.push(m.numParams());
    m.dispose();
  }
  // the three sizes span about 10x
  const ratio = counts[2]! / counts[0]!;
  assert.ok(ratio > 8 && ratio < 16, `base/tiny ratio ${ratio}`);
});

test("same seed gives the same weights; embeds input equals ids input", () => {
  const a = new Llm(TINY, new Rng(3));
  const b = new Llm(TINY, new Rng(3));
  for (const [[n1, v1], [, v2]] of a.namedParameters().map((p, i) => [p, b.namedParameters()[i]!] as const)) {
    assert.equal(maxAbsDiff(v1, v2), 0, n1);
  }
  const ids = tf.tensor2d([[1, 5, 7, 2, 9]], [1, 5], "int32");
  const l1 = a.forward({ ids }).logits!;
  const l2 = a.forward({ embeds: a.embedTokens(ids) as tf.Tensor3D }).logits!;
  assert.equal(maxAbsDiff(l1, l2), 0);
  tf.dispose([ids, l1, l2]);
  a.dispose();
  b.dispose();
});

test("causal: changing a later token leaves earlier logits unchanged", () => {
  const m = new Llm(TINY, new Rng(4));
  tf.tidy(() => {
    const x = m.forward({ ids: tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32") }).logits!;
    const y = m.forward({ ids: tf.tensor2d([[1, 2, 3, 9, 9]], [1, 5], "int32") }).logits!;
    assert.ok(maxAbsDiff(tf.slice(x, [0, 0, 0], [1, 3, -1]), tf.slice(y, [0, 0, 0], [1, 3, -1])) < 1e-6);
    assert.ok(maxAbsDiff(tf.slice(x, [0, 3, 0], [1, 2, -1]), tf.slice(y, [0, 3, 0], [1, 2, -1])) > 1e-4);
  });
  m.dispose();
});

test("KV-cache decoding equals the full forward pass", () => {
  const m = new Llm(TINY, new Rng(5));
  const seq = [3, 1, 4, 1, 5, 9, 2, 6];
  tf.tidy(() => {
    const full = m.forward({ ids: tf.tensor2d([seq], [1, seq.length], "int32") }).logits!;
    // prefill 5, then one token at a time
    let out = m.forward({ ids: tf.tensor2d([seq.slice(0, 5)], [1, 5], "int32") }, { cache: emptyCache() });
    assert.ok(maxAbsDiff(out.logits!, tf.slice(full, [0, 0, 0], [1, 5, -1])) < 1e-4);
    for (let t = 5; t < seq.length; t++) {
      out = m.forward({ ids: tf.tensor2d([[seq[t]!]], [1, 1], "int32") }, { cache: out.cache, logits: "last" });
      assert.equal(out.cache!.length, t + 1);
      assert.ok(maxAbsDiff(out.logits!, tf.slice(full, [0, t, 0], [1, 1, -1])) < 1e-4, `step ${t}`);
    }
  });
  m.dispose();
});

test("a left-padded batch computes what each row computes alone (prefill and cached steps)", () => {
  const m = new Llm(TINY, new Rng(6));
  const rows = [[5, 6, 7, 8, 9], [10, 11]];
  const T = 5;
  const padded = [rows[0]!, [0, 0, 0, ...rows[1]!]];
  const validFrom = [0, 3];
  tf.tidy(() => {
    const batch = m.forward({ ids: tf.tensor2d(padded, [2, T], "int32") }, { cache: emptyCache(validFrom), logits: "last" });
    const next = m.forward({ ids: tf.tensor2d([[4], [4]], [2, 1], "int32") }, { cache: batch.cache, logits: "last" });
    rows.forEach((r, b) => {
      const alone = m.forward({ ids: tf.tensor2d([[...r, 4]], [1, r.length + 1], "int32") }).logits!;
      const lastPrefill = tf.slice(alone, [0, r.length - 1, 0], [1, 1, -1]);
      const lastStep = tf.slice(alone, [0, r.length, 0], [1, 1, -1]);
      assert.ok(maxAbsDiff(tf.slice(batch.logits!, [b, 0, 0], [1, 1, -1]), lastPrefill) < 1e-4, `prefill row ${b}`);
      assert.ok(maxAbsDiff(tf.slice(next.logits!, [b, 0, 0], [1, 1, -1]), lastStep) < 1e-4, `step row ${b}`);
    });
  });
  m.dispose();
});

test("masked cross-entropy ignores IGNORE targets and matches a hand computation", () => {
  tf.tidy(() => {
    const logits = tf.tensor3d([[[0, 0, 0], [1, 2, 3]]], [1, 2, 3]);
    const loss = maskedCrossEntropy(logits, [IGNORE, 2]).dataSync()[0]!;
    const expected = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
    assert.ok(Math.abs(loss - expected) < 1e-5);
  });
});

test("a tiny LM learns a repeated sequence and memory stays flat across steps", () => {
  const m = new Llm({ ...TINY, vocabSize: 8 }, new Rng(7));
  const opt = tf.train.adam(0.02);
  const rows = [[1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5]];
  const vars = m.parameters();
  const step = () => {
    const cost = opt.minimize(() => lmLoss(m, rows, 0), true, vars) as tf.Scalar;
    const v = cost.dataSync()[0]!;
    cost.dispose();
    return v;
  };
  const first = step();
  step();
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 40; i++) last = step();
  assert.equal(tf.memory().numTensors, before, "no tensor leak per step");
  assert.ok(last < first * 0.3, `loss ${first} -> ${last}`);
  opt.dispose();
  m.dispose();
});
