/**
 * Optimisation pieces: AdamW with decoupled weight decay (PyTorch's torch.optim.AdamW, step for step),
 * the warmup + cosine learning-rate schedule of the reference (utils/cosine.py), and global-norm
 * gradient clipping (torch.nn.utils.clip_grad_norm_).
 *
 * tf.train.adam has no decoupled weight decay, so AdamW is written here on tfjs ops. Its state (step
 * count, first and second moments by parameter name) is plain data for checkpoints.
 */
import * as tf from "@tensorflow/tfjs";
import { nativeActive } from "../backend/native/ops.js";
import { adamUpdateMany, globalNorm as nativeGlobalNorm } from "../backend/native/optim.js";

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** The paper's setting: betas (0.9, 0.98), weight decay 0.1 (lr 1e-3 comes from the schedule). */
export const PAPER_ADAMW: AdamWConfig = { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.1 };

export class AdamW {
  /** Updates done so far (PyTorch's per-parameter `step`, shared here). */
  t = 0;
  readonly m = new Map<string, tf.Tensor>();
  readonly v = new Map<string, tf.Tensor>();

  constructor(readonly cfg: AdamWConfig = PAPER_ADAMW) {}

  /**
   * One update of the named parameters with their gradients at learning rate `lr`:
   *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
   *   p ← p − (lr / (1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps).
   * Parameters whose gradient is null/absent are skipped (no decay, no moment update), as PyTorch skips
   * parameters with grad None. `gradScale` multiplies every gradient first (global-norm clipping).
   * On the native backend the whole update is one fused kernel call (src/backend/native/optim.ts:
   * the same formula, float32 rounding in another order).
   */
  step(params: ReadonlyArray<readonly [string, tf.Variable]>, grads: ReadonlyMap<string, tf.Tensor | null>, lr: number, gradScale = 1): void {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const present = params.filter(([name]) => !!grads.get(name));
    if (nativeActive() && present.every(([, p]) => p.dtype === "float32")) {
      const items = present.map(([name, p]) => ({
        param: p as tf.Tensor,
        grad: grads.get(name)!,
        m: this.m.get(name) ?? tf.zerosLike(p),
        v: this.v.get(name) ?? tf.zerosLike(p),
      }));
      const next = adamUpdateMany(items, { lr, beta1, beta2, eps, weightDecay, step: this.t, gradScale });
      present.forEach(([name, p], i) => {
        items[i]!.m.dispose();
        items[i]!.v.dispose();
        this.m.set(name, next[i]!.m);
        this.v.set(name, next[i]!.v);
        p.assign(next[i]!.param);
        next[i]!.param.dispose();
      });
      return;
    }
    for (const [name, p] of present) {
      const g0 = grads.get(name)!;
      const [m, v, next] = tf.tidy(() => {
        const g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
        const m0 = this.m.get(name) ?? tf.zerosLike(p);
        const v0 = this.v.get(name) ?? tf.zerosLike(p);
        const m1 = tf.add(tf.mul(m0, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v0, beta2), tf.mul(tf.square(g), 1 - beta2));
        const decayed = weightDecay !== 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(bc2)), eps);
        const upd = tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / bc1));
        return [m1, v1, upd];
      });
      this.m.get(name)?.dispose();
      this.v.get(name)?.dispose();
      this.m.set(name, m);
      this.v.set(name, v);
      p.assign(next);
      next.dispose();
    }
  }

  /** Replaces the state (takes ownership of the tensors). */
  setState(t: number, m: Map<string, tf.Tensor>, v: Map<string, tf.Tensor>): void {
    this.dispose();
    this.t = t;
    for (const [k, x] of m) this.m.set(k, x);
    for (const [k, x] of v) this.v.set(k, x);
  }

  dispose(): void {
    for (const x of this.m.values()) x.dispose();
    for (const x of this.v.values()) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

export interface ScheduleConfig {
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/**
 * Learning rate of update number `step` (1-based), as the reference's WarmupCosineScheduler:
 * linear warmup step/warmup·base for step < warmup, then 0.5·base·(1 + cos(π·(step − warmup)/(total − warmup))).
 */
export function cosineLr(step: number, c: ScheduleConfig): number {
  if (step < c.warmupSteps) return (step / c.warmupSteps) * c.baseLr;
  const decay = Math.max(1, c.totalSteps - c.warmupSteps);
  return 0.5 * c.baseLr * (1 + Math.cos((Math.PI * Math.min(step - c.warmupSteps, decay)) / decay));
}

/** sqrt(Σ‖g‖²) over the gradients present. */
export function globalNorm(grads: Iterable<tf.Tensor | null | undefined>): number {
  const list = [...grads].filter((g): g is tf.Tensor => !!g);
  if (list.length === 0) return 0;
  return tf.tidy(() => Math.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g)))).dataSync()[0]!));
}

/**
 * Scales gradients so that their global norm is at most `maxNorm` (coef = maxNorm / (norm + 1e-6),
 * applied when < 1, as torch's clip_grad_norm_). Returns new tensors (the inputs are disposed when
 * scaled) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor | null>, maxNorm: number): { grads: Map<string, tf.Tensor | null>; norm: number } {
  const norm = globalNorm(grads.values());
  const coef = maxNorm / (norm + 1e-6);
  if (!(coef < 1)) return { grads, norm };
  const out = new Map<string, tf.Tensor | null>();
  for (const [k, g] of grads) {
    if (!g) {
      out.set(k, g);
      continue;
    }
    out.set(k, tf.mul(g, coef));
    g.dispose();
  }
  return { grads: out, norm };
}

/**
 * One optimisation step shared by every trainer: gradients of `lossFn` with respect to the named
 * parameters, clipped to a global norm, applied by AdamW. Returns the loss and the norm before clipping.
 */
export function clippedAdamWStep(
  params: Array<[string, tf.Variable]>,
  lossFn: () => tf.Scalar,
  opt: AdamW,
  lr: number,
  clipNorm: number,
): { loss: number; gradNorm: number } {
  const { value, grads } = tf.variableGrads(lossFn, params.map(([, v]) => v));
  const byName = new Map<string, tf.Tensor | null>(params.map(([n, v]) => [n, grads[v.name] ?? null]));
  if (nativeActive()) {
    // the norm read straight from the gradients' memory (summed in double) and the clipping folded
    // into the fused AdamW kernel's gradient scale: clipByGlobalNorm + step without extra kernels
    const norm = nativeGlobalNorm([...byName.values()].filter((g): g is tf.Tensor => !!g));
    const coef = clipNorm / (norm + 1e-6);
    opt.step(params, byName, lr, coef < 1 ? coef : 1);
    tf.dispose(Object.values(grads).filter((g) => g));
    const loss = value.dataSync()[0]!;
    value.dispose();
    return { loss, gradNorm: norm };
  }
  const clipped = clipByGlobalNorm(byName, clipNorm);
  opt.step(params, clipped.grads, lr);
  tf.dispose([...clipped.grads.values()].filter((g): g is tf.Tensor => !!g));
  tf.dispose(Object.values(grads).filter((g) => g));
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, gradNorm: clipped.norm };
}
