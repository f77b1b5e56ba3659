/**
 * Reductions (Sum, Mean, Max, Min, Prod), ArgMax/ArgMin and Softmax.
 *
 * Every reduction becomes [outer, red, inner] for the addon: reduced axes that are adjacent need no
 * data movement; otherwise the input is first transposed natively so the reduced axes come last.
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelContext, type KernelResult, type NativeKernel, f32, newF32, output, sizeOf } from "./common.js";

const REDUCE = { Sum: 0, Mean: 1, Max: 2, Min: 3, Prod: 4 };

interface ReducePlan {
  outer: number;
  red: number;
  inner: number;
  /** Transpose to apply first (null when the reduced axes are already adjacent). */
  perm: number[] | null;
  outShape: number[];
}

/** axisAttr null/undefined means every axis (as in tfjs). */
export function planReduce(shape: number[], axisAttr: number | number[] | null | undefined, keepDims: boolean): ReducePlan {
  const axes = [...new Set(tf.util.parseAxisParam(axisAttr as number | number[], shape))].sort((x, y) => x - y);
  const outShape = keepDims
    ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
    : shape.filter((_, i) => !axes.includes(i));
  const adjacent = axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
  if (axes.length === 0) return { outer: sizeOf(shape), red: 1, inner: 1, perm: null, outShape };
  if (adjacent) {
    const first = axes[0]!, last = axes[axes.length - 1]!;
    return {
      outer: sizeOf(shape.slice(0, first)),
      red: sizeOf(shape.slice(first, last + 1)),
      inner: sizeOf(shape.slice(last + 1)),
      perm: null,
      outShape,
    };
  }
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  return {
    outer: sizeOf(kept.map((i) => shape[i]!)),
    red: sizeOf(axes.map((i) => shape[i]!)),
    inner: 1,
    perm: [...kept, ...axes],
    outShape,
  };
}

/** x's values, transposed by perm when given (natively, into a temporary outside the pool). */
function arranged(ctx: KernelContext, x: tf.TensorInfo, xv: Float32Array, perm: number[] | null): Float32Array {
  if (!perm) return xv;
  const out = new Float32Array(xv.length);
  ctx.addon.transpose(xv, out, Int32Array.from(x.shape), Int32Array.from(perm));
  return out;
}

function reduction(op: number, axisAttrName: "axis" | "reductionIndices") {
  return (ctx: KernelContext): KernelResult | null => {
    const x = ctx.inputs.x!;
    const xv = f32(ctx.backend, x);
    if (!xv) return null;
    const plan = planReduce(x.shape, ctx.attrs[axisAttrName] as number | number[] | null, Boolean(ctx.attrs.keepDims));
    const src = arranged(ctx, x, xv, plan.perm);
    const out = newF32(ctx.backend, plan.outer * plan.inner);
    ctx.addon.reduce(op, src, out, plan.outer, plan.red, plan.inner);
    return output(ctx.backend, plan.outShape, out);
  };
}

function argReduce(isMax: boolean) {
  return (ctx: KernelContext): KernelResult | null => {
    const x = ctx.inputs.x!;
    const xv = f32(ctx.backend, x);
    if (!xv) return null;
    const axes = tf.util.parseAxisParam(ctx.attrs.axis as number | number[], x.shape);
    if (axes.length !== 1 || x.shape[axes[0]!] === 0) return null;
    const plan = planReduce(x.shape, axes, false);
    const out = new Int32Array(plan.outer * plan.inner);
    ctx.addon.argReduce(xv, out, plan.outer, plan.red, plan.inner, isMax);
    return output(ctx.backend, plan.outShape, out, "int32");
  };
}

function softmax(ctx: KernelContext): KernelResult | null {
  const x = ctx.inputs.logits!;
  const xv = f32(ctx.backend, x);
  if (!xv || x.shape.length === 0) return null;
  const rank = x.shape.length;
  const dim = Number(ctx.attrs.dim ?? -1);
  if (dim !== -1 && dim !== rank - 1) return null;
  const cols = x.shape[rank - 1]!;
  const out = newF32(ctx.backend, xv.length);
  ctx.addon.softmax(xv, out, cols === 0 ? 0 : xv.length / cols, cols, false);
  return output(ctx.backend, x.shape.slice(), out);
}

export const reduceKernels: Record<string, NativeKernel> = {
  Sum: reduction(REDUCE.Sum, "axis"),
  Mean: reduction(REDUCE.Mean, "axis"),
  Max: reduction(REDUCE.Max, "reductionIndices"),
  Min: reduction(REDUCE.Min, "axis"),
  Prod: reduction(REDUCE.Prod, "axis"),
  ArgMax: argReduce(true),
  ArgMin: argReduce(false),
  Softmax: softmax,
};
