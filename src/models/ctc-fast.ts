/**
 * A fast CTC loss, used by encoder pretraining and by the AVSR model's auxiliary CTC: the same quantity
 * as models/ctc.ts `ctcLoss` (mean reduction: each row's negative log-likelihood divided by its label
 * length, then averaged), but the alpha/beta recursions run in plain JavaScript (float64) and the gradient with respect to the logits
 * is given in closed form through `tf.customGrad`:
 *
 *   dL_b/dlogit_{t,k} = softmax_{t,k} − (1 / p_b) · Σ_{s : z_s = k} α_t(s) β_t(s)      (t < T_b; 0 after)
 *
 * Why: `ctcLoss` unrolls the recursion into ~15 tfjs kernels per frame, which cost more than the whole
 * encoder on 150–350-frame utterances (measured: 6.4 s vs 2.3 s for a batch of 16 on this machine). The
 * two agree to float precision in value and gradient (test/pretrain/encoders.test.ts).
 *
 * Rows whose labels cannot be aligned in their frames (T_b too short) contribute 0 and no gradient
 * (PyTorch's zero_infinity=True); their count is returned by `ctcLossFast.lastSkipped` for logging.
 */
import * as tf from "@tensorflow/tfjs";

function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** Per-row negative log-likelihood and d nll / d logits (flattened [T, C] per row, zero past T_b). */
export function ctcRow(logp: Float32Array, off: number, T: number, C: number, labels: readonly number[], blank: number): { nll: number; grad: Float64Array | null } {
  const L = labels.length;
  const S = 2 * L + 1;
  const z = new Int32Array(S).fill(blank);
  for (let k = 0; k < L; k++) z[2 * k + 1] = labels[k]!;
  const lp = (t: number, c: number) => logp[off + t * C + c]!;
  const alpha = new Float64Array(T * S).fill(-Infinity);
  const beta = new Float64Array(T * S).fill(-Infinity);
  alpha[0] = lp(0, blank);
  if (S > 1) alpha[1] = lp(0, z[1]!);
  for (let t = 1; t < T; t++) {
    for (let s = 0; s < S; s++) {
      let a = alpha[(t - 1) * S + s]!;
      if (s >= 1) a = logAdd(a, alpha[(t - 1) * S + s - 1]!);
      if (s >= 2 && z[s] !== blank && z[s] !== z[s - 2]) a = logAdd(a, alpha[(t - 1) * S + s - 2]!);
      alpha[t * S + s] = a === -Infinity ? a : a + lp(t, z[s]!);
    }
  }
  const ll = S > 1 ? logAdd(alpha[(T - 1) * S + S - 1]!, alpha[(T - 1) * S + S - 2]!) : alpha[(T - 1) * S]!;
  if (!Number.isFinite(ll)) return { nll: Infinity, grad: null };
  beta[(T - 1) * S + S - 1] = lp(T - 1, z[S - 1]!);
  if (S > 1) beta[(T - 1) * S + S - 2] = lp(T - 1, z[S - 2]!);
  for (let t = T - 2; t >= 0; t--) {
    for (let s = 0; s < S; s++) {
      let b = beta[(t + 1) * S + s]!;
      if (s + 1 < S) b = logAdd(b, beta[(t + 1) * S + s + 1]!);
      if (s + 2 < S && z[s] !== blank && z[s] !== z[s + 2]) b = logAdd(b, beta[(t + 1) * S + s + 2]!);
      beta[t * S + s] = b === -Infinity ? b : b + lp(t, z[s]!);
    }
  }
  // α_t(s)·β_t(s) counts y_t(z_s) twice (both include frame t): occupancy = exp(α+β − lp − ll)
  const grad = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) grad[t * C + c] = Math.exp(lp(t, c));
    for (let s = 0; s < S; s++) {
      const ab = alpha[t * S + s]! + beta[t * S + s]!;
      if (ab === -Infinity) continue;
      grad[t * C + z[s]!] -= Math.exp(ab - lp(t, z[s]!) - ll);
    }
  }
  return { nll: -ll, grad };
}

export interface FastCtcStats {
  /** Rows skipped in the last call because no alignment fits their frames. */
  skipped: number;
}

export const ctcFastStats: FastCtcStats = { skipped: 0 };

/**
 * Mean CTC loss (each row divided by max(1, label length), then averaged over rows) of `logits`
 * [B, T, C], differentiable with respect to the logits.
 */
export function ctcLossFast(logits: tf.Tensor3D, labels: readonly (readonly number[])[], inputLengths: readonly number[], blank = 0): tf.Scalar {
  const [B, T, C] = logits.shape;
  if (labels.length !== B || inputLengths.length !== B) throw new Error("ctcLossFast: one label row and input length per batch row");
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const logp = tf.tidy(() => tf.logSoftmax(x as tf.Tensor3D));
    const lp = logp.dataSync() as Float32Array;
    logp.dispose();
    const g = new Float32Array(B * T * C);
    let total = 0;
    let skipped = 0;
    for (let b = 0; b < B; b++) {
      const Tb = inputLengths[b]!;
      if (Tb < 1 || Tb > T) throw new Error(`ctcLossFast: input length ${Tb} outside [1, ${T}]`);
      for (const l of labels[b]!) if (l === blank || l < 0 || l >= C) throw new Error(`ctcLossFast: bad label ${l}`);
      const r = ctcRow(lp, b * T * C, Tb, C, labels[b]!, blank);
      if (!r.grad) {
        skipped++;
        continue;
      }
      const w = 1 / (B * Math.max(1, labels[b]!.length));
      total += r.nll * w;
      for (let i = 0; i < Tb * C; i++) g[b * T * C + i] = r.grad[i]! * w;
    }
    ctcFastStats.skipped = skipped;
    const gt = tf.tensor3d(g, [B, T, C]);
    save([gt]);
    return {
      value: tf.scalar(total),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0]!, dy),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(logits) as tf.Scalar;
}
