/**
 * Kernels that tfjs does not have, used by the fused ops of ../ops.ts and the optimizer of
 * ../adamw.ts: layer/RMS normalisation, scaled dot-product attention (each with its backward kernel),
 * a fused Adam/AdamW step, and extra unary maps (GELU, SiLU and their derivatives).
 * They exist only on the native backend; ops.ts composes stock ops on every other backend.
 */
import type * as tf from "@tensorflow/tfjs";
import { type KernelContext, type KernelResult, type NativeKernel, f32, newF32, output, sizeOf } from "./common.js";
import { unaryOn } from "./elementwise.js";

export const FUSED = {
  LayerNorm: "OmniLayerNorm",
  LayerNormGrad: "OmniLayerNormGrad",
  RmsNorm: "OmniRmsNorm",
  RmsNormGrad: "OmniRmsNormGrad",
  Attention: "OmniAttention",
  AttentionGrad: "OmniAttentionGrad",
  Adam: "OmniAdam",
  Linear: "OmniLinear",
  LinearGrad: "OmniLinearGrad",
  Unary: "OmniUnary",
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

function rmsNormGrad(ctx: KernelContext): KernelResult {
  const x = ctx.inputs.x!;
  const [rows, cols] = rowsCols(x);
  const dx = newF32(ctx.backend, rows * cols), dgamma = newF32(ctx.backend, cols);
  ctx.addon.rmsNormGrad(need(ctx, "dy"), need(ctx, "x"), optional(ctx, "gamma"), need(ctx, "rstd"), dx, dgamma, rows, cols);
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
 *   BHTD    q [B, H, Tq, D], k/v [B, H, Tk, D|Dv], out [B, H, Tq, Dv]
 *   BTHD    q [B, Tq, H, D], k/v [B, Tk, H, D|Dv], out [B, Tq, H, Dv]   (no transposes needed)
 *   packed  qkv [B, T, 3 * H * D] (q, k, v side by side, as one projection makes them), out [B, T, H * D]
 */
export type AttentionLayout = "BHTD" | "BTHD" | "packed";

interface AttentionPlan {
  B: number; H: number; Tq: number; Tk: number; D: number; Dv: number;
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
      B, H, Tq: T, Tk: T, D, Dv: D, operands: ["qkv"], outShape: [B, T, H * D],
      layouts: Int32Array.from([...view(0), ...view(H * D), ...view(2 * H * D), 0, T * H * D, D, H * D]),
    };
  }
  const q = inputs.q!.shape, k = inputs.k!.shape, v = inputs.v!.shape;
  const bthd = layout === "BTHD";
  const [B, H, Tq, D] = bthd ? [q[0]!, q[2]!, q[1]!, q[3]!] : [q[0]!, q[1]!, q[2]!, q[3]!];
  const Tk = bthd ? k[1]! : k[2]!, Dv = v[3]!;
  const view = (T: number, cols: number) => (bthd ? [0, T * H * cols, cols, H * cols] : [0, H * T * cols, T * cols, cols]);
  return {
    B, H, Tq, Tk, D, Dv, operands: ["q", "k", "v"], outShape: bthd ? [B, Tq, H, Dv] : [B, H, Tq, Dv],
    layouts: Int32Array.from([...view(Tq, D), ...view(Tk, D), ...view(Tk, Dv), ...view(Tq, Dv)]),
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
    p.B, p.H, p.Tq, p.Tk, p.D, p.Dv, Number(ctx.attrs.scale), Boolean(ctx.attrs.causal), p.layouts);
  return [output(ctx.backend, p.outShape, out), output(ctx.backend, [p.B, p.H, p.Tq, p.Tk], probs)];
}

function attentionGrad(ctx: KernelContext): KernelResult {
  const p = planAttention(ctx.inputs, ctx.attrs);
  const [q, k, v] = operands(ctx, p);
  const grads = p.operands.map((name) => ({ shape: ctx.inputs[name]!.shape.slice(), values: newF32(ctx.backend, sizeOf(ctx.inputs[name]!.shape)) }));
  const [dq, dk, dv] = grads.length === 1 ? [grads[0]!, grads[0]!, grads[0]!] : grads;
  ctx.addon.attentionGrad(need(ctx, "dy"), q, k, v, need(ctx, "probs"), dq!.values, dk!.values, dv!.values,
    p.B, p.H, p.Tq, p.Tk, p.D, p.Dv, Number(ctx.attrs.scale), p.layouts);
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
  const dx = newF32(ctx.backend, M * K), dw = newF32(ctx.backend, K * N);
  const db = ctx.attrs.hasBias ? newF32(ctx.backend, N) : null;
  ctx.addon.linearGrad(need(ctx, "dy"), need(ctx, "x"), need(ctx, "w"), act === 0 ? null : need(ctx, "y"), dx, dw, db, M, K, N, act);
  const out = [output(ctx.backend, x.shape.slice(), dx), output(ctx.backend, [K, N], dw)];
  if (db) out.push(output(ctx.backend, [N], db));
  return out;
}

function extraUnary(ctx: KernelContext): KernelResult {
  const y = unaryOn(ctx, Number(ctx.attrs.op), ctx.inputs.x!, Number(ctx.attrs.p0 ?? 0), Number(ctx.attrs.p1 ?? 0));
  if (!y) throw new Error("native OmniUnary: x must be a float32 tensor");
  return y;
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
};
