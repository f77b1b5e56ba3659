/**
 * Data movement: Transpose, GatherV2 (embeddings, index selection), UnsortedSegmentSum (the
 * gradient of gather), and strided Slice / Concat / Pack as runs of TypedArray.set (memcpy) instead
 * of the cpu kernels' per-element loops (RoPE's rotate-half slices and concatenates the last axis).
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelContext, type KernelResult, type NativeKernel, f32, i32, newF32, output, sizeOf } from "./common.js";

/** Native transpose of a float32 tensor's values; exported for the reductions and fused ops. */
export function transposeValues(ctx: KernelContext, x: tf.TensorInfo, xv: Float32Array, perm: number[]): Float32Array {
  const out = newF32(ctx.backend, xv.length);
  ctx.addon.transpose(xv, out, Int32Array.from(x.shape), Int32Array.from(perm));
  return out;
}

function transpose(ctx: KernelContext): KernelResult | null {
  const x = ctx.inputs.x!;
  const xv = f32(ctx.backend, x);
  if (!xv) return null;
  const perm = (ctx.attrs.perm as number[]).map((p) => (p < 0 ? p + x.shape.length : p));
  if (x.shape.length === 0) return null;
  const out = transposeValues(ctx, x, xv, perm);
  return output(ctx.backend, perm.map((p) => x.shape[p]!), out);
}

function gather(ctx: KernelContext): KernelResult | null {
  const x = ctx.inputs.x!, indices = ctx.inputs.indices!;
  const xv = f32(ctx.backend, x), iv = i32(ctx.backend, indices);
  if (!xv || !iv || Number(ctx.attrs.batchDims ?? 0) !== 0 || x.shape.length === 0) return null;
  let axis = Number(ctx.attrs.axis ?? 0);
  if (axis < 0) axis += x.shape.length;
  const outer = sizeOf(x.shape.slice(0, axis));
  const axisLen = x.shape[axis]!;
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = newF32(ctx.backend, sizeOf(outShape));
  ctx.addon.gather(xv, iv, out, outer, axisLen, inner);
  return output(ctx.backend, outShape, out);
}

function unsortedSegmentSum(ctx: KernelContext): KernelResult | null {
  const x = ctx.inputs.x!, ids = ctx.inputs.segmentIds!;
  const xv = f32(ctx.backend, x), iv = i32(ctx.backend, ids);
  if (!xv || !iv) return null;
  const prefix = x.shape.slice(0, ids.shape.length);
  if (ids.shape.length === 0 || !prefix.every((d, i) => d === ids.shape[i])) return null;
  const numSegments = Number(ctx.attrs.numSegments);
  const rest = x.shape.slice(ids.shape.length);
  const inner = sizeOf(rest);
  const out = newF32(ctx.backend, numSegments * inner);
  ctx.addon.segmentSum(xv, iv, out, numSegments, inner);
  return output(ctx.backend, [numSegments, ...rest], out);
}

/** Slices that are not one contiguous block (contiguous ones stay zero-copy views on the cpu kernel). */
function slice(ctx: KernelContext): KernelResult | null {
  const x = ctx.inputs.x!;
  const xv = f32(ctx.backend, x);
  if (!xv || x.shape.length === 0) return null;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, ctx.attrs.begin as number[], ctx.attrs.size as number[]);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) return null;
  const rank = x.shape.length;
  // Copy runs: the trailing dims that are taken whole merge into the innermost run.
  let run = size[rank - 1]!, d = rank - 1;
  while (d > 0 && size[d] === x.shape[d] && begin[d] === 0) {
    d--;
    run *= size[d]!;
  }
  const outerDims = size.slice(0, d);
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * x.shape[i + 1]!;
  const out = newF32(ctx.backend, sizeOf(size));
  const idx = new Array<number>(outerDims.length).fill(0);
  let base = 0;
  for (let i = 0; i < rank; i++) base += begin[i]! * strides[i]!;
  const runs = sizeOf(outerDims);
  for (let r = 0, o = 0; r < runs; r++, o += run) {
    let src = base;
    for (let i = 0; i < idx.length; i++) src += idx[i]! * strides[i]!;
    out.set(xv.subarray(src, src + run), o);
    for (let i = idx.length - 1; i >= 0; i--) {
      if (++idx[i]! < outerDims[i]!) break;
      idx[i] = 0;
    }
  }
  return output(ctx.backend, size, out);
}

/** Concatenation along `axis` of tensors whose other dims agree (Concat, and Pack = stack). */
function concatValues(ctx: KernelContext, parts: tf.TensorInfo[], axis: number, outShape: number[]): KernelResult | null {
  const vals = parts.map((t) => f32(ctx.backend, t));
  if (vals.some((v) => !v)) return null;
  const outer = sizeOf(outShape.slice(0, axis));
  const inner = parts.map((t) => (outer === 0 ? 0 : sizeOf(t.shape) / outer));
  const out = newF32(ctx.backend, sizeOf(outShape));
  let o = 0;
  for (let r = 0; r < outer; r++) {
    for (let i = 0; i < parts.length; i++) {
      const n = inner[i]!;
      if (n > 0) out.set(vals[i]!.subarray(r * n, (r + 1) * n), o);
      o += n;
    }
  }
  return output(ctx.backend, outShape, out);
}

function concat(ctx: KernelContext): KernelResult | null {
  const parts = (Object.values(ctx.inputs) as tf.TensorInfo[]).filter((t) => sizeOf(t.shape) > 0);
  const all = Object.values(ctx.inputs) as tf.TensorInfo[];
  if (all.length === 0 || all.some((t) => t.dtype !== "float32")) return null;
  const axis = tf.util.parseAxisParam(ctx.attrs.axis as number, all[0]!.shape)[0]!;
  const outShape = tf.backend_util.computeOutShape(all.map((t) => t.shape), axis);
  if (parts.length === 0) return output(ctx.backend, outShape, newF32(ctx.backend, 0));
  return concatValues(ctx, parts, axis, outShape);
}

function pack(ctx: KernelContext): KernelResult | null {
  const parts = Object.values(ctx.inputs) as tf.TensorInfo[];
  if (parts.length === 0 || parts.some((t) => t.dtype !== "float32")) return null;
  const shape = parts[0]!.shape;
  let axis = Number(ctx.attrs.axis ?? 0);
  if (axis < 0) axis += shape.length + 1;
  const outShape = [...shape.slice(0, axis), parts.length, ...shape.slice(axis)];
  return concatValues(ctx, parts, axis, outShape);
}

export const layoutKernels: Record<string, NativeKernel> = {
  Slice: slice,
  Concat: concat,
  Pack: pack,
  Transpose: transpose,
  GatherV2: gather,
  UnsortedSegmentSum: unsortedSegmentSum,
};
