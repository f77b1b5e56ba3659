/**
 * Connectionist temporal classification (CTC) loss, written as a differentiable tfjs computation:
 * the forward (alpha) recursion in log space over the blank-extended label sequence, unrolled over
 * time. tfjs's autodiff gives the gradient (checked against finite differences in the tests), and the
 * value is checked against brute-force enumeration of all alignments.
 *
 * For each utterance with input length T_b and labels l (length L), the extended sequence is
 * z = (blank, l1, blank, l2, ..., lL, blank), S = 2L + 1, and
 *   alpha_0(0) = y_0(blank), alpha_0(1) = y_0(l1),
 *   alpha_t(s) = y_t(z_s) · (alpha_{t-1}(s) + alpha_{t-1}(s-1) + [z_s ≠ blank ∧ z_s ≠ z_{s-2}] alpha_{t-1}(s-2)),
 *   p(l | x) = alpha_{T-1}(S-1) + alpha_{T-1}(S-2).
 * Frames at or past an utterance's input length leave its alphas unchanged (padding). Impossible
 * states carry a large negative finite log value (not -Infinity) so gradients stay finite.
 */
import * as tf from "@tensorflow/tfjs";

const NEG = -1e9;

function lse3(a: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor {
  const m = tf.maximum(tf.maximum(a, b), c);
  return tf.add(m, tf.log(tf.addN([tf.exp(tf.sub(a, m)), tf.exp(tf.sub(b, m)), tf.exp(tf.sub(c, m))])));
}

export type CtcReduction = "none" | "sum" | "mean";

/**
 * CTC negative log-likelihood of `labels` given `logits` [B, T, C] (unnormalised; log-softmax is
 * applied here). `inputLengths[b]` <= T frames count for row b. Returns [B] for "none", else a scalar:
 * "sum" adds the rows, "mean" divides each row by its label length (at least 1) then averages, as
 * PyTorch's CTCLoss(reduction="mean").
 */
export function ctcLoss(logits: tf.Tensor3D, labels: readonly (readonly number[])[], inputLengths: readonly number[], blank = 0, reduction: CtcReduction = "mean"): tf.Tensor {
  const [B, T, C] = logits.shape;
  if (labels.length !== B || inputLengths.length !== B) throw new Error("ctcLoss: one label row and input length per batch row");
  const S = 2 * Math.max(0, ...labels.map((l) => l.length)) + 1;
  const ext = new Int32Array(B * S).fill(blank);
  const skip = new Float32Array(B * S).fill(NEG);
  const init = new Float32Array(B * S).fill(NEG);
  const end = new Float32Array(B * S).fill(NEG);
  const active = new Float32Array(B * T);
  labels.forEach((l, b) => {
    const Sb = 2 * l.length + 1;
    for (let k = 0; k < l.length; k++) {
      if (l[k] === blank || l[k]! < 0 || l[k]! >= C) throw new Error(`ctcLoss: bad label ${l[k]}`);
      ext[b * S + 2 * k + 1] = l[k]!;
    }
    for (let s = 2; s < Sb; s++) {
      const z = ext[b * S + s]!;
      if (z !== blank && z !== ext[b * S + s - 2]) skip[b * S + s] = 0;
    }
    init[b * S] = 0;
    if (Sb > 1) init[b * S + 1] = 0;
    end[b * S + Sb - 1] = 0;
    if (Sb > 1) end[b * S + Sb - 2] = 0;
    const Tb = inputLengths[b]!;
    if (Tb < 1 || Tb > T) throw new Error(`ctcLoss: input length ${Tb} outside [1, ${T}]`);
    for (let t = 0; t < Tb; t++) active[b * T + t] = 1;
  });
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    // log-probabilities of the extended labels: [B, T, S] = logp [B, T, C] x onehot(ext)^T [B, C, S]
    const oh = tf.transpose(tf.reshape(tf.oneHot(tf.tensor1d(ext, "int32"), C), [B, S, C]), [0, 2, 1]);
    const lpExt = tf.matMul(logp, oh);
    const frames = tf.unstack(lpExt, 1); // T x [B, S]
    const skipT = tf.tensor2d(skip, [B, S]);
    const act = tf.unstack(tf.tensor2d(active, [B, T]), 1).map((a) => tf.reshape(a, [B, 1]));
    const negCol = tf.fill([B, 1], NEG);
    const negCol2 = tf.fill([B, 2], NEG);
    let alpha: tf.Tensor = tf.add(frames[0]!, tf.tensor2d(init, [B, S]));
    for (let t = 1; t < T; t++) {
      const a1 = alpha;
      const a2 = tf.concat([negCol, tf.slice(alpha, [0, 0], [B, S - 1])], 1);
      const a3 = S > 2 ? tf.add(tf.concat([negCol2, tf.slice(alpha, [0, 0], [B, S - 2])], 1), skipT) : tf.fill([B, S], NEG);
      const next = tf.add(lse3(a1, a2, a3), frames[t]!);
      const m = act[t]!;
      alpha = tf.add(tf.mul(next, m), tf.mul(alpha, tf.sub(1, m)));
    }
    const masked = tf.add(alpha, tf.tensor2d(end, [B, S]));
    const mx = tf.max(masked, 1, true);
    const ll = tf.add(tf.squeeze(mx, [1]), tf.log(tf.sum(tf.exp(tf.sub(masked, mx)), 1)));
    const nll = tf.neg(ll);
    if (reduction === "none") return nll;
    if (reduction === "sum") return tf.sum(nll);
    const lens = tf.tensor1d(labels.map((l) => Math.max(1, l.length)));
    return tf.mean(tf.div(nll, lens));
  });
}

/** Greedy CTC decoding: best class per frame, merge repeats, drop blanks. */
export function ctcGreedyDecode(logits: tf.Tensor3D, inputLengths: readonly number[], blank = 0): number[][] {
  const [B, T] = logits.shape;
  const argmax = tf.argMax(logits, 2);
  const best = argmax.dataSync();
  argmax.dispose();
  return Array.from({ length: B }, (_, b) => {
    const out: number[] = [];
    let prev = -1;
    for (let t = 0; t < inputLengths[b]!; t++) {
      const c = best[b * T + t]!;
      if (c !== prev && c !== blank) out.push(c);
      prev = c;
    }
    return out;
  });
}
