/**
 * The Adam/AdamW update of one parameter as a single native kernel (one call instead of ~12), with
 * the same maths composed of stock ops on other backends, and the global gradient norm for clipping.
 *
 *   g = grad * gradScale; m' = b1 m + (1-b1) g; v' = b2 v + (1-b2) g^2
 *   p' = p (1 - lr wd) - lr (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)
 *
 * This is torch.optim.AdamW (and Adam when wd = 0). Callers keep m and v (e.g. src/train/optim.ts).
 */
import * as tf from "@tensorflow/tfjs";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { FUSED } from "./kernels/fused.js";
import { nativeAddon } from "./index.js";
import { nativeActive } from "./ops.js";

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW); 0 = Adam. */
  weightDecay: number;
  /** 1-based step count t (for the bias corrections). */
  step: number;
  /** Multiplies the gradient first (global-norm clipping); default 1. */
  gradScale?: number;
}

export interface AdamState {
  param: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/** New parameter and moments; the caller disposes the old ones (or assigns into variables). */
export function adamUpdate(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamHyper): AdamState {
  const bc1 = 1 - Math.pow(h.beta1, h.step), bc2 = 1 - Math.pow(h.beta2, h.step);
  const gradScale = h.gradScale ?? 1;
  if (nativeActive() && [param, grad, m, v].every((t) => t.dtype === "float32")) {
    const [p2, m2, v2] = tf.engine().runKernel(FUSED.Adam, { param, grad, m, v }, {
      lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weightDecay, gradScale, bc1, bc2,
    }) as unknown as tf.Tensor[];
    return { param: p2!, m: m2!, v: v2! };
  }
  const [p2, m2, v2] = tf.tidy(() => {
    const g = gradScale === 1 ? grad : tf.mul(grad, gradScale);
    const m1 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
    const v1 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const decayed = h.weightDecay !== 0 ? tf.mul(param, 1 - h.lr * h.weightDecay) : param;
    const denom = tf.add(tf.sqrt(tf.div(v1, bc2)), h.eps);
    return [tf.sub(decayed, tf.mul(tf.div(m1, denom), h.lr / bc1)), m1, v1];
  });
  return { param: p2!, m: m2!, v: v2! };
}

/**
 * adamUpdate over a list of parameters with the same hyper-parameters: one native kernel call for
 * the whole list on `native`, adamUpdate's composition per parameter elsewhere. Same order as `items`.
 */
export function adamUpdateMany(items: ReadonlyArray<{ param: tf.Tensor; grad: tf.Tensor; m: tf.Tensor; v: tf.Tensor }>, h: AdamHyper): AdamState[] {
  if (items.length === 0) return [];
  const all = items.flatMap((it) => [it.param, it.grad, it.m, it.v]);
  if (!nativeActive() || !all.every((t) => t.dtype === "float32")) return items.map((it) => adamUpdate(it.param, it.grad, it.m, it.v, h));
  const bc1 = 1 - Math.pow(h.beta1, h.step), bc2 = 1 - Math.pow(h.beta2, h.step);
  const inputs: tf.NamedTensorMap = {};
  items.forEach((it, i) => {
    inputs[`p${i}`] = it.param;
    inputs[`g${i}`] = it.grad;
    inputs[`m${i}`] = it.m;
    inputs[`v${i}`] = it.v;
  });
  const out = tf.engine().runKernel(FUSED.AdamMulti, inputs, {
    count: items.length, lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weightDecay, gradScale: h.gradScale ?? 1, bc1, bc2,
  }) as unknown as tf.Tensor[];
  return items.map((_, i) => ({ param: out[3 * i]!, m: out[3 * i + 1]!, v: out[3 * i + 2]! }));
}

/** sqrt(sum of squares of all gradients), read synchronously (one number). */
export function globalNorm(grads: readonly tf.Tensor[]): number {
  const addon = nativeAddon();
  if (nativeActive() && addon) {
    const backend = tf.backend() as MathBackendCPU;
    let sum = 0;
    for (const g of grads) {
      const values = backend.data.get(g.dataId).values;
      if (g.dtype === "float32" && values instanceof Float32Array) sum += addon.sumSquares(values);
      else sum += tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]!);
    }
    return Math.sqrt(sum);
  }
  if (grads.length === 0) return 0;
  return Math.sqrt(tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
}

/** The factor clip_grad_norm_ applies: min(1, maxNorm / (norm + 1e-6)). */
export function clipScale(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}
