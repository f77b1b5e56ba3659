/**
 * Kernels that tfjs does not have, used by the fused ops of ../ops.ts and the optimizer of
 * ../optim.ts: layer/RMS normalisation, scaled dot-product attention (grouped-query too), rotary
 * position embeddings, SwiGLU, a linear layer with a LoRA adapter, softmax cross-entropy (each with its
 * backward kernel), a fused Adam/AdamW step (one parameter, or a whole list in one call), and extra
 * unary maps (GELU, SiLU and their derivatives).
 * They exist only on the native backend; ops.ts composes stock ops on every other backend.
 */
import type * as tf from "@tensorflow/tfjs";
import { type KernelContext, type KernelResult, type NativeKernel, f32, i32, newF32, output, sizeOf } from "./common.js";
import { unaryOn } from "./elementwise.js";

export const FUSED = {
  LayerNorm: "OmniLayerNorm",
  LayerNormGrad: "OmniLayerNormGrad",
  RmsNorm: "OmniRmsNorm",
  RmsNormGrad: "OmniRmsNormGrad",
  Attention: "OmniAttention",
  AttentionGrad: "OmniAttentionGrad",
  Adam: "OmniAdam",
  AdamMulti: "OmniAdamMulti",
  Linear: "OmniLinear",
  LinearGrad: "OmniLinearGrad",
  Unary: "OmniUnary",
  Rope: "OmniRope",
  SwiGlu: "OmniSwiGlu",
  SwiGluGrad: "OmniSwiGluGrad",
  LoraLinear: "OmniLoraLinear",
  LoraLinearGrad: "OmniLoraLinearGrad",
  SoftmaxXent: "OmniSoftmaxXent",
  SoftmaxXentGrad: "OmniSoftmaxXentGrad",
} as const;

/** Values of required float32 inputs; throws rather than falling back (there is no cpu kernel). */
function need(ctx: KernelContext, name: string): Float32Array {
  const v = f32(ctx.backend, ctx.inputs[name]);
  if (!v) throw new Error(`native fused kernel: input '${name}' must be a float32 tensor`);
  return v;
}
function optional(ctx: KernelContext, name: string): Float32Array | null {
  return ctx.inputs[name] ? need(ctx, name) : null;
}

function rowsCols(x: tf.TensorInfo): [number, number] {
  const cols = x.shape.length === 0 ? 1 : x.shape[x.shape.length - 1]!;
  return [cols === 0 ? 0 : sizeOf(x.shape) / cols, cols];
}

function layerNorm(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!;
  const [rows, cols] = rowsCols(x);
  const y = newF32(ctx.backend, rows * cols), mean = newF32(ctx.backend, rows), rstd = newF32(ctx.backend, rows);
  ctx.addon.layerNorm(need(ctx, "x"), optional(ctx, "gamma"), optional(ctx, "beta"), y, mean, rstd, rows, cols, Number(ctx.attrs.eps));
  const statShape = x.shape.slice(0, -1);
  return [output(ctx.backend, x.shape.slice(), y), output(ctx.backend, statShape, mean), output(ctx.backend, statShape, rstd)];
}

function layerNormGrad(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!;
  const [rows, cols] = rowsCols(x);
  const dx = newF32(ctx.backend, rows * cols), dgamma = newF32(ctx.backend, cols), dbeta = newF32(ctx.backend, cols);
  ctx.addon.layerNormGrad(need(ctx, "dy"), need(ctx, "x"), optional(ctx, "gamma"), need(ctx, "mean"), need(ctx, "rstd"),
    dx, dgamma, dbeta, rows, cols);
  return [output(ctx.backend, x.shape.slice(), dx), output(ctx.backend, [cols], dgamma), output(ctx.backend, [cols], dbeta)];
}

function rmsNorm(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!;
  const [rows, cols] = rowsCols(x);
  const y = newF32(ctx.backend, rows * cols), rstd = newF32(ctx.backend, rows);
  ctx.addon.rmsNorm(need(ctx, "x"), optional(ctx, "gamma"), y, rstd, rows, cols, Number(ctx.attrs.eps));
  return [output(ctx.backend, x.shape.slice(), y), output(ctx.backend, x.shape.slice(0, -1), rstd)];
}

/** dx and dgamma; only dx with attr noGammaGrad (a frozen gamma). */
function rmsNormGrad(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!;
  const [rows, cols] = rowsCols(x);
  const noGammaGrad = Boolean(ctx.attrs.noGammaGrad);
  const dx = newF32(ctx.backend, rows * cols), dgamma = noGammaGrad ? null : newF32(ctx.backend, cols);
  ctx.addon.rmsNormGrad(need(ctx, "dy"), need(ctx, "x"), optional(ctx, "gamma"), need(ctx, "rstd"), dx, dgamma, rows, cols);
  if (!dgamma) return output(ctx.backend, x.shape.slice(), dx);
  return [output(ctx.backend, x.shape.slice(), dx), output(ctx.backend, [cols], dgamma)];
}

/** Strides of an additive mask broadcast to [B, H, Tq, Tk] (0 on broadcast dims). */
function maskStrides(mask: tf.TensorInfo, target: number[]): Int32Array {
  if (mask.shape.length > 4) throw new Error(`attention mask must have rank <= 4, got ${mask.shape}`);
  const shape = [...Array(4 - mask.shape.length).fill(1), ...mask.shape] as number[];
  const strides = new Int32Array(4);
  let acc = 1;
  for (let d = 3; d >= 0; d--) {
    if (shape[d] !== 1 && shape[d] !== target[d]) {
      throw new Error(`attention mask shape ${mask.shape} does not broadcast to ${target}`);
    }
    strides[d] = shape[d] === 1 ? 0 : acc;
    acc *= shape[d]!;
  }
  return strides;
}

/**
 * Where attention finds its operands:
 *   BHTD    q [B, H, Tq, D], k/v [B, Hkv, Tk, D|Dv], out [B, H, Tq, Dv]
 *   BTHD    q [B, Tq, H, D], k/v [B, Tk, Hkv, D|Dv], out [B, Tq, H, Dv]   (no transposes needed)
 *   packed  qkv [B, T, 3 * H * D] (q, k, v side by side, as one projection makes them), out [B, T, H * D]
 * Hkv < H (it must divide H) is grouped-query attention: query head h reads key/value head h / (H / Hkv).
 */
export type AttentionLayout = "BHTD" | "BTHD" | "packed";

interface AttentionPlan {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
  /** Query heads per key/value head. */
  groups: number;
  layouts: Int32Array;
  outShape: number[];
  /** Names of the operand inputs: ["q", "k", "v"] or ["qkv"]. */
  operands: string[];
}

function planAttention(inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): AttentionPlan {
  const layout = (attrs.layout as AttentionLayout | undefined) ?? "BHTD";
  if (layout === "packed") {
    const [B, T, W] = inputs.qkv!.shape as [number, number, number];
    const H = Number(attrs.heads);
    const D = W / (3 * H);
    if (!Number.isInteger(D)) throw new Error(`packed attention: last dim ${W} is not 3 * heads(${H}) * D`);
    const row = 3 * H * D;
    const view = (offset: number) => [offset, T * row, D, row];
    return {
      B, H, Tq: T, Tk: T, D, Dv: D, groups: 1, operands: ["qkv"], outShape: [B, T, H * D],
      layouts: Int32Array.from([...view(0), ...view(H * D), ...view(2 * H * D), 0, T * H * D, D, H * D]),
    };
  }
  const q = inputs.q!.shape, k = inputs.k!.shape, v = inputs.v!.shape;
  const bthd = layout === "BTHD";
  const [B, H, Tq, D] = bthd ? [q[0]!, q[2]!, q[1]!, q[3]!] : [q[0]!, q[1]!, q[2]!, q[3]!];
  const Tk = bthd ? k[1]! : k[2]!, Dv = v[3]!;
  const Hkv = bthd ? k[2]! : k[1]!;
  if (Hkv < 1 || H % Hkv !== 0 || (bthd ? v[2] : v[1]) !== Hkv) {
    throw new Error(`attention: key/value heads (k ${k}, v ${v}) must be equal and divide the query heads ${H}`);
  }
  const view = (T: number, heads: number, cols: number) =>
    (bthd ? [0, T * heads * cols, cols, heads * cols] : [0, heads * T * cols, T * cols, cols]);
  return {
    B, H, Tq, Tk, D, Dv, groups: H / Hkv, operands: ["q", "k", "v"], outShape: bthd ? [B, Tq, H, Dv] : [B, H, Tq, Dv],
    layouts: Int32Array.from([...view(Tq, H, D), ...view(Tk, Hkv, D), ...view(Tk, Hkv, Dv), ...view(Tq, H, Dv)]),
  };
}

function operands(ctx: KernelContext, p: AttentionPlan): [Float32Array, Float32Array, Float32Array] {
  if (p.operands.length === 1) {
    const qkv = need(ctx, "qkv");
    return [qkv, qkv, qkv];
  }
  return [need(ctx, "q"), need(ctx, "k"), need(ctx, "v")];
}

function attention(ctx: KernelContext): KernelResult {
  const p = planAttention(ctx.inputs, ctx.attrs);
  const [q, k, v] = operands(ctx, p);
  const mask = ctx.inputs.mask;
  const out = newF32(ctx.backend, sizeOf(p.outShape)), probs = newF32(ctx.backend, p.B * p.H * p.Tq * p.Tk);
  ctx.addon.attention(q, k, v, optional(ctx, "mask"), mask ? maskStrides(mask, [p.B, p.H, p.Tq, p.Tk]) : null, out, probs,
    p.B, p.H, p.Tq, p.Tk, p.D, p.Dv, Number(ctx.attrs.scale), Boolean(ctx.attrs.causal), p.layouts, p.groups);
  return [output(ctx.backend, p.outShape, out), output(ctx.backend, [p.B, p.H, p.Tq, p.Tk], probs)];
}

function attentionGrad(ctx: KernelContext): KernelResult {
  const p = planAttention(ctx.inputs, ctx.attrs);
  const [q, k, v] = operands(ctx, p);
  const grads = p.operands.map((name) => ({ shape: ctx.inputs[name]!.shape.slice(), values: newF32(ctx.backend, sizeOf(ctx.inputs[name]!.shape)) }));
  const [dq, dk, dv] = grads.length === 1 ? [grads[0]!, grads[0]!, grads[0]!] : grads;
  ctx.addon.attentionGrad(need(ctx, "dy"), q, k, v, need(ctx, "probs"), dq!.values, dk!.values, dv!.values,
    p.B, p.H, p.Tq, p.Tk, p.D, p.Dv, Number(ctx.attrs.scale), p.layouts, p.groups);
  return grads.map((g) => output(ctx.backend, g.shape, g.values));
}

function adam(ctx: KernelContext): KernelResult {
  const p = ctx.inputs.param!;
  const n = sizeOf(p.shape);
  const po = newF32(ctx.backend, n), mo = newF32(ctx.backend, n), vo = newF32(ctx.backend, n);
  const a = ctx.attrs;
  ctx.addon.adam(need(ctx, "param"), need(ctx, "grad"), need(ctx, "m"), need(ctx, "v"), po, mo, vo,
    Number(a.lr), Number(a.beta1), Number(a.beta2), Number(a.eps), Number(a.weightDecay), Number(a.gradScale),
    Number(a.bc1), Number(a.bc2));
  const shape = p.shape.slice();
  return [output(ctx.backend, shape, po), output(ctx.backend, shape, mo), output(ctx.backend, shape, vo)];
}

/** Activations the fused linear layer supports (codes of native/src/activation.h). */
const LINEAR_ACT: Record<string, number> = { linear: 0, relu: 1 };

function linearAct(attrs: tf.NamedAttrMap): number {
  const act = LINEAR_ACT[(attrs.activation as string | undefined) ?? "linear"];
  if (act === undefined) throw new Error(`native OmniLinear: unsupported activation ${String(attrs.activation)}`);
  return act;
}

/** y = act(x w + b) for x [..., K], w [K, N], b [N]: one GEMM with its epilogue, no reshapes. */
function linear(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!, w = ctx.inputs.w!;
  const [K, N] = w.shape as [number, number];
  if (x.shape[x.shape.length - 1] !== K) throw new Error(`linear: x ${x.shape} does not match w ${w.shape}`);
  const M = sizeOf(x.shape.slice(0, -1));
  const y = newF32(ctx.backend, M * N);
  const zero = new Int32Array(1);
  ctx.addon.matmul(need(ctx, "x"), need(ctx, "w"), y, 1, zero, zero, M, N, K, false, false, optional(ctx, "b"), linearAct(ctx.attrs), 0);
  return output(ctx.backend, [...x.shape.slice(0, -1), N], y);
}

function linearGrad(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!, w = ctx.inputs.w!;
  const [K, N] = w.shape as [number, number];
  const M = sizeOf(x.shape.slice(0, -1));
  const act = linearAct(ctx.attrs);
  // frozen: the weight and bias get no gradient; noInputGrad: x gets none (outputs: those computed, in order dx, dw, db)
  const frozen = Boolean(ctx.attrs.frozen), noInputGrad = Boolean(ctx.attrs.noInputGrad);
  if (frozen && noInputGrad) throw new Error("native OmniLinearGrad: nothing to compute (frozen and noInputGrad)");
  const dx = noInputGrad ? null : newF32(ctx.backend, M * K), dw = frozen ? null : newF32(ctx.backend, K * N);
  const db = ctx.attrs.hasBias && !frozen ? newF32(ctx.backend, N) : null;
  ctx.addon.linearGrad(need(ctx, "dy"), need(ctx, "x"), need(ctx, "w"), act === 0 ? null : need(ctx, "y"), dx, dw, db, M, K, N, act);
  const out: tf.TensorInfo[] = [];
  if (dx) out.push(output(ctx.backend, x.shape.slice(), dx));
  if (dw) out.push(output(ctx.backend, [K, N], dw));
  if (db) out.push(output(ctx.backend, [N], db));
  return out;
}

function extraUnary(ctx: KernelContext): KernelResult {
  const y = unaryOn(ctx, Number(ctx.attrs.op), ctx.inputs.x!, Number(ctx.attrs.p0 ?? 0), Number(ctx.attrs.p1 ?? 0));
  if (!y) throw new Error("native OmniUnary: x must be a float32 tensor");
  return y;
}

/** The Adam update of every parameter p<i> (with g<i>, m<i>, v<i>) in one call: outputs p'0, m'0, v'0, p'1, ... */
function adamMulti(ctx: KernelContext): KernelResult {
  const n = Number(ctx.attrs.count);
  const a = ctx.attrs;
  const arrays: Float32Array[] = [];
  const out: tf.TensorInfo[] = [];
  for (let i = 0; i < n; i++) {
    const p = ctx.inputs[`p${i}`]!;
    const size = sizeOf(p.shape);
    const po = newF32(ctx.backend, size), mo = newF32(ctx.backend, size), vo = newF32(ctx.backend, size);
    arrays.push(need(ctx, `p${i}`), need(ctx, `g${i}`), need(ctx, `m${i}`), need(ctx, `v${i}`), po, mo, vo);
    out.push(output(ctx.backend, p.shape.slice(), po), output(ctx.backend, p.shape.slice(), mo), output(ctx.backend, p.shape.slice(), vo));
  }
  ctx.addon.adamMulti(Number(a.lr), Number(a.beta1), Number(a.beta2), Number(a.eps), Number(a.weightDecay), Number(a.gradScale),
    Number(a.bc1), Number(a.bc2), ...arrays);
  return out;
}

/** Rotary embeddings of x [B, T, H, D] with cos/sin [1 or B, T, D/2] (any shape of that size); attr inverse. */
function rope(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!;
  if (x.shape.length !== 4) throw new Error(`native OmniRope: x must be [B, T, H, D], got ${x.shape}`);
  const [B, T, H, D] = x.shape as [number, number, number, number];
  const tableSize = sizeOf(ctx.inputs.cos!.shape);
  const perBatch = T * (D / 2);
  const cosBatch = perBatch === 0 ? 1 : tableSize / perBatch;
  if (sizeOf(ctx.inputs.sin!.shape) !== tableSize || (cosBatch !== 1 && cosBatch !== B)) {
    throw new Error(`native OmniRope: cos/sin ${ctx.inputs.cos!.shape} do not fit x ${x.shape}`);
  }
  const y = newF32(ctx.backend, sizeOf(x.shape));
  ctx.addon.rope(need(ctx, "x"), need(ctx, "cos"), need(ctx, "sin"), y, B, T, H, D, cosBatch, Boolean(ctx.attrs.inverse));
  return output(ctx.backend, x.shape.slice(), y);
}

function swiglu(ctx: KernelContext): KernelResult {
  const g = ctx.inputs.g!, u = ctx.inputs.u!;
  if (!tfUtilEqual(g.shape, u.shape)) throw new Error(`native OmniSwiGlu: g ${g.shape} and u ${u.shape} differ`);
  const y = newF32(ctx.backend, sizeOf(g.shape));
  ctx.addon.swiglu(need(ctx, "g"), need(ctx, "u"), y);
  return output(ctx.backend, g.shape.slice(), y);
}

function swigluGrad(ctx: KernelContext): KernelResult {
  const g = ctx.inputs.g!;
  const n = sizeOf(g.shape);
  const dg = newF32(ctx.backend, n), du = newF32(ctx.backend, n);
  ctx.addon.swigluGrad(need(ctx, "dy"), need(ctx, "g"), need(ctx, "u"), dg, du);
  return [output(ctx.backend, g.shape.slice(), dg), output(ctx.backend, g.shape.slice(), du)];
}

function tfUtilEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

interface LoraDims { M: number; K: number; N: number; R: number; lead: number[] }

function loraDims(ctx: KernelContext): LoraDims {
  const x = ctx.inputs.x!, w = ctx.inputs.w!, a = ctx.inputs.a!, b = ctx.inputs.b!;
  const [K, N] = w.shape as [number, number];
  const R = a.shape[1]!;
  if (x.shape[x.shape.length - 1] !== K || a.shape[0] !== K || b.shape[0] !== R || b.shape[1] !== N) {
    throw new Error(`native OmniLoraLinear: shapes x ${x.shape}, w ${w.shape}, a ${a.shape}, b ${b.shape} do not fit`);
  }
  const lead = x.shape.slice(0, -1);
  return { M: sizeOf(lead), K, N, R, lead };
}

/** y = x w + scale (x a) b for x [..., K]; also returns h = x a [M, R] for the backward pass. */
function loraLinear(ctx: KernelContext): KernelResult {
  const { M, K, N, R, lead } = loraDims(ctx);
  const y = newF32(ctx.backend, M * N), h = newF32(ctx.backend, M * R);
  ctx.addon.loraLinear(need(ctx, "x"), need(ctx, "w"), need(ctx, "a"), need(ctx, "b"), y, h, M, K, N, R, Number(ctx.attrs.scale));
  return [output(ctx.backend, [...lead, N], y), output(ctx.backend, [M, R], h)];
}

/** dx, da, db (and dw unless attr frozen) of loraLinear. */
function loraLinearGrad(ctx: KernelContext): KernelResult {
  const { M, K, N, R } = loraDims(ctx);
  const frozen = Boolean(ctx.attrs.frozen);
  const dx = newF32(ctx.backend, M * K), da = newF32(ctx.backend, K * R), db = newF32(ctx.backend, R * N);
  const dw = frozen ? null : newF32(ctx.backend, K * N);
  ctx.addon.loraLinearGrad(need(ctx, "dy"), need(ctx, "x"), need(ctx, "w"), need(ctx, "a"), need(ctx, "b"), need(ctx, "h"),
    dx, dw, da, db, M, K, N, R, Number(ctx.attrs.scale));
  const out = [output(ctx.backend, ctx.inputs.x!.shape.slice(), dx), output(ctx.backend, [K, R], da), output(ctx.backend, [R, N], db)];
  if (dw) out.push(output(ctx.backend, [K, N], dw));
  return out;
}

function int32Input(ctx: KernelContext, name: string): Int32Array {
  const v = i32(ctx.backend, ctx.inputs[name]);
  if (!v) throw new Error(`native fused kernel: input '${name}' must be an int32 tensor`);
  return v;
}

/** Weighted mean cross-entropy of logits [N, V] against targets [N]: [loss (scalar), probs [N, V]]. */
function softmaxXent(ctx: KernelContext): KernelResult {
  const [rows, cols] = ctx.inputs.logits!.shape as [number, number];
  const probs = newF32(ctx.backend, rows * cols), loss = newF32(ctx.backend, 1);
  ctx.addon.softmaxXent(need(ctx, "logits"), int32Input(ctx, "targets"), optional(ctx, "weights"), probs, loss, rows, cols, Number(ctx.attrs.denom));
  return [output(ctx.backend, [], loss), output(ctx.backend, [rows, cols], probs)];
}

function softmaxXentGrad(ctx: KernelContext): KernelResult {
  const [rows, cols] = ctx.inputs.probs!.shape as [number, number];
  const dx = newF32(ctx.backend, rows * cols);
  ctx.addon.softmaxXentGrad(need(ctx, "dy")[0]!, need(ctx, "probs"), int32Input(ctx, "targets"), optional(ctx, "weights"), dx, rows, cols,
    Number(ctx.attrs.denom));
  return output(ctx.backend, [rows, cols], dx);
}

export const fusedKernels: Record<string, NativeKernel> = {
  [FUSED.LayerNorm]: layerNorm,
  [FUSED.LayerNormGrad]: layerNormGrad,
  [FUSED.RmsNorm]: rmsNorm,
  [FUSED.RmsNormGrad]: rmsNormGrad,
  [FUSED.Attention]: attention,
  [FUSED.AttentionGrad]: attentionGrad,
  [FUSED.Adam]: adam,
  [FUSED.Linear]: linear,
  [FUSED.LinearGrad]: linearGrad,
  [FUSED.Unary]: extraUnary,
  [FUSED.AdamMulti]: adamMulti,
  [FUSED.Rope]: rope,
  [FUSED.SwiGlu]: swiglu,
  [FUSED.SwiGluGrad]: swigluGrad,
  [FUSED.LoraLinear]: loraLinear,
  [FUSED.LoraLinearGrad]: loraLinearGrad,
  [FUSED.SoftmaxXent]: softmaxXent,
  [FUSED.SoftmaxXentGrad]: softmaxXentGrad,
};
