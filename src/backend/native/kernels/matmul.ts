/**
 * BatchMatMul and _FusedMatMul on OpenBLAS. Batch dims broadcast numpy-style (any ranks, any 1s),
 * which is more general than the stock cpu kernel (equal batches or one batch of 1).
 */
import { type KernelContext, type KernelResult, type NativeKernel, f32, newF32, output, sizeOf } from "./common.js";

/** Activation codes of native/src/activation.h. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

interface BatchPlan {
  outBatchShape: number[];
  batch: number;
  aIndex: Int32Array;
  bIndex: Int32Array;
}

/** For every output batch position, the matrix index in a and in b (numpy broadcasting). */
function planBatches(aBatch: number[], bBatch: number[]): BatchPlan {
  const rank = Math.max(aBatch.length, bBatch.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s] as number[];
  const a = pad(aBatch), b = pad(bBatch);
  const outBatchShape = a.map((d, i) => {
    const e = b[i]!;
    if (d !== e && d !== 1 && e !== 1) {
      throw new Error(`BatchMatMul: batch dims ${aBatch} and ${bBatch} do not broadcast`);
    }
    return d === 1 ? e : d;
  });
  const batch = sizeOf(outBatchShape);
  const aIndex = new Int32Array(batch), bIndex = new Int32Array(batch);
  // Strides of each input's batch dims, 0 where that input is broadcast.
  const strides = (s: number[]) => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      st[d] = s[d] === 1 ? 0 : acc;
      acc *= s[d]!;
    }
    return st;
  };
  const sa = strides(a), sb = strides(b);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < batch; i++) {
    let ia = 0, ib = 0;
    for (let d = 0; d < rank; d++) {
      ia += idx[d]! * sa[d]!;
      ib += idx[d]! * sb[d]!;
    }
    aIndex[i] = ia;
    bIndex[i] = ib;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < outBatchShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { outBatchShape, batch, aIndex, bIndex };
}

const ZERO = new Int32Array(1);

function matmul(ctx: KernelContext, biasName: string | null): KernelResult | null {
  const { addon, inputs, backend, attrs } = ctx;
  const a = inputs.a!, b = inputs.b!;
  const av = f32(backend, a), bv = f32(backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
  const transA = Boolean(attrs.transposeA), transB = Boolean(attrs.transposeB);
  let act = 0, alpha = 0;
  let bias: Float32Array | null = null;
  if (biasName !== null) {
    const activation = (attrs.activation as string | undefined) ?? "linear";
    if (!(activation in ACTIVATIONS) || inputs.preluActivationWeights) return null;
    act = ACTIVATIONS[activation]!;
    alpha = Number(attrs.leakyreluAlpha ?? 0.2);
    const bt = inputs[biasName];
    if (bt) {
      bias = f32(backend, bt);
      if (!bias) return null;
    }
  }
  const ra = a.shape.length, rb = b.shape.length;
  const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) throw new Error(`BatchMatMul: inner dims ${k} and ${kb} differ (shapes ${a.shape}, ${b.shape})`);
  if (bias) {
    const bShape = inputs[biasName!]!.shape;
    const rowVector = bias.length === n && (bShape.length === 0 || bShape[bShape.length - 1] === n);
    if (!(rowVector || bias.length === 1)) return null;
  }
  const plan = planBatches(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = newF32(backend, plan.batch * m * n);
  const aIsFull = sizeOf(a.shape.slice(0, -2)) === plan.batch;
  const bIsShared = sizeOf(b.shape.slice(0, -2)) === 1;
  if (!transA && aIsFull && bIsShared) {
    // A stack of matrices times one matrix is a single tall GEMM.
    addon.matmul(av, bv, out, 1, ZERO, ZERO, plan.batch * m, n, k, false, transB, bias, act, alpha);
  } else {
    addon.matmul(av, bv, out, plan.batch, plan.aIndex, plan.bIndex, m, n, k, transA, transB, bias, act, alpha);
  }
  return output(backend, [...plan.outBatchShape, m, n], out);
}

export const matmulKernels: Record<string, NativeKernel> = {
  BatchMatMul: (ctx) => matmul(ctx, null),
  _FusedMatMul: (ctx) => matmul(ctx, "bias"),
};
