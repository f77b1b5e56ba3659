/**
 * The reference transformer training step of issue 3, in TensorFlow.js: batch 16, seq 64, d_model 128,
 * 4 heads, FF 512, 2 pre-LN encoder layers (ReLU, no dropout), MSE loss, Adam (lr 1e-3).
 * scripts/bench/reference_step.py is the same model in PyTorch (nn.TransformerEncoderLayer with
 * norm_first=True), so the two stacks do the same arithmetic.
 *
 * The model uses the fused ops of src/backend/native/ops.ts, which compose stock ops on backends
 * other than `native`; `fused: false` forces the stock composition everywhere (profiling "before").
 */
import * as tf from "@tensorflow/tfjs";
import { attentionPacked, layerNorm, linear } from "../../src/backend/native/ops.js";
import { adamUpdate } from "../../src/backend/native/optim.js";
import { Rng } from "../../src/util/rng.js";

export interface ReferenceConfig {
  batch: number;
  seq: number;
  dModel: number;
  heads: number;
  ff: number;
  layers: number;
  lr: number;
}

export const REFERENCE: ReferenceConfig = { batch: 16, seq: 64, dModel: 128, heads: 4, ff: 512, layers: 2, lr: 1e-3 };

interface Layer {
  ln1g: tf.Variable; ln1b: tf.Variable; wqkv: tf.Variable; bqkv: tf.Variable; wo: tf.Variable; bo: tf.Variable;
  ln2g: tf.Variable; ln2b: tf.Variable; w1: tf.Variable; b1: tf.Variable; w2: tf.Variable; b2: tf.Variable;
}

export interface ReferenceStep {
  /** One forward + backward + Adam update; returns the loss (read synchronously). */
  step(): number;
  dispose(): void;
  readonly tokensPerStep: number;
}

function uniform(rng: Rng, shape: number[], bound: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-bound, bound);
  return tf.tensor(a, shape);
}

function normal(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return tf.tensor(a, shape);
}

/** Variable names must be unique per process; each model gets its own prefix. */
let instances = 0;

/** Builds the model, data and optimizer state on the active backend. */
export function createReferenceStep(cfg: ReferenceConfig = REFERENCE, opts: { fused?: boolean; seed?: number } = {}): ReferenceStep {
  const fused = opts.fused ?? true;
  const rng = new Rng(opts.seed ?? 1234);
  const { batch: B, seq: T, dModel: D, heads: H, ff: F } = cfg;
  const Dh = D / H;
  const v = (t: tf.Tensor, name: string) => tf.variable(t, true, `reference_${++instances}_${name}`);
  const layers: Layer[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    layers.push({
      ln1g: v(tf.ones([D]), "ln1g"), ln1b: v(tf.zeros([D]), "ln1b"),
      wqkv: v(uniform(rng, [D, 3 * D], Math.sqrt(6 / (4 * D))), "wqkv"), bqkv: v(tf.zeros([3 * D]), "bqkv"),
      wo: v(uniform(rng, [D, D], 1 / Math.sqrt(D)), "wo"), bo: v(tf.zeros([D]), "bo"),
      ln2g: v(tf.ones([D]), "ln2g"), ln2b: v(tf.zeros([D]), "ln2b"),
      w1: v(uniform(rng, [D, F], 1 / Math.sqrt(D)), "w1"), b1: v(uniform(rng, [F], 1 / Math.sqrt(D)), "b1"),
      w2: v(uniform(rng, [F, D], 1 / Math.sqrt(F)), "w2"), b2: v(uniform(rng, [D], 1 / Math.sqrt(F)), "b2"),
    });
  }
  const params = layers.flatMap((l) => Object.values(l) as tf.Variable[]);
  const x = normal(rng, [B * T, D]);
  const target = normal(rng, [B * T, D]);
  const m: tf.Tensor[] = params.map((p) => tf.zerosLike(p));
  const vv: tf.Tensor[] = params.map((p) => tf.zerosLike(p));
  let t = 0;

  const ln = (h: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    fused ? layerNorm(h, g, b, 1e-5) : tf.tidy(() => {
      const { mean, variance } = tf.moments(h, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
    });
  // Self-attention from the packed [B*T, 3D] projection (q | k | v, heads contiguous, like PyTorch's
  // in_proj) to [B*T, D].
  const attend = (qkv: tf.Tensor): tf.Tensor => {
    if (fused) return tf.reshape(attentionPacked(tf.reshape(qkv, [B, T, 3 * D]) as tf.Tensor3D, H), [B * T, D]);
    const [q, k, val] = tf.unstack(tf.transpose(tf.reshape(qkv, [B, T, 3, H, Dh]), [2, 0, 3, 1, 4]));
    const o = tf.matMul(tf.softmax(tf.mul(tf.matMul(q!, k!, false, true), 1 / Math.sqrt(Dh))), val!);
    return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B * T, D]);
  };

  const dense = (h: tf.Tensor, w: tf.Variable, b: tf.Variable, activation: "linear" | "relu" = "linear") =>
    fused
      ? linear(h, w as tf.Tensor2D, b as tf.Tensor1D, activation)
      : tf.fused.matMul({ a: h as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation });

  const forward = (): tf.Scalar => {
    let h: tf.Tensor = x;
    for (const L of layers) {
      const a = ln(h, L.ln1g, L.ln1b);
      const merged = attend(dense(a, L.wqkv, L.bqkv));
      h = tf.add(h, dense(merged, L.wo, L.bo));
      const f = ln(h, L.ln2g, L.ln2b);
      h = tf.add(h, dense(dense(f, L.w1, L.b1, "relu"), L.w2, L.b2));
    }
    return tf.mean(tf.squaredDifference(h, target));
  };

  return {
    tokensPerStep: B * T,
    step(): number {
      t += 1;
      const { value, grads } = tf.variableGrads(forward, params);
      params.forEach((p, i) => {
        const g = grads[p.name]!;
        const next = adamUpdate(p, g, m[i]!, vv[i]!, { lr: cfg.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: t });
        p.assign(next.param);
        next.param.dispose();
        m[i]!.dispose();
        vv[i]!.dispose();
        m[i] = next.m;
        vv[i] = next.v;
      });
      tf.dispose(grads);
      const loss = value.dataSync()[0]!;
      value.dispose();
      return loss;
    },
    dispose(): void {
      tf.dispose([...params, x, target, ...m, ...vv]);
    },
  };
}

