/**
 * What every native kernel needs: the addon, typed-array access to tensors stored by the cpu backend,
 * output allocation, and registration with a fall-back to the stock cpu kernel.
 *
 * A native kernel function returns `null` when it does not handle a case (another dtype, an
 * attribute it does not implement); the stock cpu kernel then runs instead, so every case tfjs
 * supports keeps working.
 */
import * as tf from "@tensorflow/tfjs";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { NativeAddon } from "../addon.js";

export const BACKEND_NAME = "native";

type TensorInfo = tf.TensorInfo;
export type Inputs = tf.NamedTensorInfoMap;
export type Attrs = tf.NamedAttrMap;
export type KernelResult = TensorInfo | TensorInfo[];

export interface KernelContext {
  addon: NativeAddon;
  inputs: Inputs;
  backend: MathBackendCPU;
  attrs: Attrs;
}

export type NativeKernel = (ctx: KernelContext) => KernelResult | null;

/** The float32 values of a tensor, or null when it is not a float32 tensor held as a Float32Array. */
export function f32(backend: MathBackendCPU, t: TensorInfo | undefined): Float32Array | null {
  if (!t || t.dtype !== "float32") return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/** Like f32, for int32 tensors (indices, segment ids). */
export function i32(backend: MathBackendCPU, t: TensorInfo | undefined): Int32Array | null {
  if (!t || t.dtype !== "int32") return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Int32Array ? values : null;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A Float32Array for a kernel output, from the backend's pool when it has one (native/backend.ts).
 * Its contents are undefined: the kernel must write every element.
 */
export function newF32(backend: MathBackendCPU, n: number): Float32Array {
  const pool = (backend as unknown as { pool?: { alloc(n: number): Float32Array } }).pool;
  return pool ? pool.alloc(n) : new Float32Array(n);
}

/** Wraps a Float32Array the kernel filled as a tensor of the backend, without copying. */
export function output(backend: MathBackendCPU, shape: number[], values: Float32Array | Int32Array | Uint8Array, dtype: tf.DataType = "float32"): TensorInfo {
  return backend.makeTensorInfo(shape, dtype, values);
}

/** Registers `fn` for `kernelName` on the native backend, falling back to the cpu kernel on null. */
export function registerNative(addon: NativeAddon, kernelName: string, fn: NativeKernel): void {
  const cpu = tf.getKernel(kernelName, "cpu");
  if (tf.getKernel(kernelName, BACKEND_NAME)) tf.unregisterKernel(kernelName, BACKEND_NAME);
  tf.registerKernel({
    kernelName,
    backendName: BACKEND_NAME,
    kernelFunc: (args) => {
      const ctx: KernelContext = {
        addon,
        inputs: args.inputs,
        backend: args.backend as MathBackendCPU,
        attrs: args.attrs ?? {},
      };
      const result = fn(ctx);
      const stats = KERNEL_STATS.get(kernelName);
      if (result !== null) {
        if (stats) stats.native++;
        return result;
      }
      if (stats) stats.fallback++;
      if (!cpu) throw new Error(`native ${kernelName}: case not supported and there is no cpu kernel to fall back to`);
      return cpu.kernelFunc(args) as KernelResult;
    },
  });
}

/** Names of the kernels this module overrides, filled as they register (for reports and tests). */
export const NATIVE_KERNELS = new Set<string>();

/** Per overridden kernel: calls served natively and calls passed to the cpu kernel (tests check it). */
export const KERNEL_STATS = new Map<string, { native: number; fallback: number }>();

export function registerAll(addon: NativeAddon, table: Record<string, NativeKernel>): void {
  for (const [name, fn] of Object.entries(table)) {
    registerNative(addon, name, fn);
    NATIVE_KERNELS.add(name);
    if (!KERNEL_STATS.has(name)) KERNEL_STATS.set(name, { native: 0, fallback: 0 });
  }
}
