/**
 * The fused ops of src/backend/native/ops.ts and the Adam update of optim.ts: the native kernels (and
 * their custom gradients) against the stock-op composition the same functions use on `cpu`.
 * Tolerances: values atol 1e-5 rtol 1e-4; gradients atol 2e-5 rtol 2e-4.
 * The composition itself is checked against hand-computed values, so it is tested with or without
 * the addon.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { attention, attentionPacked, gelu, layerNorm, linear, rmsNorm, silu } from "../../src/backend/native/ops.js";
import { adamUpdate, clipScale, globalNorm } from "../../src/backend/native/optim.js";
import { REQUIRE_NATIVE, compareBackends, nativeAvailability, rand, runOn, type Tolerance } from "./harness.js";

const VALUE: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const GRAD: Tolerance = { atol: 2e-5, rtol: 2e-4 };
const avail = await nativeAvailability();

describe("fused ops: stock composition (every backend)", () => {
  it("layerNorm and rmsNorm match hand-computed values", async () => {
    const [ln, rms] = await runOn("cpu", () => [layerNorm(tf.tensor2d([[1, 2, 3]]), undefined, undefined, 0), rmsNorm(tf.tensor2d([[3, 4]]), tf.tensor1d([1, 2]), 0)]);
    const s = Math.sqrt(2 / 3);
    assert.deepEqual([...ln!.values].map((v) => +v.toFixed(5)), [-1 / s, 0, 1 / s].map((v) => +v.toFixed(5)));
    const r = Math.sqrt(12.5);
    assert.deepEqual([...rms!.values].map((v) => +v.toFixed(5)), [3 / r, 8 / r].map((v) => +v.toFixed(5)));
  });

  it("causal attention lets the first query see only the first key", async () => {
    const [out] = await runOn("cpu", () => {
      const q = tf.ones([1, 1, 2, 1]) as tf.Tensor4D;
      const v = tf.tensor4d([10, 20], [1, 1, 2, 1]);
      return attention(q, q, v, { causal: true });
    });
    assert.equal(out!.values[0], 10);
    assert.ok(Math.abs(out!.values[1]! - 15) < 1e-4);
  });

  it("adamUpdate and clipScale follow torch.optim.AdamW / clip_grad_norm_", async () => {
    const [p] = await runOn("cpu", () => adamUpdate(tf.tensor1d([1]), tf.tensor1d([0.5]), tf.zeros([1]), tf.zeros([1]),
      { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 }).param);
    // Step 1: m/bc1 = g, sqrt(v/bc2) = |g|, so p = 1 * (1 - 0.001) - 0.1 * sign(g).
    assert.ok(Math.abs(p!.values[0]! - (0.999 - 0.1)) < 1e-6);
    assert.equal(clipScale(0.5, 1), 1);
    assert.ok(Math.abs(clipScale(4, 1) - 0.25) < 1e-6);
  });
});

describe("fused ops: native kernels vs stock composition", () => {
  if (!avail.ok) {
    it(`native backend not available (${avail.reason})`, () => {
      assert.ok(!REQUIRE_NATIVE, `OMNI_REQUIRE_NATIVE=1 but the native backend did not load: ${avail.reason}`);
    });
    return;
  }

  it("layerNorm values and gradients (with and without affine params)", async () => {
    for (const shape of [[1, 1], [4, 7], [2, 3, 128]]) {
      const d = shape[shape.length - 1]!;
      await compareBackends(`layerNorm ${shape}`, () => {
        const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(x, g, b, 1e-5), rand("w", shape)));
        return [layerNorm(rand("x", shape, -3, 3), rand("g", [d]), rand("b", [d])),
          ...tf.grads(f)([rand("x", shape, -3, 3), rand("g", [d]), rand("b", [d])])];
      }, GRAD, { served: ["OmniLayerNorm", "OmniLayerNormGrad"] });
      await compareBackends(`layerNorm plain ${shape}`, () => tf.grads((x: tf.Tensor) => tf.sum(tf.mul(layerNorm(x), rand("w", shape))))([rand("x", shape)]), GRAD);
    }
  });

  it("rmsNorm values and gradients", async () => {
    for (const shape of [[3, 5], [2, 4, 64]]) {
      const d = shape[shape.length - 1]!;
      await compareBackends(`rmsNorm ${shape}`, () => {
        const f = (x: tf.Tensor, g: tf.Tensor) => tf.sum(tf.mul(rmsNorm(x, g), rand("w", shape)));
        return [rmsNorm(rand("x", shape), rand("g", [d])), ...tf.grads(f)([rand("x", shape), rand("g", [d])])];
      }, GRAD, { served: ["OmniRmsNorm", "OmniRmsNormGrad"] });
      await compareBackends(`rmsNorm plain ${shape}`, () => tf.grads((x: tf.Tensor) => tf.sum(tf.mul(rmsNorm(x), rand("w", shape))))([rand("x", shape)]), GRAD);
    }
  });

  it("attention: plain, causal (square and Tq < Tk), key-padding mask; values and gradients", async () => {
    const cases: Array<{ tq: number; tk: number; causal: boolean; mask: boolean }> = [
      { tq: 5, tk: 5, causal: false, mask: false }, { tq: 6, tk: 6, causal: true, mask: false },
      { tq: 3, tk: 7, causal: true, mask: false }, { tq: 4, tk: 6, causal: false, mask: true }, { tq: 1, tk: 1, causal: true, mask: false },
    ];
    for (const c of cases) {
      const B = 2, H = 3, D = 8;
      const mask = () => {
        // Key padding: batch 1 cannot see its last two keys. Shape [B, 1, 1, Tk].
        const m = new Float32Array(B * c.tk);
        for (let j = c.tk - 2; j < c.tk; j++) m[c.tk + j] = -1e9;
        return tf.tensor4d(m, [B, 1, 1, c.tk]);
      };
      await compareBackends(`attention ${JSON.stringify(c)}`, () => {
        const opts = { causal: c.causal, mask: c.mask ? mask() : undefined };
        const w = rand("w", [B, H, c.tq, D]);
        const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
          tf.sum(tf.mul(attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, opts), w));
        const q = rand("q", [B, H, c.tq, D], -2, 2), k = rand("k", [B, H, c.tk, D], -2, 2), v = rand("v", [B, H, c.tk, D]);
        return [attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, opts), ...tf.grads(f)([q, k, v])];
      }, GRAD, { served: ["OmniAttention", "OmniAttentionGrad"] });
    }
  });

  it("attention in [B, T, H, D] layout and from a packed qkv projection; values and gradients", async () => {
    const B = 2, T = 5, H = 3, D = 4;
    for (const causal of [false, true]) {
      await compareBackends(`attention BTHD causal ${causal}`, () => {
        const w = rand("w", [B, T, H, D]);
        const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
          tf.sum(tf.mul(attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { causal, layout: "BTHD" }), w));
        const q = rand("q", [B, T, H, D], -2, 2), k = rand("k", [B, T + 2, H, D], -2, 2), v = rand("v", [B, T + 2, H, D]);
        return [attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, { causal, layout: "BTHD" }), ...tf.grads(f)([q, k, v])];
      }, GRAD, { served: ["OmniAttention", "OmniAttentionGrad"] });
      await compareBackends(`attention packed causal ${causal}`, () => {
        const w = rand("w", [B, T, H * D]);
        const qkv = rand("qkv", [B, T, 3 * H * D], -2, 2);
        const f = (x: tf.Tensor) => tf.sum(tf.mul(attentionPacked(x as tf.Tensor3D, H, { causal }), w));
        return [attentionPacked(qkv as tf.Tensor3D, H, { causal }), ...tf.grads(f)([qkv])];
      }, GRAD, { served: ["OmniAttention", "OmniAttentionGrad"] });
    }
  });

  it("linear (bias or not, linear or relu, any leading dims) values and gradients", async () => {
    for (const [xs, k, n] of [[[6, 5], 5, 7], [[2, 3, 16], 16, 9], [[1, 1], 1, 1], [[0, 4], 4, 3]] as Array<[number[], number, number]>) {
      for (const activation of ["linear", "relu"] as const) {
        for (const bias of [true, false]) {
          await compareBackends(`linear ${xs} ${activation} bias ${bias}`, () => {
            const w = rand("w", [k, n]) as tf.Tensor2D, b = bias ? (rand("b", [n]) as tf.Tensor1D) : undefined;
            const wy = rand("wy", [...xs.slice(0, -1), n]);
            const f = (...ins: tf.Tensor[]) => tf.sum(tf.mul(linear(ins[0]!, ins[1] as tf.Tensor2D, ins[2] as tf.Tensor1D | undefined, activation), wy));
            const x = rand("x", xs);
            return [linear(x, w, b, activation), ...tf.grads(f)(b ? [x, w, b] : [x, w])];
          }, GRAD, { served: xs.every((d) => d > 0) ? ["OmniLinear", "OmniLinearGrad"] : [] });
        }
      }
    }
  });

  it("gelu (tanh, erf) and silu values and gradients", async () => {
    for (const [name, f] of [["gelu tanh", (x: tf.Tensor) => gelu(x, "tanh")], ["gelu erf", (x: tf.Tensor) => gelu(x, "erf")], ["silu", silu]] as const) {
      await compareBackends(name, () => [f(rand("x", [3, 50], -5, 5)), ...tf.grads((x: tf.Tensor) => tf.sum(tf.mul(f(x), rand("w", [3, 50]))))([rand("x", [3, 50], -5, 5)])],
        GRAD, { served: ["OmniUnary"] });
    }
  });

  it("adamUpdate (Adam and AdamW, clipped gradients) and globalNorm", async () => {
    for (const weightDecay of [0, 0.1]) {
      await compareBackends(`adam wd ${weightDecay}`, () => {
        const r = adamUpdate(rand("p", [33, 7]), rand("g", [33, 7]), rand("m", [33, 7]), rand("v", [33, 7], 0, 1),
          { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay, step: 7, gradScale: 0.5 });
        return [r.param, r.m, r.v];
      }, VALUE, { served: ["OmniAdam"] });
    }
    const norms: number[] = [];
    for (const b of ["cpu", "native"]) {
      await tf.setBackend(b);
      norms.push(tf.tidy(() => globalNorm([rand("a", [10, 10]), rand("b", [7])])));
    }
    assert.ok(Math.abs(norms[0]! - norms[1]!) < 1e-4 * norms[0]!, `globalNorm ${norms}`);
  });
});
