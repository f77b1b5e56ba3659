/**
 * What one training step runs, per method: a list of LLM passes (task, rates, weight) and the divisor
 * of their weighted sum. Every method uses the same model code; they differ only in this plan and in
 * the LoRA strategy.
 *
 * - omni-s / omni-t / omni-st (Omni-AVSR): draw ONE audio rate and ONE video rate per step (uniformly,
 *   independently, as the reference's random.choice), then three passes ASR / VSR / AVSR at those rates;
 *   loss = (λA·L_ASR + λV·L_VSR + λAV·L_AVSR) / 3, λ = (1, 1.5, 1) by default. LoRA S / T / ST.
 * - llama-mt (Llama-MT): one multi-task model per rate pair: the same three passes at a fixed pair,
 *   same λ and /3, one shared LoRA.
 * - llama-mtsk (Llama-MTSK): one model per task, every rate of that task through the LLM each step
 *   (AVSR: every audio×video pair); loss = mean over those passes; one LoRA.
 * - llama-avsr (Llama-AVSR): one model per task and rate (pair): one pass; one LoRA.
 */
import { Rng } from "../util/rng.js";
import { LoraStrategy, Task, TASKS } from "../models/lora.js";
import { Rates } from "../models/avsr.js";

export const METHODS = ["omni-s", "omni-t", "omni-st", "llama-avsr", "llama-mtsk", "llama-mt"] as const;
export type Method = (typeof METHODS)[number];

export interface Pass {
  task: Task;
  rates: Rates;
  weight: number;
}

export interface StepPlan {
  passes: Pass[];
  /** loss = Σ weight·L / divisor */
  divisor: number;
}

export interface MethodConfig {
  method: Method;
  audioRates: number[];
  videoRates: number[];
  /** (λ_ASR, λ_VSR, λ_AVSR) for the multi-task methods. */
  lambdas: [number, number, number];
  /** The task of a single-task method (llama-avsr, llama-mtsk). */
  task?: Task;
}

export const DEFAULT_LAMBDAS: [number, number, number] = [1, 1.5, 1];

export function loraStrategyOf(method: Method): LoraStrategy {
  switch (method) {
    case "omni-t":
      return "T";
    case "omni-st":
      return "ST";
    default:
      return "S";
  }
}

/** Draws one audio rate and one video rate per step, uniformly and independently. */
export class MatryoshkaSampler {
  constructor(
    readonly audioRates: readonly number[],
    readonly videoRates: readonly number[],
    readonly rng: Rng,
  ) {
    if (audioRates.length === 0 || videoRates.length === 0) throw new Error("MatryoshkaSampler: empty rate set");
  }
  sample(): Rates {
    return { audio: this.rng.pick(this.audioRates), video: this.rng.pick(this.videoRates) };
  }
}

export function allRatePairs(audioRates: readonly number[], videoRates: readonly number[]): Rates[] {
  return audioRates.flatMap((audio) => videoRates.map((video) => ({ audio, video })));
}

/** Checks that a method's config names what it needs (task, one rate for fixed-rate methods). */
export function validateMethodConfig(c: MethodConfig): void {
  if (c.method === "llama-avsr" || c.method === "llama-mtsk") {
    if (!c.task) throw new Error(`${c.method} trains one task: set task (asr | vsr | avsr)`);
  }
  if (c.method === "llama-avsr" || c.method === "llama-mt") {
    const needA = c.method === "llama-mt" || c.task !== "vsr";
    const needV = c.method === "llama-mt" || c.task !== "asr";
    if ((needA && c.audioRates.length !== 1) || (needV && c.videoRates.length !== 1)) {
      throw new Error(`${c.method} trains one model per rate: give exactly one audio/video rate`);
    }
  }
}

/** The passes of one step; `sampler` is used (and advanced) only by the omni methods. */
export function planStep(c: MethodConfig, sampler?: MatryoshkaSampler): StepPlan {
  const multiTask = (rates: Rates): StepPlan => ({
    passes: TASKS.map((task, i) => ({ task, rates, weight: c.lambdas[i]! })),
    divisor: 3,
  });
  const fixed: Rates = { audio: c.audioRates[0] ?? 0, video: c.videoRates[0] ?? 0 };
  switch (c.method) {
    case "omni-s":
    case "omni-t":
    case "omni-st":
      if (!sampler) throw new Error("omni methods need a MatryoshkaSampler");
      return multiTask(sampler.sample());
    case "llama-mt":
      return multiTask(fixed);
    case "llama-avsr":
      return { passes: [{ task: c.task!, rates: fixed, weight: 1 }], divisor: 1 };
    case "llama-mtsk": {
      const task = c.task!;
      const rates =
        task === "asr"
          ? c.audioRates.map((audio) => ({ audio, video: 0 }))
          : task === "vsr"
            ? c.videoRates.map((video) => ({ audio: 0, video }))
            : allRatePairs(c.audioRates, c.videoRates);
      return { passes: rates.map((r) => ({ task, rates: r, weight: 1 })), divisor: rates.length };
    }
  }
}

/** LLM passes per step and models needed to cover every task and rate (Table I's cost columns). */
export function methodCost(c: Omit<MethodConfig, "task" | "lambdas">): { passesPerStep: string; models: number } {
  const A = c.audioRates.length;
  const V = c.videoRates.length;
  switch (c.method) {
    case "omni-s":
    case "omni-t":
    case "omni-st":
      return { passesPerStep: "3", models: 1 };
    case "llama-mt":
      return { passesPerStep: "3", models: A * V };
    case "llama-mtsk":
      return { passesPerStep: `${A} | ${V} | ${A * V} (ASR | VSR | AVSR model)`, models: 3 };
    case "llama-avsr":
      return { passesPerStep: "1", models: A + V + A * V };
  }
}
