/**
 * Numerical gradient checks (central differences in float32 on the exact `cpu` backend) of the
 * LoRA layer, attention with RoPE (with a KV-cache offset and GQA) and the projector.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../src/util/rng.js";
import { Linear, normalValues } from "../../src/models/nn.js";
import { LoraLinear } from "../../src/models/lora.js";
import { Attention, LlmConfig, attentionMask, positionIds, ropeTables } from "../../src/models/llm.js";
import { Projector } from "../../src/models/projector.js";

before(async () => {
  await tf.setBackend("cpu");
});

/**
 * Compares tf's gradient of `loss` w.r.t. each variable with central differences at `n` random
 * coordinates: |analytic − numeric| <= atol + rtol·|numeric|.
 */
function gradCheck(loss: () => tf.Scalar, vars: tf.Variable[], rng: Rng, n = 6, eps = 1e-2, rtol = 3e-2, atol = 2e-3): void {
  const { grads } = tf.variableGrads(loss, vars);
  for (const v of vars) {
    const g = grads[v.name];
    assert.ok(g, `no gradient for a variable of shape [${v.shape}]`);
    const analytic = g.dataSync();
    const base = v.dataSync().slice();
    for (let k = 0; k < n; k++) {
      const i = rng.int(0, base.length);
      const at = (delta: number) => {
        const x = base.slice();
        x[i]! += delta;
        v.assign(tf.tensor(x, v.shape));
        return tf.tidy(() => loss().dataSync()[0]!);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      const a = analytic[i]!;
      assert.ok(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric), `coord ${i} of [${v.shape}]: analytic ${a} vs numeric ${numeric}`);
    }
  }
  tf.dispose(Object.values(grads));
}

test("gradient check: LoRA linear (both factors, two active adapters, input)", () => {
  const rng = new Rng(1);
  const base = new Linear(5, 4, { rng, bias: true });
  const w = new LoraLinear(base);
  const cfg = { r: 2, alpha: 3, targets: [], dropout: 0, zeroInit: "up" as const };
  for (const name of ["t", "s"]) {
    const a = w.addAdapter(name, cfg, rng);
    a.up.assign(normalValues(rng, a.up.shape, 0.5)); // non-zero so both factors have gradients
  }
  const x = tf.variable(normalValues(rng, [3, 5], 1));
  const target = normalValues(rng, [3, 4], 1);
  const loss = () => tf.sum(tf.mul(tf.sin(w.apply(x, { adapters: ["t", "s"] })), target)) as tf.Scalar;
  const vars = [...w.trainableParameters().map(([, v]) => v), x];
  gradCheck(loss, vars, rng);
  w.dispose();
  tf.dispose([x, target]);
});

test("gradient check: causal attention with RoPE, GQA and a cache offset", () => {
  const rng = new Rng(2);
  const c: LlmConfig = { vocabSize: 10, dim: 8, nLayers: 1, nHeads: 4, nKvHeads: 2, ffnDim: 8, maxSeqLen: 32, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };
  const attn = new Attention(c);
  for (const [, v] of attn.namedParameters()) v.assign(normalValues(rng, v.shape, 0.4));
  const B = 2;
  const T = 3;
  const past = 2;
  const hd = c.dim / c.nHeads;
  const { cos, sin } = ropeTables(hd, c.maxSeqLen, c.ropeTheta);
  const pos = positionIds(B, T, past, [0, 1]);
  const gather = (table: Float32Array) => {
    const out = new Float32Array(B * T * (hd / 2));
    pos.forEach((p, i) => out.set(table.subarray(p * (hd / 2), (p + 1) * (hd / 2)), i * (hd / 2)));
    return tf.tensor4d(out, [B, 1, T, hd / 2]);
  };
  const cosT = gather(cos);
  const sinT = gather(sin);
  const mask = attentionMask(B, T, past, [0, 1]);
  const pk = tf.variable(normalValues(rng, [B, c.nKvHeads, past, hd], 1) as tf.Tensor4D);
  const pv = tf.variable(normalValues(rng, [B, c.nKvHeads, past, hd], 1) as tf.Tensor4D);
  const x = tf.variable(normalValues(rng, [B, T, c.dim], 1) as tf.Tensor3D);
  const target = normalValues(rng, [B, T, c.dim], 1);
  const loss = () => tf.sum(tf.mul(attn.apply(x as unknown as tf.Tensor3D, cosT, sinT, mask, { k: pk as unknown as tf.Tensor4D, v: pv as unknown as tf.Tensor4D }).out, target)) as tf.Scalar;
  gradCheck(loss, [...attn.parameters(), x, pk, pv], rng);
  attn.dispose();
  tf.dispose([cosT, sinT, mask, pk, pv, x, target]);
});

test("gradient check: projector MLP (weights, biases, input)", () => {
  const rng = new Rng(3);
  const p = new Projector(6, 7, 5, rng);
  const x = tf.variable(normalValues(rng, [4, 6], 1));
  const target = normalValues(rng, [4, 5], 1);
  const loss = () => tf.sum(tf.square(tf.sub(p.apply(x), target))) as tf.Scalar;
  gradCheck(loss, [...p.parameters(), x], rng, 8);
  p.dispose();
  tf.dispose([x, target]);
});
