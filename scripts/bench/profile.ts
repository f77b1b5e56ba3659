/**
 * Per-kernel share of a training step's time, via tf.profile, on the chosen backends:
 *   tsx scripts/bench/profile.ts [cpu|native|wasm ...]            the reference step (default: cpu native)
 *   tsx scripts/bench/profile.ts --default [--lora R:TARGETS] [cpu|native ...]
 *                                                                the project's default model step
 *                                                                (scripts/bench/default-model.ts; default: native)
 * For the reference step `cpu` is the "before" picture (every kernel the stock JS one); `native` is the "after".
 * Writes results/bench/kernel_profile.csv, or results/bench/default_kernel_profile.csv with --default
 * (backend, kernel, calls and ms per step, share).
 */
import * as tf from "@tensorflow/tfjs";
import Papa from "papaparse";
import { initBackend } from "../../src/backend/index.js";
import { writeFileAtomicSync } from "../../src/util/atomic.js";
import { createReferenceStep } from "./reference-model.js";
import { createDefaultModelStep, parseLoraOverride, type LoraOverride } from "./default-model.js";

export interface KernelShare {
  kernel: string;
  calls: number;
  ms: number;
  share: number;
}

/** Profiles `steps` steps (after `warmup`); per-step averages; shares are of the summed kernel time. */
export async function profileStep(
  backend: "cpu" | "native" | "wasm", warmup = 2, steps = 1, which: "reference" | "default" = "reference", lora?: LoraOverride,
): Promise<{ wallMs: number; kernels: KernelShare[] }> {
  await initBackend({ prefer: backend, warn: () => {} });
  if (tf.getBackend() !== backend) throw new Error(`${backend} backend not available`);
  const ref: { step(): number; dispose(): void } = which === "default" ? await createDefaultModelStep({ lora }) : createReferenceStep();
  for (let i = 0; i < warmup; i++) ref.step();
  const known = new Set(tf.getKernelsForBackend(backend).map((k) => k.kernelName));
  const t0 = performance.now();
  const info = await tf.profile(() => {
    for (let i = 0; i < steps; i++) ref.step();
  });
  const wallMs = (performance.now() - t0) / steps;
  ref.dispose();
  const by = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    if (!known.has(k.name)) continue; // scopes (customGrad) would count their inner kernels twice
    const e = by.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls += 1 / steps;
    e.ms += (typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0) / steps;
    by.set(k.name, e);
  }
  const total = [...by.values()].reduce((s, e) => s + e.ms, 0);
  const kernels = [...by.entries()]
    .map(([kernel, e]) => ({ kernel, calls: e.calls, ms: e.ms, share: total > 0 ? e.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { wallMs, kernels };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--lora");
  const lora = at >= 0 ? parseLoraOverride(args.splice(at, 2)[1] ?? "") : undefined;
  const model = args.includes("--default") ? "default" : "reference";
  const named = args.filter((a) => a !== "--default");
  const which = (named.length ? named : model === "default" ? ["native"] : ["cpu", "native"]) as Array<"cpu" | "native" | "wasm">;
  const rows: Array<Record<string, string | number>> = [];
  for (const b of which) {
    const { wallMs, kernels } = await profileStep(b, b === "native" ? 3 : 1, b === "native" ? 10 : 1, model, lora);
    const sum = kernels.reduce((s, k) => s + k.ms, 0);
    console.log(`\n${b}: profiled step ${wallMs.toFixed(0)} ms wall, ${sum.toFixed(0)} ms in ${Math.round(kernels.reduce((s, k) => s + k.calls, 0))} kernel calls`);
    for (const k of kernels) {
      rows.push({ backend: b, step_wall_ms: +wallMs.toFixed(1), kernel: k.kernel, calls_per_step: +k.calls.toFixed(1), ms_per_step: +k.ms.toFixed(3), share: +k.share.toFixed(4) });
    }
    for (const k of kernels.slice(0, 25)) {
      console.log(`  ${k.kernel.padEnd(24)} ${String(Math.round(k.calls)).padStart(5)} calls ${k.ms.toFixed(2).padStart(9)} ms ${(100 * k.share).toFixed(1).padStart(5)}%`);
    }
  }
  const out = model === "default" ? "results/bench/default_kernel_profile.csv" : "results/bench/kernel_profile.csv";
  writeFileAtomicSync(out, Papa.unparse(rows) + "\n");
  console.log(`\nwrote ${out}`);
}
