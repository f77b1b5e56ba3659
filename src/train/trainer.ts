/**
 * The training loop shared by every method: plan the step's passes (methods.ts), compute the weighted
 * loss and its gradients over the trainable parameters (projectors + LoRA), clip by global norm, AdamW
 * with the warmup-cosine schedule, log a metrics.csv row and a progress line, checkpoint every N steps,
 * and resume exactly from the newest checkpoint.
 *
 * Exact resume: everything that decides the next step is in the checkpoint: trainable weights, AdamW
 * moments and update count, the step, and the states of the three generators (matryoshka sampler,
 * data order, dropout). The frozen parts (the LM, the cached encoder features) are rebuilt the same way
 * by the caller. On the deterministic backends (cpu, wasm, native), a resumed run reproduces the
 * uninterrupted one bit for bit (tested, including a SIGKILL mid-run).
 */
import * as tf from "@tensorflow/tfjs";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../util/rng.js";
import { Progress } from "../util/progress.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { truncateCsvAtStep } from "../report/csv.js";
import { AvsrModel, AvsrSample } from "../models/avsr.js";
import { Task, TASKS } from "../models/lora.js";
import { AdamW, AdamWConfig, PAPER_ADAMW, ScheduleConfig, clippedAdamWStep, cosineLr } from "./optim.js";
import { MatryoshkaSampler, MethodConfig, StepPlan, planStep, validateMethodConfig } from "./methods.js";
import { assignParams, latestCheckpoint, loadCheckpoint, momentsOf, saveCheckpoint } from "./checkpoint.js";

export interface StepResult {
  loss: number;
  /** Mean loss of each task's passes in this step (NaN for tasks not run). */
  perTask: Record<Task, number>;
  gradNorm: number;
  /** Transcript+EOS tokens scored, summed over passes. */
  tokens: number;
  plan: StepPlan;
}

/**
 * One optimisation step: loss = Σ_p w_p·L_p / divisor over the plan's passes, gradients of the
 * trainable parameters, global-norm clipping, one AdamW update at `lr`.
 */
export function trainStep(
  model: AvsrModel,
  opt: AdamW,
  samples: readonly AvsrSample[],
  plan: StepPlan,
  lr: number,
  clipNorm: number,
  dropoutRng?: Rng,
): StepResult {
  const params = model.trainableParameters();
  const passLosses: tf.Scalar[] = [];
  const { loss, gradNorm } = clippedAdamWStep(
    params,
    () => {
      let total: tf.Scalar = tf.scalar(0);
      for (const p of plan.passes) {
        const l = model.loss(samples, p.task, p.rates, { training: true, rng: dropoutRng });
        passLosses.push(tf.keep(tf.clone(l)));
        total = tf.add(total, tf.mul(l, p.weight));
      }
      return tf.div(total, plan.divisor) as tf.Scalar;
    },
    opt,
    lr,
    clipNorm,
  );
  const sums: Record<string, number[]> = {};
  plan.passes.forEach((p, i) => (sums[p.task] ??= []).push(passLosses[i]!.dataSync()[0]!));
  tf.dispose(passLosses);
  const perTask = Object.fromEntries(TASKS.map((t) => [t, sums[t] ? sums[t]!.reduce((a, b) => a + b, 0) / sums[t]!.length : NaN])) as Record<Task, number>;
  const tokensPerPass = samples.reduce((s, x) => s + (x.transcript?.length ?? 0) + 1, 0);
  return { loss, perTask, gradNorm, tokens: tokensPerPass * plan.passes.length, plan };
}

export interface TrainerConfig {
  method: MethodConfig;
  adamw: AdamWConfig;
  schedule: ScheduleConfig;
  clipNorm: number;
  seed: number;
  checkpointEvery: number;
  /** Checkpoints kept (newest); <= 0 keeps all. */
  keepCheckpoints: number;
  /** Save the frozen parameters too (default: trainable only; the frozen LM comes from its own checkpoint). */
  saveAllParams?: boolean;
}

export function defaultTrainerConfig(method: MethodConfig, totalSteps: number, seed = 0): TrainerConfig {
  return {
    method,
    adamw: PAPER_ADAMW,
    schedule: { baseLr: 1e-3, warmupSteps: 0, totalSteps },
    clipNorm: 10,
    seed,
    checkpointEvery: Math.max(1, Math.floor(totalSteps / 10)),
    keepCheckpoints: 2,
  };
}

/** Gives the samples of update `step` (1-based), drawing any randomness from `rng` (saved in checkpoints). The provider owns the tensors. */
export type BatchProvider = (step: number, rng: Rng) => AvsrSample[];

export const METRICS_COLUMNS = ["step", "lr", "loss", "loss_asr", "loss_vsr", "loss_avsr", "grad_norm", "audio_rate", "video_rate", "passes", "tokens", "tokens_per_s", "elapsed_s"] as const;

export interface TrainerOptions {
  /** Run folder: metrics.csv, config.json, checkpoints/. */
  runDir: string;
  /** Saved beside every checkpoint (the run config as the CLI built it). */
  runConfig?: unknown;
  tokenizer?: unknown;
  /** Progress lines (default: stderr every 2 s). */
  progressWrite?: (line: string) => void;
  progressIntervalMs?: number;
}

export class Trainer {
  step = 0;
  readonly opt: AdamW;
  readonly samplerRng: Rng;
  readonly dataRng: Rng;
  readonly dropoutRng: Rng;
  readonly sampler: MatryoshkaSampler;
  private elapsedBefore = 0;

  constructor(
    readonly model: AvsrModel,
    readonly cfg: TrainerConfig,
    readonly opts: TrainerOptions,
  ) {
    validateMethodConfig(cfg.method);
    this.opt = new AdamW(cfg.adamw);
    const root = new Rng(cfg.seed);
    this.samplerRng = root.fork("matryoshka");
    this.dataRng = root.fork("data");
    this.dropoutRng = root.fork("dropout");
    this.sampler = new MatryoshkaSampler(cfg.method.audioRates, cfg.method.videoRates, this.samplerRng);
    mkdirSync(opts.runDir, { recursive: true });
  }

  get checkpointDir(): string {
    return join(this.opts.runDir, "checkpoints");
  }

  get metricsPath(): string {
    return join(this.opts.runDir, "metrics.csv");
  }

  /** Loads the newest checkpoint if there is one; returns the step it resumed at (0 if none). */
  resume(): number {
    const dir = latestCheckpoint(this.checkpointDir);
    if (!dir) return 0;
    const ck = loadCheckpoint(dir);
    assignParams(this.model, ck.params, dir);
    const { m, v } = momentsOf(ck);
    this.opt.setState(ck.state.optimizer.t, m, v);
    this.samplerRng.setState(ck.state.rng.matryoshka!);
    this.dataRng.setState(ck.state.rng.data!);
    this.dropoutRng.setState(ck.state.rng.dropout!);
    this.step = ck.state.step;
    this.elapsedBefore = Number(ck.state.extra?.elapsedS ?? 0);
    // keep only the metric rows the checkpoint covers
    truncateCsvAtStep(this.metricsPath, this.step);
    return this.step;
  }

  save(elapsedS = 0): string {
    const params = this.cfg.saveAllParams ? this.model.namedParameters() : this.model.trainableParameters();
    return saveCheckpoint(
      this.checkpointDir,
      {
        params,
        optimizer: { m: this.opt.m, v: this.opt.v },
        state: {
          step: this.step,
          rng: { matryoshka: this.samplerRng.state(), data: this.dataRng.state(), dropout: this.dropoutRng.state() },
          optimizer: { t: this.opt.t, config: this.cfg.adamw },
          extra: { elapsedS },
        },
        config: { trainer: this.cfg, run: this.opts.runConfig ?? null, model: this.model.cfg },
        tokenizer: this.opts.tokenizer,
      },
      this.cfg.keepCheckpoints,
    );
  }

  /**
   * Trains until `untilStep` (default: schedule.totalSteps). `onCheckpoint` is called after each save
   * (tests use it to kill the process at a known point).
   */
  run(provider: BatchProvider, untilStep = this.cfg.schedule.totalSteps, onCheckpoint?: (step: number, dir: string) => void): StepResult | undefined {
    if (!existsSync(this.metricsPath)) writeFileAtomicSync(this.metricsPath, METRICS_COLUMNS.join(",") + "\n");
    writeFileAtomicSync(join(this.opts.runDir, "config.json"), JSON.stringify({ trainer: this.cfg, run: this.opts.runConfig ?? null, model: this.model.cfg }, null, 1));
    const progress = new Progress(this.cfg.schedule.totalSteps, {
      label: this.cfg.method.method,
      startAt: this.step,
      elapsedBefore: this.elapsedBefore,
      write: this.opts.progressWrite,
      intervalMs: this.opts.progressIntervalMs,
    });
    const t0 = Date.now();
    let tokens = 0;
    let elapsed = 0;
    let last: StepResult | undefined;
    while (this.step < untilStep) {
      const next = this.step + 1;
      const plan = planStep(this.cfg.method, this.sampler);
      const samples = provider(next, this.dataRng);
      const lr = cosineLr(next, this.cfg.schedule);
      last = trainStep(this.model, this.opt, samples, plan, lr, this.cfg.clipNorm, this.dropoutRng);
      this.step = next;
      tokens += last.tokens;
      elapsed = (Date.now() - t0) / 1000;
      const tps = tokens / Math.max(1e-9, elapsed);
      const r0 = plan.passes[0]!.rates;
      const row = [next, lr, last.loss, last.perTask.asr, last.perTask.vsr, last.perTask.avsr, last.gradNorm, r0.audio, r0.video, plan.passes.length, last.tokens, tps, this.elapsedBefore + elapsed];
      appendFileSync(this.metricsPath, row.map((x) => (typeof x === "number" && !Number.isInteger(x) ? x.toPrecision(6) : String(x))).join(",") + "\n");
      const values: Record<string, number> = { loss: last.loss };
      for (const t of TASKS) if (!Number.isNaN(last.perTask[t])) values[t] = last.perTask[t];
      progress.update(next, values, `${tps.toFixed(0)} tok/s | lr ${lr.toExponential(2)}`);
      if (next % this.cfg.checkpointEvery === 0 || next === untilStep) {
        const dir = this.save(this.elapsedBefore + elapsed);
        onCheckpoint?.(next, dir);
      }
    }
    // a later run() call in this process (the next training segment) continues the clock
    this.elapsedBefore += elapsed;
    return last;
  }

  dispose(): void {
    this.opt.dispose();
  }
}
