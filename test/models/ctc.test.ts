import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/util/rng.js";
import { normalValues } from "../../src/models/nn.js";
import { ctcGreedyDecode, ctcLoss } from "../../src/models/ctc.js";

before(async () => {
  await tf.setBackend("cpu");
});

/** -log Σ over all C^T paths that collapse to `label` of Π softmax probabilities (blank = 0). */
function bruteForce(logits: number[][], label: number[]): number {
  const T = logits.length;
  const C = logits[0]!.length;
  const probs = logits.map((row) => {
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  });
  let total = 0;
  const path: number[] = [];
  const rec = (t: number, p: number) => {
    if (t === T) {
      const out: number[] = [];
      let prev = -1;
      for (const c of path) {
        if (c !== prev && c !== 0) out.push(c);
        prev = c;
      }
      if (out.length === label.length && out.every((c, i) => c === label[i])) total += p;
      return;
    }
    for (let c = 0; c < C; c++) {
      path.push(c);
      rec(t + 1, p * probs[t]![c]!);
      path.pop();
    }
  };
  rec(0, 1);
  return -Math.log(total);
}

test("CTC loss equals brute-force enumeration of alignments (repeats, blanks-only, padding)", () => {
  const rng = new Rng(1);
  const cases: Array<{ T: number; C: number; label: number[] }> = [
    { T: 4, C: 3, label: [1, 2] },
    { T: 5, C: 3, label: [1, 1] }, // repeated label needs a blank between
    { T: 3, C: 4, label: [3] },
    { T: 4, C: 3, label: [] },
    { T: 6, C: 3, label: [2, 1, 2] },
  ];
  for (const { T, C, label } of cases) {
    const logits = normalValues(rng, [1, T, C], 1.5) as tf.Tensor3D;
    const got = ctcLoss(logits, [label], [T], 0, "none").dataSync()[0]!;
    const want = bruteForce((logits.arraySync() as number[][][])[0]!, label);
    assert.ok(Math.abs(got - want) < 1e-4 * Math.max(1, want), `T=${T} label=${label}: ${got} vs ${want}`);
    logits.dispose();
  }
  // a batch with padding: rows of different input lengths equal the rows alone
  const logits = normalValues(rng, [2, 6, 3], 1.5) as tf.Tensor3D;
  const rows = logits.arraySync() as number[][][];
  const batch = ctcLoss(logits, [[1, 2], [2]], [6, 4], 0, "none").dataSync();
  assert.ok(Math.abs(batch[0]! - bruteForce(rows[0]!, [1, 2])) < 1e-4);
  assert.ok(Math.abs(batch[1]! - bruteForce(rows[1]!.slice(0, 4), [2])) < 1e-4);
  // mean reduction divides by label length
  const mean = ctcLoss(logits, [[1, 2], [2]], [6, 4]).dataSync()[0]!;
  assert.ok(Math.abs(mean - (batch[0]! / 2 + batch[1]!) / 2) < 1e-5);
  // impossible alignment (label longer than the frames allow) gives a huge loss, not NaN
  const imp = ctcLoss(logits, [[1, 1, 1], [2]], [4, 4], 0, "none").dataSync()[0]!;
  assert.ok(imp > 1e6 && Number.isFinite(imp));
  logits.dispose();
});

test("CTC gradient matches finite differences", () => {
  const rng = new Rng(2);
  const x = tf.variable(normalValues(rng, [2, 5, 4], 1) as tf.Tensor3D);
  const f = () => ctcLoss(x as unknown as tf.Tensor3D, [[1, 3], [2, 2]], [5, 5], 0, "sum") as tf.Scalar;
  const { grads } = tf.variableGrads(f, [x]);
  const g = grads[x.name]!.dataSync();
  const base = x.dataSync().slice();
  const eps = 1e-2;
  for (let k = 0; k < 10; k++) {
    const i = rng.int(0, base.length);
    const at = (d: number) => {
      const v = base.slice();
      v[i]! += d;
      x.assign(tf.tensor(v, x.shape));
      return tf.tidy(() => f().dataSync()[0]!);
    };
    const num = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(num - g[i]!) < 2e-3 + 2e-2 * Math.abs(num), `coord ${i}: ${g[i]} vs ${num}`);
  }
  x.dispose();
});

test("greedy CTC decoding merges repeats and drops blanks", () => {
  const onehot = (seq: number[], C: number) => seq.map((c) => Array.from({ length: C }, (_, j) => (j === c ? 5 : 0)));
  const logits = tf.tensor3d([onehot([0, 1, 1, 0, 1, 2, 2, 0], 3)]);
  assert.deepEqual(ctcGreedyDecode(logits, [8]), [[1, 1, 2]]);
  assert.deepEqual(ctcGreedyDecode(logits, [3]), [[1]]);
  logits.dispose();
});
