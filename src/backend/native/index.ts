/**
 * The native CPU backend (Node-API addon over OpenBLAS), registered into TensorFlow.js as `native`.
 *
 *   registerNativeBackend({ threads })  loads native/build/Release/omni_native.node (or
 *                                       $OMNI_NATIVE_ADDON), registers the backend, sets the threads,
 *                                       and resolves to a one-line description; rejects with a
 *                                       one-line reason when the addon is missing or broken.
 *
 * Threads: OpenBLAS worker threads for GEMM-based kernels (matmul, attention, conv). Default 1, the
 * best setting measured on the 2-core lab machine (see scripts/bench.ts and the report); override
 * with the `threads` option or $OMNI_THREADS. The other kernels are single-threaded.
 */
import { addonPath, loadAddon, type NativeAddon } from "./addon.js";
import { nativeKernelNames, registerBackendOnce } from "./backend.js";

export interface NativeOptions {
  threads?: number;
}

export const DEFAULT_THREADS = 1;

export { nativeKernelNames } from "./backend.js";
export { KERNEL_STATS } from "./kernels/common.js";
export { addonPath, loadAddon } from "./addon.js";

let active: NativeAddon | undefined;

function threadsFrom(options: NativeOptions): number {
  const raw = options.threads ?? (process.env.OMNI_THREADS ? Number(process.env.OMNI_THREADS) : DEFAULT_THREADS);
  if (!Number.isInteger(raw) || raw < 1) throw new Error(`native: threads must be a positive integer, got ${raw}`);
  return raw;
}

export async function registerNativeBackend(options: NativeOptions = {}): Promise<string> {
  const load = loadAddon(addonPath());
  if (!load.ok) throw new Error(load.reason);
  const threads = threadsFrom(options);
  load.addon.setThreads(threads);
  registerBackendOnce(load.addon);
  active = load.addon;
  const blas = load.addon.blasConfig();
  const version = /OpenBLAS [\d.]+/.exec(blas)?.[0] ?? "OpenBLAS";
  const core = /core=(\S+)/.exec(blas)?.[1];
  return `native addon (${version}${core ? ` ${core}` : ""}, ${threads} thread${threads === 1 ? "" : "s"}, ${nativeKernelNames().length} native kernels)`;
}

/** The loaded addon, once registerNativeBackend succeeded (benchmarks use it for raw timings). */
export function nativeAddon(): NativeAddon | undefined {
  return active;
}

/** Changes the OpenBLAS thread count of the loaded addon. */
export function setNativeThreads(threads: number): void {
  if (!active) throw new Error("native backend not registered");
  active.setThreads(threadsFrom({ threads }));
}
