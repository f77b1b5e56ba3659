/**
 * Fused ops for model code: one kernel forward and one backward on the native backend (custom
 * gradients), the equivalent composition of stock ops on every other backend. Same maths either way,
 * so model code can call these unconditionally.
 *
 *   layerNorm(x, gamma?, beta?, eps)   over the last axis (population variance, like PyTorch)
 *   rmsNorm(x, gamma?, eps)            x / sqrt(mean(x^2) + eps) * gamma (Llama)
 *   attention(q, k, v, opts)           softmax(q k^T * scale + mask [causal]) v; [B, H, T, D] or [B, T, H, D];
 *                                      k, v may have fewer heads (grouped-query attention)
 *   attentionPacked(qkv, heads, opts)  the same from one packed projection [B, T, 3 * H * D]
 *   linear(x, w, b?, "linear"|"relu")  act(x w + b) for x [..., K], w [K, N]: one kernel forward, one backward
 *   gelu(x, "tanh" | "erf"), silu(x)   activations with one-kernel backward passes
 *   rope(x, cos, sin)                  rotary position embeddings ("rotate half") of x [B, T, H, D]
 *   swiglu(g, u)                       silu(g) * u (the gated MLP of Llama)
 *   loraLinear(x, w, a, b, scale)      x w + scale * (x a) b: a linear layer with a LoRA adapter
 *   softmaxCrossEntropy(logits, targets, weights?, denom)
 *                                      sum_r weight_r * -log softmax(logits_r)[target_r] / denom
 *
 * `frozen` options (linear, rmsNorm, loraLinear): the weight is a constant of the computation (a
 * frozen tf.Variable, trainable = false): no gradient is computed for it, and the op's gradient
 * covers only its other inputs. linear's `noInputGrad` does the same for its input x (data).
 * Use them only for tensors nobody differentiates.
 *
 * Why: each tfjs kernel call costs ~30 µs of engine overhead; a transformer layer written with
 * stock ops makes hundreds of them per training step.
 */
import * as tf from "@tensorflow/tfjs";
import { BACKEND_NAME } from "./kernels/common.js";
import { UNARY } from "./kernels/elementwise.js";
import { FUSED } from "./kernels/fused.js";

/** True when the active backend is `native` (its fused kernels are then available). */
export function nativeActive(): boolean {
  return tf.getBackend() === BACKEND_NAME;
}

function run(kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  return tf.engine().runKernel(kernel, inputs, attrs) as unknown as tf.Tensor[];
}

function runOne(kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor {
  return tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor;
}

type Save = (tensors: tf.Tensor[]) => void;
type Grad = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
/** tf.customGrad over a variable number of tensors (its typings only cover fixed arities). */
function custom(inputs: tf.Tensor[], f: (xs: tf.Tensor[], save: Save) => { value: tf.Tensor; gradFunc: Grad }): tf.Tensor {
  const g = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as Save;
    return f(args.slice(0, -1) as tf.Tensor[], save);
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return g(...inputs);
}

export function layerNorm(x: tf.Tensor, gamma?: tf.Tensor, beta?: tf.Tensor, eps = 1e-5): tf.Tensor {
  if (!nativeActive() || x.dtype !== "float32") {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
      if (gamma) y = tf.mul(y, gamma);
      if (beta) y = tf.add(y, beta);
      return y;
    });
  }
  const inputs = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  return custom(inputs, (xs, save) => {
    const named: tf.NamedTensorMap = { x: xs[0]! };
    if (gamma) named.gamma = xs[1]!;
    if (beta) named.beta = xs[gamma ? 2 : 1]!;
    const [y, mean, rstd] = run(FUSED.LayerNorm, named, { eps });
    save([xs[0]!, mean!, rstd!, ...(gamma ? [xs[1]!] : [])]);
    return {
      value: y!,
      gradFunc: (dy, saved) => {
        const [sx, smean, srstd, sgamma] = saved;
        const g: tf.NamedTensorMap = { dy, x: sx!, mean: smean!, rstd: srstd! };
        if (sgamma) g.gamma = sgamma;
        const [dx, dgamma, dbeta] = run(FUSED.LayerNormGrad, g);
        const out = [dx!];
        if (gamma) out.push(tf.reshape(dgamma!, gamma.shape));
        else dgamma!.dispose();
        if (beta) out.push(tf.reshape(dbeta!, beta.shape));
        else dbeta!.dispose();
        return out;
      },
    };
  });
}

export function rmsNorm(x: tf.Tensor, gamma?: tf.Tensor, eps = 1e-6, opts: { frozen?: boolean } = {}): tf.Tensor {
  if (!nativeActive() || x.dtype !== "float32") {
    return tf.tidy(() => {
      const y = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
      return gamma ? tf.mul(y, gamma) : y;
    });
  }
  if (gamma && opts.frozen) {
    // gamma is a constant: dx only
    return custom([x], (xs, save) => {
      const [y, rstd] = run(FUSED.RmsNorm, { x: xs[0]!, gamma }, { eps });
      save([xs[0]!, rstd!, gamma]);
      return {
        value: y!,
        gradFunc: (dy, saved) => [runOne(FUSED.RmsNormGrad, { dy, x: saved[0]!, rstd: saved[1]!, gamma: saved[2]! }, { noGammaGrad: true })],
      };
    });
  }
  return custom(gamma ? [x, gamma] : [x], (xs, save) => {
    const named: tf.NamedTensorMap = gamma ? { x: xs[0]!, gamma: xs[1]! } : { x: xs[0]! };
    const [y, rstd] = run(FUSED.RmsNorm, named, { eps });
    save(gamma ? [xs[0]!, rstd!, xs[1]!] : [xs[0]!, rstd!]);
    return {
      value: y!,
      gradFunc: (dy, saved) => {
        const g: tf.NamedTensorMap = { dy, x: saved[0]!, rstd: saved[1]! };
        if (saved[2]) g.gamma = saved[2];
        const [dx, dgamma] = run(FUSED.RmsNormGrad, g);
        if (gamma) return [dx!, tf.reshape(dgamma!, gamma.shape)];
        dgamma!.dispose();
        return [dx!];
      },
    };
  });
}

export interface AttentionOptions {
  /** Additive mask broadcastable to [B, H, Tq, Tk] (0 = keep, large negative = drop); no gradient. */
  mask?: tf.Tensor;
  /** Query i sees keys j <= i + (Tk - Tq). */
  causal?: boolean;
  /** Default 1 / sqrt(D). */
  scale?: number;
  /**
   * "BHTD" (default): q [B, H, Tq, D], k/v [B, H, Tk, D], result [B, H, Tq, Dv].
   * "BTHD": q [B, Tq, H, D], k/v [B, Tk, H, D], result [B, Tq, H, Dv]: what reshaping a projection
   * gives, so no transposes are needed around attention on `native`.
   */
  layout?: "BHTD" | "BTHD";
}

/** Value used by the composite path for causal masking (the native kernel masks exactly). */
const MASKED = -1e9;

function causalMask(tq: number, tk: number): tf.Tensor {
  const m = new Float32Array(tq * tk);
  for (let i = 0; i < tq; i++) for (let j = i + tk - tq + 1; j < tk; j++) m[i * tk + j] = MASKED;
  return tf.tensor2d(m, [tq, tk]);
}

/**
 * Grouped-query attention's key/value heads repeated for their query heads ([B, Hkv, T, D] ->
 * [B, Hkv * groups, T, D], repeat_interleave), as a broadcasting product with ones (exact; the cpu
 * backend's Tile kernel is slow).
 */
function repeatKvHeads(t: tf.Tensor, groups: number): tf.Tensor {
  if (groups === 1) return t;
  const [B, Hkv, T, D] = t.shape as [number, number, number, number];
  return tf.reshape(tf.mul(tf.reshape(t, [B, Hkv, 1, T * D]), tf.ones([1, 1, groups, 1])), [B, Hkv * groups, T, D]);
}

/** The stock-op attention on [B, H, T, D] operands (k and v may have fewer heads: grouped-query). */
function composedAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number, opts: AttentionOptions): tf.Tensor {
  return tf.tidy(() => {
    const groups = q.shape[1]! / k.shape[1]!;
    k = repeatKvHeads(k, groups);
    v = repeatKvHeads(v, groups);
    let s = tf.mul(tf.matMul(q, k, false, true), scale);
    if (opts.mask) s = tf.add(s, opts.mask);
    if (opts.causal) s = tf.add(s, causalMask(q.shape[2]!, k.shape[2]!));
    return tf.matMul(tf.softmax(s), v);
  });
}

/** Native attention as a custom-gradient op over the operand tensors. */
function nativeAttention(operandNames: string[], operands: tf.Tensor[], attrs: tf.NamedAttrMap, mask?: tf.Tensor): tf.Tensor {
  return custom(operands, (xs, save) => {
    const named: tf.NamedTensorMap = {};
    operandNames.forEach((n, i) => (named[n] = xs[i]!));
    if (mask) named.mask = mask;
    const [out, probs] = run(FUSED.Attention, named, attrs);
    save([...xs, probs!]);
    return {
      value: out!,
      gradFunc: (dy, saved) => {
        const g: tf.NamedTensorMap = { dy, probs: saved[saved.length - 1]! };
        operandNames.forEach((n, i) => (g[n] = saved[i]!));
        return run(FUSED.AttentionGrad, g, attrs);
      },
    };
  });
}

/**
 * Scaled dot-product attention. A query row that can see no key gets zeros on `native`. k and v may
 * have fewer heads than q (grouped-query attention: query head h reads key/value head
 * h / (H / Hkv)).
 */
export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions = {}): tf.Tensor4D {
  const layout = opts.layout ?? "BHTD";
  const scale = opts.scale ?? 1 / Math.sqrt(q.shape[3]);
  if (!nativeActive() || q.dtype !== "float32") {
    if (layout === "BHTD") return composedAttention(q, k, v, scale, opts) as tf.Tensor4D;
    return tf.tidy(() => {
      const [qt, kt, vt] = [q, k, v].map((t) => tf.transpose(t, [0, 2, 1, 3]));
      return tf.transpose(composedAttention(qt!, kt!, vt!, scale, opts), [0, 2, 1, 3]) as tf.Tensor4D;
    });
  }
  return nativeAttention(["q", "k", "v"], [q, k, v], { scale, causal: Boolean(opts.causal), layout }, opts.mask) as tf.Tensor4D;
}

/**
 * Self-attention straight from a packed projection: qkv [B, T, 3 * heads * D] (q, k and v side by
 * side, e.g. x @ W_qkv), result [B, T, heads * D]. On `native` no reshape/transpose/split is needed.
 */
export function attentionPacked(qkv: tf.Tensor3D, heads: number, opts: Omit<AttentionOptions, "layout"> = {}): tf.Tensor3D {
  const [B, T, W] = qkv.shape;
  const D = W / (3 * heads);
  if (!Number.isInteger(D)) throw new Error(`attentionPacked: last dim ${W} is not 3 * ${heads} heads * D`);
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  if (!nativeActive() || qkv.dtype !== "float32") {
    return tf.tidy(() => {
      const [q, k, v] = tf.unstack(tf.transpose(tf.reshape(qkv, [B, T, 3, heads, D]), [2, 0, 3, 1, 4]));
      const o = composedAttention(q!, k!, v!, scale, opts);
      return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, T, heads * D]) as tf.Tensor3D;
    });
  }
  return nativeAttention(["qkv"], [qkv], { scale, causal: Boolean(opts.causal), layout: "packed", heads }, opts.mask) as tf.Tensor3D;
}

/**
 * A dense layer act(x w + b) over the last axis of x (any leading dims). On `native` the forward is
 * one GEMM with bias and ReLU in its epilogue and the backward one kernel giving dx, dw and db.
 */
export interface LinearOptions {
  /** w and b are constants (frozen): the gradient covers x only. */
  frozen?: boolean;
  /** x is a constant (input data): the gradient covers w and b only. */
  noInputGrad?: boolean;
}

export function linear(x: tf.Tensor, w: tf.Tensor2D, b?: tf.Tensor1D, activation: "linear" | "relu" = "linear", opts: LinearOptions = {}): tf.Tensor {
  const [K, N] = w.shape;
  if (!nativeActive() || x.dtype !== "float32") {
    return tf.tidy(() => {
      const y = tf.fused.matMul({ a: tf.reshape(x, [-1, K]) as tf.Tensor2D, b: w, bias: b, activation });
      return tf.reshape(y, [...x.shape.slice(0, -1), N]);
    });
  }
  // Differentiated inputs: w and b unless frozen, x unless it is data (noInputGrad; ignored for a
  // frozen layer, which has nothing else to differentiate). The kernel's gradient gives exactly
  // those, in that order (frozen / noInputGrad attributes).
  const diffW = !opts.frozen;
  const diffX = !opts.noInputGrad || !diffW;
  const attrs = { activation, hasBias: b !== undefined, ...(diffW ? {} : { frozen: true }), ...(diffX ? {} : { noInputGrad: true }) };
  const inputs = [...(diffX ? [x] : []), ...(diffW ? (b ? [w, b] : [w]) : [])];
  return custom(inputs, (xs, save) => {
    const xt = diffX ? xs[0]! : x;
    const wt = diffW ? xs[diffX ? 1 : 0]! : w;
    const bt = b ? (diffW ? xs[diffX ? 2 : 1]! : b) : undefined;
    const named: tf.NamedTensorMap = { x: xt, w: wt };
    if (bt) named.b = bt;
    const y = runOne(FUSED.Linear, named, attrs);
    save(activation === "relu" ? [xt, wt, y] : [xt, wt]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const g: tf.NamedTensorMap = { dy, x: saved[0]!, w: saved[1]! };
        if (saved[2]) g.y = saved[2];
        return run(FUSED.LinearGrad, g, attrs);
      },
    };
  });
}

/** Activation via one native map forward and `dy * f'(x)` backward. */
function nativeActivation(x: tf.Tensor, op: number, gradOp: number): tf.Tensor {
  return custom([x], (xs, save) => {
    save([xs[0]!]);
    return {
      value: runOne(FUSED.Unary, { x: xs[0]! }, { op }),
      gradFunc: (dy, saved) => [tf.tidy(() => tf.mul(dy, runOne(FUSED.Unary, { x: saved[0]! }, { op: gradOp })))],
    };
  });
}

export function gelu(x: tf.Tensor, approximate: "tanh" | "erf" = "tanh"): tf.Tensor {
  if (nativeActive() && x.dtype === "float32") {
    return approximate === "tanh"
      ? nativeActivation(x, UNARY.GeluTanh, UNARY.GeluTanhGrad)
      : nativeActivation(x, UNARY.GeluErf, UNARY.GeluErfGrad);
  }
  return tf.tidy(() => {
    const inner =
      approximate === "tanh"
        ? tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))
        : tf.erf(tf.mul(x, Math.SQRT1_2));
    return tf.mul(tf.mul(0.5, x), tf.add(1, inner));
  });
}

export function silu(x: tf.Tensor): tf.Tensor {
  if (nativeActive() && x.dtype === "float32") return nativeActivation(x, UNARY.Silu, UNARY.SiluGrad);
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/**
 * Rotary position embeddings in the "rotate half" layout of Hugging Face Llama, pairs (x[i], x[i + D/2]):
 * y = x·[cos, cos] + [-x2, x1]·[sin, sin] for x [B, T, H, D] and per-position cos/sin of shape
 * [B or 1, T, D/2] (or any shape with those elements in that order, e.g. [B, 1, T, D/2]). No gradient
 * flows into cos/sin.
 */
export function rope(x: tf.Tensor4D, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor4D {
  const [, T, , D] = x.shape;
  const half = D / 2;
  if (!nativeActive() || x.dtype !== "float32") {
    return tf.tidy(() => {
      // rotateHalf(x) = [-x2, x1] as a product with a signed permutation matrix: the same numbers as
      // splitting x into halves, without SplitV/Concat in the gradient
      const r = new Float32Array(D * D);
      for (let i = 0; i < half; i++) {
        r[(i + half) * D + i] = -1; // out[i] = -x[i + half]
        r[i * D + i + half] = 1; // out[i + half] = x[i]
      }
      const rot = tf.reshape(tf.matMul(tf.reshape(x, [-1, D]) as tf.Tensor2D, tf.tensor2d(r, [D, D])), x.shape);
      const cb = cos.size / (T * half);
      const c = tf.reshape(cos, [cb, T, 1, half]);
      const sn = tf.reshape(sin, [cb, T, 1, half]);
      const cosF = tf.concat([c, c], -1);
      const sinF = tf.concat([sn, sn], -1);
      return tf.add(tf.mul(x, cosF), tf.mul(rot, sinF)) as tf.Tensor4D;
    });
  }
  return custom([x], (xs, save) => {
    save([cos, sin]);
    return {
      value: runOne(FUSED.Rope, { x: xs[0]!, cos, sin }, { inverse: false }),
      gradFunc: (dy, saved) => [runOne(FUSED.Rope, { x: dy, cos: saved[0]!, sin: saved[1]! }, { inverse: true })],
    };
  }) as tf.Tensor4D;
}

/** silu(g) · u = g · sigmoid(g) · u (Llama's SwiGLU MLP activation); g and u of one shape. */
export function swiglu(g: tf.Tensor, u: tf.Tensor): tf.Tensor {
  if (!nativeActive() || g.dtype !== "float32" || u.dtype !== "float32") {
    return tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u));
  }
  return custom([g, u], (xs, save) => {
    save([xs[0]!, xs[1]!]);
    return {
      value: runOne(FUSED.SwiGlu, { g: xs[0]!, u: xs[1]! }),
      gradFunc: (dy, saved) => run(FUSED.SwiGluGrad, { dy, g: saved[0]!, u: saved[1]! }),
    };
  });
}

/** x [..., K] times a [K, N] matrix over the last axis. */
function matmulLast(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  const y = tf.matMul(tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D, w as tf.Tensor2D);
  return tf.reshape(y, [...x.shape.slice(0, -1), w.shape[1]!]);
}

/**
 * A bias-free linear layer with one LoRA adapter: x w + scale · (x a) b for x [..., K], w [K, N],
 * a [K, R], b [R, N]. On `native` one kernel forward (keeping x a for the backward pass) and one
 * backward giving dx, da, db (and dw unless `frozen`). The gradient inputs are [x, a, b] (+ w).
 */
export function loraLinear(x: tf.Tensor, w: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D, scale: number, opts: { frozen?: boolean } = {}): tf.Tensor {
  if (!nativeActive() || [x, w, a, b].some((t) => t.dtype !== "float32")) {
    return tf.tidy(() => tf.add(matmulLast(x, w), tf.mul(matmulLast(matmulLast(x, a), b), scale)));
  }
  const frozen = Boolean(opts.frozen);
  const attrs = { scale, frozen };
  const inputs = frozen ? [x, a, b] : [x, a, b, w];
  return custom(inputs, (xs, save) => {
    const wt = frozen ? w : xs[3]!;
    const [y, h] = run(FUSED.LoraLinear, { x: xs[0]!, w: wt, a: xs[1]!, b: xs[2]! }, attrs);
    save([xs[0]!, wt, xs[1]!, xs[2]!, h!]);
    return {
      value: y!,
      gradFunc: (dy, saved) => {
        const [sx, sw, sa, sb, sh] = saved;
        const [dx, da, db, dw] = run(FUSED.LoraLinearGrad, { dy, x: sx!, w: sw!, a: sa!, b: sb!, h: sh! }, attrs);
        return frozen ? [dx!, da!, db!] : [dx!, da!, db!, dw!];
      },
    };
  });
}

/**
 * Σ_r weights[r] · −log softmax(logits[r])[targets[r]] / denom for logits [N, V] (a scalar). Rows with
 * weight 0 are ignored (their target may be anything); weights default to 1. The composition on other
 * backends is logSoftmax · oneHot; on `native` one kernel forward (keeping the softmax) and one backward.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, weights: Float32Array | undefined, denom: number): tf.Scalar {
  const [N, V] = logits.shape;
  if (targets.length !== N || (weights && weights.length !== N)) throw new Error(`softmaxCrossEntropy: ${N} rows, ${targets.length} targets`);
  if (!nativeActive() || logits.dtype !== "float32") {
    return tf.tidy(() => {
      const logp = tf.logSoftmax(logits);
      const onehot = tf.oneHot(tf.tensor1d(targets, "int32"), V);
      const nll = tf.neg(tf.sum(tf.mul(logp, onehot), 1));
      return tf.div(tf.sum(weights ? tf.mul(nll, tf.tensor1d(weights)) : nll), denom) as tf.Scalar;
    });
  }
  const t = tf.tensor1d(targets, "int32");
  const w = weights ? tf.tensor1d(weights) : undefined;
  const out = custom([logits], (xs, save) => {
    const named: tf.NamedTensorMap = { logits: xs[0]!, targets: t };
    if (w) named.weights = w;
    const [loss, probs] = run(FUSED.SoftmaxXent, named, { denom });
    save(w ? [probs!, t, w] : [probs!, t]);
    return {
      value: loss!,
      gradFunc: (dy, saved) => {
        const g: tf.NamedTensorMap = { dy, probs: saved[0]!, targets: saved[1]! };
        if (saved[2]) g.weights = saved[2];
        return [runOne(FUSED.SoftmaxXentGrad, g, { denom })];
      },
    };
  }) as tf.Scalar;
  tf.dispose(w ? [t, w] : [t]);
  return out;
}
