/**
 * Elementwise kernels: binary ops and comparisons with numpy broadcasting, unary ops, AddN.
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelContext, type KernelResult, type NativeKernel, f32, newF32, output, sizeOf } from "./common.js";

/** Op codes of native/src/elementwise.cc. */
const BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, Maximum: 4, Minimum: 5, SquaredDifference: 6, Pow: 7 };
const COMPARE = { Equal: 0, NotEqual: 1, Less: 2, LessEqual: 3, Greater: 4, GreaterEqual: 5 };
export const UNARY = {
  Exp: 0, Log: 1, Sqrt: 2, Rsqrt: 3, Neg: 4, Abs: 5, Square: 6, Reciprocal: 7, Tanh: 8, Sigmoid: 9, Relu: 10,
  Relu6: 11, LeakyRelu: 12, Elu: 13, Step: 14, Softplus: 15, Erf: 16, Sin: 17, Cos: 18, ClipByValue: 19, Sign: 20,
  Log1p: 21, Expm1: 22, Floor: 23, Ceil: 24, Selu: 25,
  // Not tfjs kernels: used by the fused ops of ../ops.ts.
  GeluTanh: 26, GeluErf: 27, Silu: 28, GeluTanhGrad: 29, GeluErfGrad: 30, SiluGrad: 31,
} as const;

export interface BroadcastPlan {
  outShape: number[];
  shape: Int32Array;
  aStrides: Int32Array;
  bStrides: Int32Array;
}

/**
 * Output shape and per-input strides (0 on broadcast dims), with size-1 dims dropped and adjacent
 * dims merged where both inputs are contiguous across them, so that the native inner loop is long.
 */
export function planBroadcast(aShape: number[], bShape: number[]): BroadcastPlan {
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
  const rank = outShape.length;
  const stridesOf = (s: number[]) => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const i = d - (rank - s.length);
      const dim = i >= 0 ? s[i]! : 1;
      st[d] = dim === 1 ? 0 : acc;
      acc *= dim;
    }
    return st;
  };
  const sa = stridesOf(aShape), sb = stridesOf(bShape);
  const dims: number[] = [], da: number[] = [], db: number[] = [];
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && da[last] === sa[d]! * outShape[d]! && db[last] === sb[d]! * outShape[d]!) {
      // Merge with the previous dim: both inputs step contiguously (or not at all) across the pair.
      dims[last] = dims[last]! * outShape[d]!;
      da[last] = sa[d]!;
      db[last] = sb[d]!;
    } else {
      dims.push(outShape[d]!);
      da.push(sa[d]!);
      db.push(sb[d]!);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    da.push(0);
    db.push(0);
  }
  return { outShape, shape: Int32Array.from(dims), aStrides: Int32Array.from(da), bStrides: Int32Array.from(db) };
}

function binary(op: number) {
  return ({ addon, inputs, backend }: KernelContext): KernelResult | null => {
    const a = inputs.a!, b = inputs.b!;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv) return null;
    const plan = planBroadcast(a.shape, b.shape);
    const out = newF32(backend, sizeOf(plan.outShape));
    addon.binary(op, av, bv, out, plan.shape, plan.aStrides, plan.bStrides);
    return output(backend, plan.outShape, out);
  };
}

function compare(op: number) {
  return ({ addon, inputs, backend }: KernelContext): KernelResult | null => {
    const a = inputs.a!, b = inputs.b!;
    const av = f32(backend, a), bv = f32(backend, b);
    if (!av || !bv) return null;
    const plan = planBroadcast(a.shape, b.shape);
    const out = new Uint8Array(sizeOf(plan.outShape));
    addon.compare(op, av, bv, out, plan.shape, plan.aStrides, plan.bStrides);
    return output(backend, plan.outShape, out, "bool");
  };
}

/** Runs unary op `op` on a float32 tensor; exported for the fused ops. */
export function unaryOn(ctx: KernelContext, op: number, x: tf.TensorInfo, p0 = 0, p1 = 0): tf.TensorInfo | null {
  const xv = f32(ctx.backend, x);
  if (!xv) return null;
  const out = newF32(ctx.backend, xv.length);
  ctx.addon.unary(op, xv, out, p0, p1);
  return output(ctx.backend, x.shape.slice(), out);
}

function unary(op: number, params?: (attrs: tf.NamedAttrMap) => [number, number]) {
  return (ctx: KernelContext): KernelResult | null => {
    const [p0, p1] = params ? params(ctx.attrs) : [0, 0];
    return unaryOn(ctx, op, ctx.inputs.x!, p0, p1);
  };
}

function addN({ addon, inputs, backend }: KernelContext): KernelResult | null {
  const xs = Object.values(inputs) as tf.TensorInfo[];
  if (xs.length === 0) return null;
  const vals = xs.map((t) => f32(backend, t));
  const shape = xs[0]!.shape;
  if (vals.some((v) => !v) || xs.some((t) => !tf.util.arraysEqual(t.shape, shape))) return null;
  const out = newF32(backend, sizeOf(shape));
  addon.addN(out, ...(vals as Float32Array[]));
  return output(backend, shape.slice(), out);
}

export const elementwiseKernels: Record<string, NativeKernel> = {
  ...Object.fromEntries(Object.entries(BINARY).map(([name, op]) => [name, binary(op)])),
  ...Object.fromEntries(Object.entries(COMPARE).map(([name, op]) => [name, compare(op)])),
  Exp: unary(UNARY.Exp),
  Log: unary(UNARY.Log),
  Sqrt: unary(UNARY.Sqrt),
  Rsqrt: unary(UNARY.Rsqrt),
  Neg: unary(UNARY.Neg),
  Abs: unary(UNARY.Abs),
  Square: unary(UNARY.Square),
  Reciprocal: unary(UNARY.Reciprocal),
  Tanh: unary(UNARY.Tanh),
  Sigmoid: unary(UNARY.Sigmoid),
  Relu: unary(UNARY.Relu),
  Relu6: unary(UNARY.Relu6),
  LeakyRelu: unary(UNARY.LeakyRelu, (a) => [Number(a.alpha ?? 0.2), 0]),
  Elu: unary(UNARY.Elu),
  Step: unary(UNARY.Step, (a) => [Number(a.alpha ?? 0), 0]),
  Softplus: unary(UNARY.Softplus),
  Erf: unary(UNARY.Erf),
  Sin: unary(UNARY.Sin),
  Cos: unary(UNARY.Cos),
  ClipByValue: unary(UNARY.ClipByValue, (a) => [Number(a.clipValueMin), Number(a.clipValueMax)]),
  Sign: unary(UNARY.Sign),
  Log1p: unary(UNARY.Log1p),
  Expm1: unary(UNARY.Expm1),
  Floor: unary(UNARY.Floor),
  Ceil: unary(UNARY.Ceil),
  Selu: unary(UNARY.Selu),
  AddN: addN,
};
