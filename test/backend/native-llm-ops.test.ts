/**
 * The fused ops behind the LLM training step (src/backend/native/ops.ts: rope, swiglu, loraLinear,
 * softmaxCrossEntropy, grouped-query attention, linear/rmsNorm with frozen weights or data inputs;
 * optim.ts: adamUpdateMany; models: compressMany, gatherRows) and the whole AvsrTrainModel loss: the
 * native kernels and their custom gradients against the stock-op composition the same functions use
 * on `cpu`. Shapes include odd sizes and sizes of 1.
 * Tolerances: values atol 1e-5 rtol 1e-4; gradients atol 2e-5 rtol 2e-4 (model gradients 5e-5 / 1e-3:
 * float32 sums in another order through a whole network).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { attention, linear, loraLinear, rmsNorm, rope, softmaxCrossEntropy, swiglu } from "../../src/backend/native/ops.js";
import { adamUpdate, adamUpdateMany } from "../../src/backend/native/optim.js";
import { compress, compressMany } from "../../src/models/compression.js";
import { gatherRows } from "../../src/models/nn.js";
import { AvsrTrainModel } from "../../src/pipeline/model.js";
import { DEFAULT_PROMPTS, type AvsrConfig } from "../../src/models/avsr.js";
import { ropeTables } from "../../src/models/llm.js";
import { BpeTokenizer } from "../../src/text/tokenizer.js";
import { Rng } from "../../src/util/rng.js";
import { REQUIRE_NATIVE, compareBackends, nativeAvailability, rand, randInt, runOn, type Tolerance } from "./harness.js";

const VALUE: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const GRAD: Tolerance = { atol: 2e-5, rtol: 2e-4 };
const MODEL: Tolerance = { atol: 5e-5, rtol: 1e-3 };
const avail = await nativeAvailability();

/** cos/sin tables of `positions` [rows, T] as [rows, T, D/2] tensors (what the model gathers). */
function ropeInputs(positions: number[][], D: number): [tf.Tensor, tf.Tensor] {
  const { cos, sin } = ropeTables(D, 64, 10000);
  const half = D / 2;
  const pick = (table: Float32Array) => {
    const out = new Float32Array(positions.length * positions[0]!.length * half);
    positions.flat().forEach((p, i) => out.set(table.subarray(p * half, (p + 1) * half), i * half));
    return tf.tensor3d(out, [positions.length, positions[0]!.length, half]);
  };
  return [pick(cos), pick(sin)];
}

describe("LLM fused ops: stock composition (every backend)", () => {
  it("rope rotates the pairs (x[i], x[i + D/2]) by the position's angle", async () => {
    const [y] = await runOn("cpu", () => {
      const [c, s] = ropeInputs([[1]], 2);
      return rope(tf.tensor4d([1, 2], [1, 1, 1, 2]), c, s);
    });
    const a = 1; // position 1, frequency theta^0 = 1
    assert.ok(Math.abs(y!.values[0]! - (Math.cos(a) - 2 * Math.sin(a))) < 1e-6);
    assert.ok(Math.abs(y!.values[1]! - (2 * Math.cos(a) + Math.sin(a))) < 1e-6);
  });

  it("softmaxCrossEntropy is the weighted mean of -log softmax at the targets", async () => {
    const [l] = await runOn("cpu", () => softmaxCrossEntropy(tf.tensor2d([[0, Math.log(3)], [5, 5]]), Int32Array.from([1, 0]), Float32Array.from([1, 0]), 1));
    assert.ok(Math.abs(l!.values[0]! - -Math.log(3 / 4)) < 1e-6);
  });
});

describe("LLM fused ops: native kernels vs stock composition", () => {
  if (!avail.ok) {
    it(`native backend not available (${avail.reason})`, () => {
      assert.ok(!REQUIRE_NATIVE, `OMNI_REQUIRE_NATIVE=1 but the native backend did not load: ${avail.reason}`);
    });
    return;
  }

  it("rope values and gradients ([B, T, H, D], cos/sin per row or shared)", async () => {
    for (const [B, T, H, D, perRow] of [[1, 1, 1, 2, false], [2, 3, 5, 6, true], [3, 7, 2, 8, false], [2, 4, 3, 10, true]] as Array<[number, number, number, number, boolean]>) {
      await compareBackends(`rope ${[B, T, H, D]} perRow ${perRow}`, () => {
        const pos = Array.from({ length: perRow ? B : 1 }, (_, b) => Array.from({ length: T }, (_, t) => t + 3 * b));
        const [c, s] = ropeInputs(pos, D);
        const w = rand("w", [B, T, H, D]);
        const x = rand("x", [B, T, H, D], -2, 2) as tf.Tensor4D;
        return [rope(x, c, s), ...tf.grads((a: tf.Tensor) => tf.sum(tf.mul(rope(a as tf.Tensor4D, c, s), w)))([x])];
      }, GRAD, { served: ["OmniRope"] });
    }
  });

  it("swiglu values and gradients", async () => {
    for (const [shape, range] of [[[1], 6], [[3, 5], 6], [[2, 7, 13], 6], [[4, 9], 200]] as Array<[number[], number]>) {
      await compareBackends(`swiglu ${shape} in ±${range}`, () => {
        const g = rand("g", shape, -range, range), u = rand("u", shape, -2, 2), w = rand("w", shape);
        return [swiglu(g, u), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(swiglu(a, b), w)))([g, u])];
      }, GRAD, { served: ["OmniSwiGlu", "OmniSwiGluGrad"] });
    }
  });

  it("loraLinear values and gradients (frozen base or not, any leading dims, rank 1)", async () => {
    for (const [xs, K, N, R] of [[[1, 1], 1, 1, 1], [[5, 3], 3, 4, 2], [[2, 3, 7], 7, 5, 3], [[4, 9], 9, 6, 1]] as Array<[number[], number, number, number]>) {
      for (const frozen of [true, false]) {
        await compareBackends(`loraLinear ${xs} K ${K} N ${N} R ${R} frozen ${frozen}`, () => {
          const w = rand("w", [K, N]) as tf.Tensor2D, x = rand("x", xs);
          const a = rand("a", [K, R]) as tf.Tensor2D, b = rand("b", [R, N]) as tf.Tensor2D;
          const wy = rand("wy", [...xs.slice(0, -1), N]);
          const y = loraLinear(x, w, a, b, 0.75, { frozen });
          if (frozen) {
            const f = (xx: tf.Tensor, aa: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(loraLinear(xx, w, aa as tf.Tensor2D, bb as tf.Tensor2D, 0.75, { frozen }), wy));
            return [y, ...tf.grads(f)([x, a, b])];
          }
          const f = (xx: tf.Tensor, aa: tf.Tensor, bb: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(loraLinear(xx, ww as tf.Tensor2D, aa as tf.Tensor2D, bb as tf.Tensor2D, 0.75), wy));
          return [y, ...tf.grads(f)([x, a, b, w])];
        }, GRAD, { served: ["OmniLoraLinear", "OmniLoraLinearGrad"] });
      }
    }
  });

  it("softmaxCrossEntropy values and gradients (weights, ignored rows, no weights)", async () => {
    for (const [N, V] of [[1, 2], [4, 7], [5, 33]]) { // (tf.oneHot in the composition needs V >= 2)
      for (const weighted of [true, false]) {
        await compareBackends(`softmaxCrossEntropy ${N}x${V} weighted ${weighted}`, () => {
          const rng = new Rng(`t${N}${V}`);
          const targets = Int32Array.from({ length: N }, () => rng.int(0, V));
          const weights = weighted ? Float32Array.from({ length: N }, (_, i) => (i % 3 === 1 ? 0 : 1 + i / 4)) : undefined;
          const logits = rand("l", [N, V], -4, 4) as tf.Tensor2D;
          const f = (l: tf.Tensor) => softmaxCrossEntropy(l as tf.Tensor2D, targets, weights, 3);
          return [f(logits), ...tf.grads(f)([logits])];
        }, GRAD, { served: ["OmniSoftmaxXent", "OmniSoftmaxXentGrad"] });
      }
    }
  });

  it("grouped-query attention (fewer key/value heads), BHTD and BTHD, causal or masked; values and gradients", async () => {
    const cases: Array<{ B: number; H: number; Hkv: number; tq: number; tk: number; D: number; causal: boolean; mask: boolean; layout: "BHTD" | "BTHD" }> = [
      { B: 2, H: 4, Hkv: 2, tq: 5, tk: 5, D: 6, causal: true, mask: false, layout: "BTHD" },
      { B: 1, H: 6, Hkv: 3, tq: 3, tk: 7, D: 4, causal: true, mask: false, layout: "BHTD" },
      { B: 2, H: 3, Hkv: 1, tq: 4, tk: 4, D: 5, causal: false, mask: true, layout: "BTHD" },
      { B: 1, H: 2, Hkv: 1, tq: 1, tk: 1, D: 2, causal: true, mask: false, layout: "BHTD" },
      { B: 3, H: 4, Hkv: 2, tq: 6, tk: 9, D: 8, causal: true, mask: true, layout: "BHTD" },
    ];
    for (const c of cases) {
      const shape = (h: number, t: number) => (c.layout === "BTHD" ? [c.B, t, h, c.D] : [c.B, h, t, c.D]);
      const mask = () => {
        // row b cannot see its first b keys (left padding), shape [B, 1, 1, Tk]
        const m = new Float32Array(c.B * c.tk);
        for (let b = 0; b < c.B; b++) for (let j = 0; j < Math.min(b, c.tk - 1); j++) m[b * c.tk + j] = -1e9;
        return tf.tensor4d(m, [c.B, 1, 1, c.tk]);
      };
      await compareBackends(`GQA attention ${JSON.stringify(c)}`, () => {
        const opts = { causal: c.causal, mask: c.mask ? mask() : undefined, layout: c.layout };
        const q = rand("q", shape(c.H, c.tq), -2, 2), k = rand("k", shape(c.Hkv, c.tk), -2, 2), v = rand("v", shape(c.Hkv, c.tk));
        const w = rand("w", shape(c.H, c.tq));
        const f = (a: tf.Tensor, b: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(attention(a as tf.Tensor4D, b as tf.Tensor4D, d as tf.Tensor4D, opts), w));
        return [attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, opts), ...tf.grads(f)([q, k, v])];
      }, GRAD, { served: ["OmniAttention", "OmniAttentionGrad"] });
    }
  });

  it("linear with a frozen weight (dx only) or a data input (dw, db only); rmsNorm with a frozen gamma", async () => {
    for (const [xs, K, N] of [[[1, 1], 1, 1], [[6, 5], 5, 7], [[2, 3, 16], 16, 9]] as Array<[number[], number, number]>) {
      for (const activation of ["linear", "relu"] as const) {
        await compareBackends(`linear frozen ${xs} ${activation}`, () => {
          const w = rand("w", [K, N]) as tf.Tensor2D, b = rand("b", [N]) as tf.Tensor1D, x = rand("x", xs);
          const wy = rand("wy", [...xs.slice(0, -1), N]);
          const f = (xx: tf.Tensor) => tf.sum(tf.mul(linear(xx, w, b, activation, { frozen: true }), wy));
          return [linear(x, w, b, activation, { frozen: true }), ...tf.grads(f)([x])];
        }, GRAD, { served: ["OmniLinear", "OmniLinearGrad"] });
        await compareBackends(`linear data input ${xs} ${activation}`, () => {
          const w = rand("w", [K, N]) as tf.Tensor2D, b = rand("b", [N]) as tf.Tensor1D, x = rand("x", xs);
          const wy = rand("wy", [...xs.slice(0, -1), N]);
          const f = (ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(linear(x, ww as tf.Tensor2D, bb as tf.Tensor1D, activation, { noInputGrad: true }), wy));
          return [linear(x, w, b, activation, { noInputGrad: true }), ...tf.grads(f)([w, b])];
        }, GRAD, { served: ["OmniLinear", "OmniLinearGrad"] });
      }
    }
    for (const shape of [[1, 1], [3, 5], [2, 4, 96]]) {
      const d = shape[shape.length - 1]!;
      await compareBackends(`rmsNorm frozen gamma ${shape}`, () => {
        const g = rand("g", [d]), x = rand("x", shape, -3, 3), w = rand("w", shape);
        const f = (xx: tf.Tensor) => tf.sum(tf.mul(rmsNorm(xx, g, 1e-5, { frozen: true }), w));
        return [rmsNorm(x, g, 1e-5, { frozen: true }), ...tf.grads(f)([x])];
      }, GRAD, { served: ["OmniRmsNorm", "OmniRmsNormGrad"] });
    }
  });

  it("adamUpdateMany equals adamUpdate per parameter (one kernel for the list)", async () => {
    const shapes = [[1], [33, 7], [5], [2, 3, 4]];
    const h = { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.1, step: 3, gradScale: 0.7 };
    const make = () => shapes.map((s, i) => ({ param: rand(`p${i}`, s), grad: rand(`g${i}`, s), m: rand(`m${i}`, s), v: rand(`v${i}`, s, 0, 1) }));
    await compareBackends("adamUpdateMany", () => adamUpdateMany(make(), h).flatMap((r) => [r.param, r.m, r.v]), VALUE, { served: ["OmniAdamMulti"] });
    // and on native the list kernel gives what the one-parameter kernel gives
    const many = await runOn("native", () => adamUpdateMany(make(), h).flatMap((r) => [r.param, r.m, r.v]));
    const single = await runOn("native", () => make().flatMap((it) => { const r = adamUpdate(it.param, it.grad, it.m, it.v, h); return [r.param, r.m, r.v]; }));
    many.forEach((r, i) => assert.deepEqual([...r.values], [...single[i]!.values], `output ${i}`));
  });

  it("compressMany equals compress per utterance, concatenated (partial and drop tails, T < rate)", async () => {
    for (const tail of ["partial", "drop"] as const) {
      for (const rate of [1, 3, 4]) {
        const lens = [1, 2, 9, 12, 5];
        await compareBackends(`compressMany rate ${rate} ${tail}`, () => {
          const xs = lens.map((T, i) => rand(`f${i}`, [T, 6]) as tf.Tensor2D);
          return compressMany(xs, rate, { tail });
        }, VALUE, { served: ["UnsortedSegmentSum"], reference: () => {
          const parts = lens.map((T, i) => compress(rand(`f${i}`, [T, 6]), rate, { tail })).filter((p) => p.shape[0] > 0);
          return tf.concat(parts, 0);
        } });
      }
    }
  });

  it("gatherRows values and gradient (repeated and unused rows)", async () => {
    await compareBackends("gatherRows", () => {
      const ids = randInt("ids", [11], 0, 6) as tf.Tensor1D;
      const w = rand("w", [11, 4]);
      const f = (t: tf.Tensor) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, ids), w));
      return [gatherRows(rand("t", [6, 4]) as tf.Tensor2D, ids), ...tf.grads(f)([rand("t", [6, 4])])];
    }, GRAD, { served: ["GatherV2", "UnsortedSegmentSum"] });
  });

  it("AvsrTrainModel loss and trainable gradients (GQA LM, LoRA on q/v or on every linear, two active adapters)", async () => {
    const tok = BpeTokenizer.train(["transcribe speech and video to text", "the cat sat"], { vocabSize: 120 });
    const cases: Array<{ targets: string[]; strategy: "S" | "ST"; task: "asr" | "avsr" }> = [
      { targets: ["q_proj", "v_proj"], strategy: "S", task: "asr" },
      { targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], strategy: "ST", task: "avsr" },
    ];
    for (const c of cases) {
      const cfg: AvsrConfig = {
        llm: { vocabSize: tok.size, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 24, maxSeqLen: 128, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true },
        audioDim: 6, videoDim: 5, audioRates: [4], videoRates: [2], compression: "avg-pooling", tail: "partial", projectorHidden: 12,
        lora: { r: 3, alpha: 6, targets: c.targets, dropout: 0, zeroInit: "down" }, strategy: c.strategy, prompts: DEFAULT_PROMPTS,
      };
      await compareBackends(`AvsrTrainModel ${JSON.stringify(c)}`, () => {
        const model = new AvsrTrainModel(cfg, tok, new Rng(7), undefined);
        // non-zero LoRA factors so every adapter has gradients on both sides
        for (const [name, v] of model.trainableParameters()) if (name.includes("lora")) v.assign(rand(name, v.shape, -0.3, 0.3));
        const samples = [13, 1, 9].map((T, i) => ({
          audio: rand(`a${i}`, [T, 6]) as tf.Tensor2D,
          video: rand(`v${i}`, [Math.ceil(T / 2), 5]) as tf.Tensor2D,
          transcript: tok.encode(["the cat", "sat", "the cat sat"][i]!),
        }));
        const params = model.trainableParameters();
        const { value, grads } = tf.variableGrads(() => model.loss(samples, c.task, { audio: 4, video: 2 }), params.map(([, v]) => v));
        const out = [value, ...params.map(([, v]) => grads[v.name] ?? tf.zeros(v.shape))];
        const kept = out.map((t) => t.clone());
        tf.dispose([value, ...Object.values(grads)]);
        model.dispose();
        return kept;
      }, MODEL, { served: ["OmniLoraLinear", "OmniLoraLinearGrad", "OmniAttention", "OmniRope", "OmniSwiGlu", "OmniSoftmaxXent"] });
    }
  });
});
