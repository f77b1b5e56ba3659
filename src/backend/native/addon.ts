/**
 * Loads the compiled Node-API addon (native/build/Release/omni_native.node) and describes its API.
 *
 * The path can be overridden with $OMNI_NATIVE_ADDON (tests point it at a missing file to exercise the
 * fallback). Loading never throws past `loadAddon`: the caller gets either the addon or a one-line
 * reason that names the fix.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The addon's functions; argument order is documented above each C++ definition in native/src. */
export interface NativeAddon {
  matmul(
    a: Float32Array, b: Float32Array, out: Float32Array, batch: number, aIndex: Int32Array, bIndex: Int32Array,
    m: number, n: number, k: number, transA: boolean, transB: boolean, bias: Float32Array | null, act: number,
    alpha: number,
  ): void;
  linearGrad(
    dy: Float32Array, x: Float32Array, w: Float32Array, y: Float32Array | null, dx: Float32Array | null, dw: Float32Array | null,
    db: Float32Array | null, m: number, k: number, n: number, act: number,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
  blasConfig(): string;
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: Int32Array, aStrides: Int32Array, bStrides: Int32Array): void;
  compare(op: number, a: Float32Array, b: Float32Array, out: Uint8Array, shape: Int32Array, aStrides: Int32Array, bStrides: Int32Array): void;
  unary(op: number, x: Float32Array, out: Float32Array, p0: number, p1: number): void;
  addN(out: Float32Array, ...xs: Float32Array[]): void;
  reduce(op: number, x: Float32Array, out: Float32Array, outer: number, red: number, inner: number): void;
  argReduce(x: Float32Array, out: Int32Array, outer: number, red: number, inner: number, isMax: boolean): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void;
  sumSquares(x: Float32Array): number;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  gather(x: Float32Array, indices: Int32Array, out: Float32Array, outer: number, axisLen: number, inner: number): void;
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, numSegments: number, inner: number): void;
  layerNorm(
    x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, out: Float32Array, mean: Float32Array,
    rstd: Float32Array, rows: number, cols: number, eps: number,
  ): void;
  layerNormGrad(
    dy: Float32Array, x: Float32Array, gamma: Float32Array | null, mean: Float32Array, rstd: Float32Array,
    dx: Float32Array, dgamma: Float32Array | null, dbeta: Float32Array | null, rows: number, cols: number,
  ): void;
  rmsNorm(x: Float32Array, gamma: Float32Array | null, out: Float32Array, rstd: Float32Array, rows: number, cols: number, eps: number): void;
  rmsNormGrad(
    dy: Float32Array, x: Float32Array, gamma: Float32Array | null, rstd: Float32Array, dx: Float32Array,
    dgamma: Float32Array | null, rows: number, cols: number,
  ): void;
  /** layouts: (offset, batch stride, head stride, row stride) for q, k, v and out (see native/src/attention.cc). */
  attention(
    q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array | null, maskStrides: Int32Array | null,
    out: Float32Array, probs: Float32Array, batch: number, heads: number, tq: number, tk: number, d: number, dv: number,
    scale: number, causal: boolean, layouts: Int32Array, groups?: number,
  ): void;
  attentionGrad(
    dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array, dq: Float32Array,
    dk: Float32Array, dv: Float32Array, batch: number, heads: number, tq: number, tk: number, d: number, dvDim: number,
    scale: number, layouts: Int32Array, groups?: number,
  ): void;
  adam(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array,
    vOut: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, gradScale: number,
    bc1: number, bc2: number,
  ): void;
  /** Eight hyper-parameters, then (param, grad, m, v, outParam, outM, outV) per parameter. */
  adamMulti(
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, gradScale: number, bc1: number, bc2: number,
    ...arrays: Float32Array[]
  ): void;
  rope(x: Float32Array, cos: Float32Array, sin: Float32Array, out: Float32Array, b: number, t: number, h: number, d: number, cosBatch: number, inverse: boolean): void;
  swiglu(g: Float32Array, u: Float32Array, out: Float32Array): void;
  swigluGrad(dy: Float32Array, g: Float32Array, u: Float32Array, dg: Float32Array, du: Float32Array): void;
  loraLinear(x: Float32Array, w: Float32Array, a: Float32Array, b: Float32Array, y: Float32Array, h: Float32Array, m: number, k: number, n: number, r: number, scale: number): void;
  loraLinearGrad(
    dy: Float32Array, x: Float32Array, w: Float32Array, a: Float32Array, b: Float32Array, h: Float32Array, dx: Float32Array | null,
    dw: Float32Array | null, da: Float32Array, db: Float32Array, m: number, k: number, n: number, r: number, scale: number,
  ): void;
  softmaxXent(logits: Float32Array, targets: Int32Array, weights: Float32Array | null, probs: Float32Array, loss: Float32Array, rows: number, cols: number, denom: number): void;
  softmaxXentGrad(dloss: number, probs: Float32Array, targets: Int32Array, weights: Float32Array | null, dlogits: Float32Array, rows: number, cols: number, denom: number): void;
  conv(x: Float32Array, w: Float32Array, out: Float32Array, geom: Int32Array): void;
  convGradInput(dy: Float32Array, w: Float32Array, dx: Float32Array, geom: Int32Array): void;
  convGradFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, geom: Int32Array): void;
}

export type AddonLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; reason: string; path: string };

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root: src/backend/native -> ../../.. */
export const REPO_ROOT = resolve(here, "..", "..", "..");
export const DEFAULT_ADDON_PATH = resolve(REPO_ROOT, "native", "build", "Release", "omni_native.node");

export function addonPath(): string {
  const override = process.env.OMNI_NATIVE_ADDON;
  return override && override.trim() !== "" ? resolve(override) : DEFAULT_ADDON_PATH;
}

const REQUIRED: Array<keyof NativeAddon> = ["matmul", "binary", "unary", "reduce", "softmax", "transpose", "adam", "conv", "rope", "loraLinear", "adamMulti"];

let cached: { path: string; result: AddonLoad } | undefined;

/** Loads (once per path) and checks the addon. */
export function loadAddon(path: string = addonPath()): AddonLoad {
  if (cached && cached.path === path) return cached.result;
  const rel = path.startsWith(REPO_ROOT) ? path.slice(REPO_ROOT.length + 1) : path;
  let result: AddonLoad;
  if (!existsSync(path)) {
    result = { ok: false, path, reason: `addon not built: ${rel} missing; run npm run build:native` };
  } else {
    try {
      const addon = createRequire(import.meta.url)(path) as NativeAddon;
      const missing = REQUIRED.filter((name) => typeof addon[name] !== "function");
      result =
        missing.length > 0
          ? { ok: false, path, reason: `addon ${rel} is stale (no ${missing.join(", ")}); run npm run build:native` }
          : { ok: true, path, addon };
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
      result = { ok: false, path, reason: `addon ${rel} failed to load: ${msg}; run npm run build:native` };
    }
  }
  cached = { path, result };
  return result;
}
