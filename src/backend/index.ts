/**
 * Initialises TensorFlow.js on the best backend this machine has, and says which and why.
 *
 * Order (first that loads wins):
 *   1. `tensorflow`  libtensorflow through @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, when
 *                    importable (optional dependencies: their install downloads libtensorflow, which
 *                    works on a machine with network and fails harmlessly offline).
 *   2. `native`      the project's own Node-API addon (OpenBLAS kernels) registered as a tfjs backend.
 *   3. `wasm`        @tensorflow/tfjs-backend-wasm (SIMD, single thread in Node).
 *   4. `cpu`         the pure-JS reference backend.
 *
 * The environment variable OMNI_BACKEND (tensorflow | native | wasm | cpu | auto) overrides the order;
 * a forced backend that fails to load falls back down the list with a one-line warning naming the reason.
 */
import * as tf from "@tensorflow/tfjs";

export const BACKEND_ORDER = ["tensorflow", "native", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  /** Why it was chosen or why it failed. */
  reason: string;
}

export interface BackendChoice {
  name: BackendName;
  reason: string;
  attempts: BackendAttempt[];
}

export interface BackendOptions {
  /** Force a backend ("auto" = the default order). Defaults to $OMNI_BACKEND or "auto". */
  prefer?: BackendName | "auto";
  /** Threads for the native backend (default: $OMNI_THREADS, else the addon's own default). */
  threads?: number;
  /** Where warnings go (default: console.warn). */
  warn?: (line: string) => void;
}

let current: BackendChoice | undefined;

function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0]!.slice(0, 200);
}

async function tryTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(pkg);
      // danfojs-node's override aliases @tensorflow/tfjs-node to plain tfjs: importable, but no backend.
      if (tf.findBackendFactory("tensorflow") !== null) {
        return `${pkg} loaded (libtensorflow${pkg.endsWith("gpu") ? ", CUDA" : ""})`;
      }
      errors.push(`${pkg} importable but registers no 'tensorflow' backend`);
    } catch (err) {
      errors.push(`${pkg} not installed (${errorText(err)})`);
    }
  }
  throw new Error(errors.join("; "));
}

async function tryNative(threads?: number): Promise<string> {
  const native = await import("./native/index.js");
  return native.registerNativeBackend({ threads });
}

async function tryWasm(): Promise<string> {
  await import("@tensorflow/tfjs-backend-wasm");
  return "tfjs-backend-wasm (SIMD, one thread)";
}

async function load(name: BackendName, threads?: number): Promise<string> {
  switch (name) {
    case "tensorflow":
      return tryTensorflow();
    case "native":
      return tryNative(threads);
    case "wasm":
      return tryWasm();
    case "cpu":
      return "pure-JS reference backend";
  }
}

function parsePreference(raw: string | undefined): BackendName | "auto" {
  const v = (raw ?? "auto").trim().toLowerCase();
  if (v === "" || v === "auto") return "auto";
  if ((BACKEND_ORDER as readonly string[]).includes(v)) return v as BackendName;
  throw new Error(`OMNI_BACKEND=${raw}: unknown backend; use one of auto, ${BACKEND_ORDER.join(", ")}`);
}

/**
 * Picks and activates a backend. Idempotent: a second call with the same preference returns the
 * first choice.
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendChoice> {
  const prefer = options.prefer ?? parsePreference(process.env.OMNI_BACKEND);
  const threads = options.threads ?? (process.env.OMNI_THREADS ? Number(process.env.OMNI_THREADS) : undefined);
  const warn = options.warn ?? ((line: string) => console.warn(line));
  if (current && (prefer === "auto" || prefer === current.name)) return current;

  const order: BackendName[] =
    prefer === "auto" ? [...BACKEND_ORDER] : [prefer, ...BACKEND_ORDER.filter((b) => b !== prefer)];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    try {
      const how = await load(name, threads);
      const ok = await tf.setBackend(name);
      if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
      await tf.ready();
      attempts.push({ name, ok: true, reason: how });
      const skipped = attempts.filter((a) => !a.ok);
      const why =
        prefer === "auto"
          ? skipped.length === 0
            ? `first in order: ${how}`
            : `${how}; skipped ${skipped.map((a) => a.name).join(", ")}`
          : name === prefer
            ? `forced by ${options.prefer ? "option" : "OMNI_BACKEND"}: ${how}`
            : `fallback from ${prefer}: ${how}`;
      current = { name, reason: why, attempts };
      return current;
    } catch (err) {
      const reason = errorText(err);
      attempts.push({ name, ok: false, reason });
      // Skipping an absent optional GPU package in auto mode is expected, not worth a warning.
      if (prefer !== "auto" || name !== "tensorflow") warn(`[backend] ${name} unavailable, falling back: ${reason}`);
    }
  }
  throw new Error(`No TensorFlow.js backend could be initialised: ${attempts.map((a) => `${a.name}: ${a.reason}`).join("; ")}`);
}

/** The choice made by the last `initBackend`, if any. */
export function backendChoice(): BackendChoice | undefined {
  return current;
}

/** One line for logs and notebooks. */
export function describeBackend(choice: BackendChoice | undefined = current): string {
  if (!choice) return "backend: not initialised";
  return `backend: ${choice.name} (${choice.reason})`;
}
