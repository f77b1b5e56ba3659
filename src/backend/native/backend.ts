/**
 * The `native` TensorFlow.js backend: a second MathBackendCPU (same tensor storage, so every stock
 * cpu kernel runs on it unchanged) whose hot kernels are replaced by the addon's.
 *
 * MathBackendCPU comes from the one @tensorflow/tfjs-backend-cpu copy that @tensorflow/tfjs itself
 * loads (package.json pins both to 4.22.0 and npm dedupes them), so tensors, kernels and gradients
 * all share one tfjs-core engine.
 */
import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import type { NativeAddon } from "./addon.js";
import { BufferPool } from "./pool.js";
import { BACKEND_NAME, NATIVE_KERNELS, registerAll } from "./kernels/common.js";
import { convKernels } from "./kernels/conv.js";
import { elementwiseKernels } from "./kernels/elementwise.js";
import { fusedKernels } from "./kernels/fused.js";
import { layoutKernels } from "./kernels/layout.js";
import { matmulKernels } from "./kernels/matmul.js";
import { reduceKernels } from "./kernels/reduce.js";

/** Above cpu (1) and wasm (2): when this module is loaded, tfjs' automatic choice prefers it. */
const PRIORITY = 3;

type DataId = object;
type BackendValues = tf.backend_util.BackendValues;

export class NativeBackend extends MathBackendCPU {
  /** Output arrays of native kernels, recycled when their tensors are disposed (see pool.ts). */
  readonly pool: BufferPool;

  constructor(readonly addon: NativeAddon, usePool = process.env.OMNI_NATIVE_POOL !== "0") {
    super();
    // MathBackendCPU's first write() prints "install tfjs-node to speed things up": not true here.
    (this as unknown as { firstUse: boolean }).firstUse = false;
    this.pool = usePool ? new BufferPool() : new BufferPool(Infinity, 0);
  }

  override write(values: BackendValues, shape: number[], dtype: tf.DataType): DataId {
    this.pool.noteStored(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.pool.noteStored(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: DataId): BackendValues {
    const values = super.readSync(dataId);
    this.pool.noteEscaped(values);
    return values;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.release(values);
    return released;
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}

let registeredWith: NativeAddon | undefined;

/** Registers the backend and its kernels once; later calls are no-ops. */
export function registerBackendOnce(addon: NativeAddon): void {
  if (registeredWith) return;
  // The stock cpu kernels first: every kernel the addon does not implement runs as on `cpu`.
  for (const kernel of tf.getKernelsForBackend("cpu")) {
    if (!tf.getKernel(kernel.kernelName, BACKEND_NAME)) tf.registerKernel({ ...kernel, backendName: BACKEND_NAME });
  }
  for (const table of [matmulKernels, elementwiseKernels, reduceKernels, layoutKernels, convKernels, fusedKernels]) {
    registerAll(addon, table);
  }
  tf.registerBackend(BACKEND_NAME, () => new NativeBackend(addon), PRIORITY);
  registeredWith = addon;
}

/** Kernels the addon implements (the rest are the stock cpu kernels). */
export function nativeKernelNames(): string[] {
  return [...NATIVE_KERNELS].sort();
}
