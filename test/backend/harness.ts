/**
 * Shared helpers for the backend tests: seeded inputs, running one computation on the stock `cpu`
 * backend and on `native`, and tolerance checks.
 *
 * Availability: the native backend is expected when $OMNI_REQUIRE_NATIVE=1 (the test script sets it
 * when the build succeeded); then failing to load it is a test failure, not a skip.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-cpu";
import { KERNEL_STATS, registerNativeBackend } from "../../src/backend/native/index.js";
import { Rng } from "../../src/util/rng.js";

export const REQUIRE_NATIVE = process.env.OMNI_REQUIRE_NATIVE === "1";

let availability: Promise<{ ok: boolean; reason: string }> | undefined;

/** Registers the native backend once; `ok: false` with the loader's reason when it cannot. */
export function nativeAvailability(): Promise<{ ok: boolean; reason: string }> {
  availability ??= registerNativeBackend({ threads: 1 }).then(
    (reason) => ({ ok: true, reason }),
    (err: unknown) => ({ ok: false, reason: err instanceof Error ? err.message : String(err) }),
  );
  return availability;
}

/** Seeded float32 tensor, values uniform in [lo, hi). */
export function rand(seed: number | string, shape: number[], lo = -1, hi = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(lo, hi);
  return tf.tensor(a, shape, "float32");
}

export function randInt(seed: number | string, shape: number[], lo: number, hi: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(lo, hi);
  return tf.tensor(a, shape, "int32");
}

export interface Result {
  shape: number[];
  dtype: string;
  values: Float64Array;
}

function read(t: tf.Tensor): Result {
  return { shape: t.shape.slice(), dtype: t.dtype, values: Float64Array.from(t.dataSync() as ArrayLike<number>) };
}

/** Runs `fn` on `backend` (inputs must be built inside fn), returning copies of its outputs. */
export async function runOn(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  assert.ok(await tf.setBackend(backend), `setBackend(${backend})`);
  const before = tf.memory().numTensors;
  let results: Result[] = [];
  tf.tidy(() => {
    const out = fn();
    results = (Array.isArray(out) ? out : [out]).map(read);
  });
  assert.equal(tf.memory().numTensors, before, `${backend}: computation leaked tensors`);
  return results;
}

export interface Tolerance {
  /** |a - b| <= atol + rtol * |b| elementwise. */
  atol: number;
  rtol: number;
}

export function assertClose(actual: Result[], expected: Result[], tol: Tolerance, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: number of outputs`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.deepEqual(a.shape, e.shape, `${what}[${i}]: shape`);
    assert.equal(a.dtype, e.dtype, `${what}[${i}]: dtype`);
    for (let j = 0; j < a.values.length; j++) {
      const x = a.values[j]!, y = e.values[j]!;
      if (Number.isNaN(y) || Number.isNaN(x)) {
        assert.ok(Number.isNaN(x) && Number.isNaN(y), `${what}[${i}] element ${j}: ${x} vs ${y}`);
        continue;
      }
      if (x === y) continue; // also equal infinities
      const ok = Math.abs(x - y) <= tol.atol + tol.rtol * Math.abs(y);
      if (!ok) assert.fail(`${what}[${i}] element ${j} of ${a.values.length}: native ${x} vs cpu ${y} (atol ${tol.atol}, rtol ${tol.rtol})`);
    }
  });
}

/**
 * Same computation on cpu and native, outputs compared within `tol`. `served` names kernels that
 * must have run natively (not through the cpu fall-back) at least once during the native run.
 * `reference` replaces fn on cpu where the stock kernel cannot do the case (e.g. general batch
 * broadcasting in BatchMatMul).
 */
export async function compareBackends(
  what: string, fn: () => tf.Tensor | tf.Tensor[], tol: Tolerance,
  opts: { served?: string[]; reference?: () => tf.Tensor | tf.Tensor[] } = {},
): Promise<void> {
  const expected = await runOn("cpu", opts.reference ?? fn);
  const before = new Map([...KERNEL_STATS].map(([k, v]) => [k, v.native]));
  const actual = await runOn("native", fn);
  for (const name of opts.served ?? []) {
    const stats = KERNEL_STATS.get(name);
    assert.ok(stats, `${what}: ${name} is not a native kernel`);
    assert.ok(stats.native > (before.get(name) ?? 0), `${what}: ${name} did not run natively`);
  }
  assertClose(actual, expected, tol, what);
}

/** Counts the kernel calls `fn` makes per kernel name on the active backend (to check coverage). */
export async function kernelsUsed(fn: () => void): Promise<Set<string>> {
  const info = await tf.profile(() => {
    tf.tidy(fn);
  });
  return new Set(info.kernels.map((k) => k.name));
}
