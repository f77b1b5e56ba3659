/**
 * `npm run bench`: two training steps side by side in one run, each on
 *   native   this project's OpenBLAS addon backend (src/backend/native)
 *   wasm     @tensorflow/tfjs-backend-wasm (SIMD, one thread)
 *   torch    PyTorch from Debian (/usr/bin/python3, python3-torch), same model and optimizer
 * 1. the reference transformer step of issue 3 (scripts/bench/reference-model.ts, reference_step.py),
 *    plus a 512x512 float32 matmul on each stack;
 * 2. the project's default model step (scripts/bench/default-model.ts, default_step.py): the default
 *    preset's Llama-AVSR ASR run at audio rate 4 (tiny Llama LM frozen, LoRA r 8 on q/v, 128->256->96
 *    projector, batch 16, ~125 audio frames and ~10 transcript tokens per utterance, synthetic), built
 *    and stepped by the library (buildModel + trainStep: loss, clipping at 10, AdamW 0.9/0.98 wd 0.1).
 *    wasm runs it too (one step per round: it is ~10x slower); a stack that cannot build or step the
 *    model gets an empty row and the reason printed.
 * Repetitions are interleaved (every round runs every stack), results are medians, ratios are against
 * PyTorch at the same thread count. The step-0 losses of the default model are printed (~ln 1024 = 6.93
 * for the random-init LM) as a check that both implementations compute the same thing.
 *
 * Options (after `npm run bench --`):
 *   --threads 1,2     thread counts to measure (native OpenBLAS threads = PyTorch OPENBLAS_NUM_THREADS)
 *   --rounds 5        interleaved rounds;  --steps 10  native/torch steps per round (wasm: 1)
 *   --leak-steps 1000 native steps of the tensor/RSS leak check after the timing (0 skips it)
 *   --skip-default    only the reference step (no default-model comparison)
 *   --lora R:TARGETS  the default model with LoRA rank R (alpha R) on TARGETS (e.g. 8:q_proj,v_proj)
 *                     instead of the preset's; its table goes to default_model_step_lora<R><initials>.csv
 * Writes results/bench/reference_step.csv (stack,ms_per_step,tokens_per_s,ratio_to_torch; tokens =
 * batch x seq = 1,024 per step), results/bench/matmul_512.csv, results/bench/default_model_step.csv
 * (same columns; tokens = sequence positions the LM processes per step, padding excluded: the prefix
 * BOS, <audio>, audio tokens, </audio>, prompt, plus transcript and EOS, summed over the batch) and
 * results/bench/native_leak.csv.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as tf from "@tensorflow/tfjs";
import Papa from "papaparse";
import { nativeAddon, registerNativeBackend, setNativeThreads } from "../src/backend/native/index.js";
import { writeFileAtomicSync } from "../src/util/atomic.js";
import { Progress } from "../src/util/progress.js";
import { REFERENCE, createReferenceStep, type ReferenceStep } from "./bench/reference-model.js";
import { createDefaultModelStep, parseLoraOverride, type DefaultModelStep, type LoraOverride } from "./bench/default-model.js";
import { DEFAULT_MODEL_SCRIPT, TORCH_INSTALL_HINT, TorchClient, torchMissingReason } from "./bench/torch-client.js";

interface Options {
  threads: number[];
  rounds: number;
  steps: number;
  leakSteps: number;
  skipDefault: boolean;
  lora?: LoraOverride;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { threads: [1], rounds: 5, steps: 10, leakSteps: 1000, skipDefault: false };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === "--skip-default") {
      o.skipDefault = true;
      continue;
    }
    if (k === "--threads") o.threads = v!.split(",").map(Number);
    else if (k === "--rounds") o.rounds = Number(v);
    else if (k === "--steps") o.steps = Number(v);
    else if (k === "--leak-steps") o.leakSteps = Number(v);
    else if (k === "--lora") o.lora = parseLoraOverride(v ?? "");
    else throw new InputError(`unknown option ${k}; see the header of scripts/bench.ts`);
    i++;
  }
  if (o.threads.some((t) => !Number.isInteger(t) || t < 1)) throw new InputError("--threads: positive integers");
  return o;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timeEach(n: number, f: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    out.push(performance.now() - t0);
  }
  return out;
}

const MATMUL_FLOP = 2 * 512 ** 3;

/** One 512x512 tf.matMul on the active backend, result read back like any consumer would. */
function tfMatmul(a: tf.Tensor2D, b: tf.Tensor2D): void {
  const c = tf.matMul(a, b);
  c.dataSync();
  c.dispose();
}

interface Stack {
  name: string;
  threads: number | null;
  step: ((n: number) => Promise<number[]>) | null;
  matmul: (n: number) => Promise<number[]>;
  stepTimes: number[];
  matmulTimes: number[];
  note: string;
}

async function tfStack(name: "native" | "wasm", threads: number | null, note: string): Promise<{ stack: Stack; ref: ReferenceStep }> {
  await tf.setBackend(name);
  const ref = createReferenceStep();
  const a = tf.randomNormal([512, 512]) as tf.Tensor2D, b = tf.randomNormal([512, 512]) as tf.Tensor2D;
  const use = async () => {
    await tf.setBackend(name);
    if (name === "native" && threads !== null) setNativeThreads(threads);
  };
  const stack: Stack = {
    name: threads === null ? name : `${name} (${threads} thread${threads > 1 ? "s" : ""})`,
    threads,
    step: async (n) => {
      await use();
      return timeEach(n, () => ref.step());
    },
    matmul: async (n) => {
      await use();
      return timeEach(n, () => tfMatmul(a, b));
    },
    stepTimes: [],
    matmulTimes: [],
    note,
  };
  return { stack, ref };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const load = loadavg()[0]!;
  console.log(`bench: reference step (batch ${REFERENCE.batch}, seq ${REFERENCE.seq}, d_model ${REFERENCE.dModel}, ${REFERENCE.heads} heads, FF ${REFERENCE.ff}, ${REFERENCE.layers} pre-LN layers, Adam, MSE)`);
  console.log(`bench: ${opts.rounds} interleaved rounds x ${opts.steps} steps; threads ${opts.threads.join(", ")}; load average ${load.toFixed(2)}${load > 0.7 ? " (machine busy: numbers may be noisy)" : ""}`);
  tf.enableProdMode();

  const stacks: Stack[] = [];
  const refs: ReferenceStep[] = [];
  let nativeOk = false;
  try {
    const how = await registerNativeBackend({ threads: opts.threads[0] });
    nativeOk = true;
    console.log(`bench: native: ${how}`);
    for (const t of opts.threads) {
      const { stack, ref } = await tfStack("native", t, `OpenBLAS threads ${t}`);
      stacks.push(stack);
      refs.push(ref);
    }
  } catch (err) {
    console.log(`bench: native backend NOT available: ${(err as Error).message}`);
  }
  await import("@tensorflow/tfjs-backend-wasm");
  {
    const { stack, ref } = await tfStack("wasm", null, "tfjs-backend-wasm SIMD, 1 thread");
    stacks.push(stack);
    refs.push(ref);
  }
  const torchMissing = torchMissingReason();
  const torchClients: TorchClient[] = [];
  if (torchMissing) {
    console.log(`bench: PyTorch NOT available: ${torchMissing}; ${TORCH_INSTALL_HINT}. Ratios to torch are left empty.`);
  } else {
    for (const t of opts.threads) {
      const c = await TorchClient.start(t);
      torchClients.push(c);
      console.log(`bench: torch ${c.info.torch} (BLAS_INFO=${c.info.blas}), OPENBLAS_NUM_THREADS=${t}, torch.set_num_threads(${t})`);
      stacks.push({
        name: `torch (${t} thread${t > 1 ? "s" : ""})`,
        threads: t,
        step: (n) => c.steps(n),
        matmul: (n) => c.matmuls(n),
        stepTimes: [],
        matmulTimes: [],
        note: `PyTorch ${c.info.torch}, OPENBLAS_NUM_THREADS=${t}`,
      });
    }
  }

  // Warm-up (JIT, allocator, OpenBLAS buffers), not timed.
  for (const s of stacks) {
    await s.step!(s.name === "wasm" ? 1 : 3);
    await s.matmul(3);
  }
  for (let r = 0; r < opts.rounds; r++) {
    for (const s of stacks) {
      s.stepTimes.push(...(await s.step!(s.name === "wasm" ? 1 : opts.steps)));
      s.matmulTimes.push(...(await s.matmul(s.name === "wasm" ? 3 : 20)));
    }
    process.stderr.write(`bench: round ${r + 1}/${opts.rounds}: ${stacks.map((s) => `${s.name} ${median(s.stepTimes).toFixed(1)} ms`).join(", ")}\n`);
  }

  const torchFor = (threads: number | null) =>
    stacks.find((s) => s.name.startsWith("torch") && s.threads === (threads ?? 1));
  const tokens = REFERENCE.batch * REFERENCE.seq;
  const stepRows = stacks.map((s) => {
    const ms = median(s.stepTimes);
    const torch = torchFor(s.threads);
    return {
      stack: s.name,
      ms_per_step: +ms.toFixed(2),
      tokens_per_s: Math.round((tokens * 1000) / ms),
      ratio_to_torch: torch ? +(ms / median(torch.stepTimes)).toFixed(3) : "",
    };
  });
  const matmulRows = stacks.map((s) => {
    const ms = median(s.matmulTimes);
    const torch = torchFor(s.threads);
    return {
      stack: s.name,
      ms_per_matmul: +ms.toFixed(3),
      gflops: +(MATMUL_FLOP / (ms * 1e6)).toFixed(1),
      ratio_to_torch: torch ? +(ms / median(torch.matmulTimes)).toFixed(3) : "",
    };
  });
  console.log("\nreference step (medians):");
  console.table(stepRows);
  const wasm = stepRows.find((r) => r.stack === "wasm");
  for (const r of stepRows.filter((x) => x.stack.startsWith("native"))) {
    console.log(`  ${r.stack}: ${(wasm!.ms_per_step / r.ms_per_step).toFixed(1)}x faster than wasm; ratio to torch ${r.ratio_to_torch}`);
  }
  console.log("\n512x512 float32 matmul (tf.matMul incl. read-back; torch.mm):");
  console.table(matmulRows);
  const addon = nativeAddon();
  if (addon) {
    const a = new Float32Array(512 * 512).fill(1), b = new Float32Array(512 * 512).fill(1), c = new Float32Array(512 * 512);
    const zero = new Int32Array(1);
    for (const t of opts.threads) {
      addon.setThreads(t);
      const ms = median(timeEach(50, () => addon.matmul(a, b, c, 1, zero, zero, 512, 512, 512, false, false, null, 0, 0)));
      console.log(`  raw addon sgemm, ${t} thread(s): ${ms.toFixed(3)} ms = ${(MATMUL_FLOP / (ms * 1e6)).toFixed(1)} GFLOP/s`);
    }
  }
  writeFileAtomicSync("results/bench/reference_step.csv", Papa.unparse(stepRows) + "\n");
  writeFileAtomicSync("results/bench/matmul_512.csv", Papa.unparse(matmulRows) + "\n");
  console.log("\nwrote results/bench/reference_step.csv, results/bench/matmul_512.csv");
  for (const c of torchClients) c.close();
  refs.forEach((r) => r.dispose());

  if (!opts.skipDefault) await defaultModelBench(opts, nativeOk, torchMissing);
  if (nativeOk && opts.leakSteps > 0) await leakCheck(opts.leakSteps, opts.threads[0]!);
}

interface DefaultStack {
  name: string;
  threads: number | null;
  /** Why the stack has no timing (a missing kernel, no PyTorch), or null. */
  absent: string | null;
  step: (n: number) => Promise<number[]>;
  times: number[];
  /** Loss of the first step (at the initial weights). */
  loss0: number;
  close: () => void;
}

/** The default model step on every stack, interleaved like the reference step; writes results/bench/default_model_step.csv. */
async function defaultModelBench(opts: Options, nativeOk: boolean, torchMissing: string | null): Promise<void> {
  const stacks: DefaultStack[] = [];
  let tokens = 0;
  let spec: DefaultModelStep["spec"] | undefined;
  const tfStep = async (name: "native" | "wasm", threads: number | null): Promise<DefaultStack> => {
    const use = async () => {
      await tf.setBackend(name);
      if (name === "native" && threads !== null) setNativeThreads(threads);
    };
    await use();
    const label = threads === null ? name : `${name} (${threads} thread${threads > 1 ? "s" : ""})`;
    let s: DefaultModelStep;
    try {
      s = await createDefaultModelStep({ lora: opts.lora });
    } catch (err) {
      return { name: label, threads, absent: `cannot build the model: ${(err as Error).message.split("\n")[0]!}`, step: async () => [], times: [], loss0: NaN, close: () => {} };
    }
    if (!spec) {
      console.log(`\nbench: default model step: ${s.spec.batch} utterances, ${s.tokensPerStep} LM positions per step (${s.scoredTokensPerStep} transcript+EOS scored), ` +
        `${s.trainableParams} trainable params (projectors + LoRA), LM dim ${s.spec.llm.dim} x ${s.spec.llm.nLayers} layers, vocab ${s.spec.llm.vocabSize}`);
    }
    spec ??= s.spec;
    tokens = s.tokensPerStep;
    const stack: DefaultStack = {
      name: label,
      threads,
      absent: null,
      step: async (n) => {
        await use();
        return timeEach(n, () => s.step());
      },
      times: [],
      loss0: NaN,
      close: () => s.dispose(),
    };
    try {
      stack.loss0 = s.step(); // the first (warm-up) step: its loss is at the initial weights
    } catch (err) {
      const msg = (err as Error).message;
      const kernel = /Kernel '(\w+)' not registered/.exec(msg)?.[1];
      stack.absent = kernel ? `tfjs-backend-${name} has no ${kernel} kernel` : msg.split("\n")[0]!.slice(0, 160);
    }
    return stack;
  };
  if (nativeOk) for (const t of opts.threads) stacks.push(await tfStep("native", t));
  stacks.push(await tfStep("wasm", null));
  if (torchMissing) {
    console.log(`bench: default model: PyTorch NOT available: ${torchMissing}. Ratios to torch are left empty.`);
  } else {
    for (const t of opts.threads) {
      const name = `torch (${t} thread${t > 1 ? "s" : ""})`;
      try {
        if (!spec) throw new Error("no TensorFlow.js stack could build the model, so there is no batch spec to give PyTorch");
        const c = await TorchClient.start(t, { script: DEFAULT_MODEL_SCRIPT, args: [JSON.stringify(spec)] });
        if (c.ready.tokens !== tokens) console.log(`bench: WARNING default_step.py reports ${String(c.ready.tokens)} positions per step, the TS model ${tokens}`);
        await c.steps(1);
        stacks.push({ name, threads: t, absent: null, step: (n) => c.steps(n), times: [], loss0: c.losses[0]!, close: () => c.close() });
      } catch (err) {
        stacks.push({ name, threads: t, absent: (err as Error).message.split("\n")[0]!, step: async () => [], times: [], loss0: NaN, close: () => {} });
      }
    }
  }
  for (const s of stacks) if (s.absent) console.log(`bench: default model: ${s.name} absent: ${s.absent}`);
  const live = stacks.filter((s) => !s.absent);
  const few = (s: DefaultStack) => s.name === "wasm";

  // Warm-up beyond the first step, not timed (the native step settles after ~5 steps).
  for (const s of live) await s.step(few(s) ? 0 : 4);
  for (let r = 0; r < opts.rounds; r++) {
    for (const s of live) s.times.push(...(await s.step(few(s) ? 1 : opts.steps)));
    process.stderr.write(`bench: default model round ${r + 1}/${opts.rounds}: ${live.map((s) => `${s.name} ${median(s.times).toFixed(1)} ms`).join(", ")}\n`);
  }

  const torchFor = (threads: number | null) => live.find((s) => s.name.startsWith("torch") && s.threads === (threads ?? 1));
  const rows = stacks.map((s) => {
    if (s.absent) return { stack: s.name, ms_per_step: "", tokens_per_s: "", ratio_to_torch: "" };
    const ms = median(s.times);
    const torch = torchFor(s.threads);
    return {
      stack: s.name,
      ms_per_step: +ms.toFixed(2),
      tokens_per_s: Math.round((tokens * 1000) / ms),
      ratio_to_torch: torch ? +(ms / median(torch.times)).toFixed(3) : "",
    };
  });
  console.log("\ndefault model step (medians; tokens = LM positions per step):");
  console.table(rows);
  const lnV = Math.log(spec?.llm.vocabSize ?? 1024);
  const losses = live.map((s) => `${s.name} ${s.loss0.toFixed(4)}`).join(", ");
  const off = live.filter((s) => !(Math.abs(s.loss0 - lnV) < 0.5));
  console.log(`  step-0 loss (random-init LM): ${losses}; ln(vocab) = ${lnV.toFixed(4)}${off.length ? `; WARNING: ${off.map((s) => s.name).join(", ")} far from it` : ""}`);
  for (const s of stacks) if (s.absent) console.log(`  ${s.name}: absent (${s.absent})`);
  const csv = `results/bench/default_model_step${opts.lora ? `_lora${opts.lora.r}${opts.lora.targets.map((t) => t[0]).join("")}` : ""}.csv`;
  writeFileAtomicSync(csv, Papa.unparse(rows) + "\n");
  console.log(`wrote ${csv}`);
  for (const s of stacks) s.close();
}

/** numTensors and RSS over `steps` native steps of the reference model, sampled every 100 steps. */
async function leakCheck(steps: number, threads: number): Promise<void> {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  await tf.setBackend("native");
  setNativeThreads(threads);
  const ref = createReferenceStep();
  ref.step();
  const rows: Array<{ step: number; num_tensors: number; rss_mb: number }> = [];
  const progress = new Progress(steps, { label: "leak check (native)", unit: "step" });
  for (let i = 1; i <= steps; i++) {
    ref.step();
    if (i % 100 === 0 || i === 1) {
      gc();
      rows.push({ step: i, num_tensors: tf.memory().numTensors, rss_mb: +(process.memoryUsage().rss / 2 ** 20).toFixed(1) });
    }
    progress.update(i);
  }
  ref.dispose();
  writeFileAtomicSync("results/bench/native_leak.csv", Papa.unparse(rows) + "\n");
  const first = rows.find((r) => r.step === 100) ?? rows[0]!, last = rows[rows.length - 1]!;
  const flat = rows.every((r) => r.num_tensors === rows[0]!.num_tensors);
  console.log(`\nleak check over ${steps} native steps: numTensors ${flat ? `constant at ${rows[0]!.num_tensors}` : `CHANGED ${rows.map((r) => r.num_tensors).join(" ")}`}; ` +
    `RSS ${first.rss_mb} MB at step ${first.step} -> ${last.rss_mb} MB at step ${last.step}; wrote results/bench/native_leak.csv`);
}

await main();
