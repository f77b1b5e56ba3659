/**
 * The reproduction's experiments as typed definitions, and the jobs they expand into.
 *
 * An experiment (Table I, rate curve, noise sweep, LLM scaling, λ ablation, and the levers of issue 5
 * that are not the paper's) is a list of training runs
 * (`TrainParams`) and, for each run, the evaluation cells it needs (task, rate pair, clean or babble SNR).
 * Experiments share runs: a run is identified by its run id (`resolveRunConfig(params).runId`), so the
 * same configuration in two experiments is trained once, and its cells are the union of what each
 * experiment asks for. One job = one run: train it (skipped when summary.json says it is finished), then
 * evaluate each of its cells on a fixed subset of the test split (skipped when the cell's JSON exists with
 * the same decoding settings). Jobs run in the resumable process pool (`runJobs`), in
 * `results/runs/<run id>/` (results/smoke/runs/ at smoke size).
 *
 *   reproSize(name)                    the default or smoke size (seeds, eval subset, beam, LM sizes...)
 *   experimentRuns(experiment, size)   the runs (and cells) of one experiment
 *   planJobs(experiments, size)        the merged jobs of several experiments, with cost estimates
 *   runExperiments(experiments, o)     runs them in the pool (both cores), resumable
 *   trainEvalJob(params, runDir)       what one job does (called by scripts/run-job.ts)
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { LlmSize } from "../models/llm.js";
import type { Task } from "../models/lora.js";
import type { Method } from "../train/methods.js";
import { resolveRunConfig, type TrainParams } from "../pipeline/config.js";
import { checkRunConfig, checkRunInputs, runInputs } from "../pipeline/inputs.js";
import { DEFAULT_BEAM_WIDTH, evalFileName } from "../pipeline/eval-files.js";
import { JOINT, LEXICON } from "../pipeline/decode-recipes.js";
import { resultsDir } from "../util/paths.js";
import { readCsv } from "../report/csv.js";
import { isSmoke } from "../util/smoke.js";
import type { JobSpec, Params } from "./grid.js";
import { runJobs, type JobOutcome } from "./pool.js";

/** The experiments the reproduction aggregates (each has a report in results.ts). */
export const EXPERIMENTS = ["table1", "rate_curve", "noise", "llm_scaling", "lambda", "levers"] as const;
export type ReportedExperiment = (typeof EXPERIMENTS)[number];
/** "elastic": the one Omni-AVSR-ST model of notebook 03 (the same run as Table I's seed 0). */
export type Experiment = ReportedExperiment | "elastic";

/** One evaluation: a task at a rate pair (the unused modality's rate is ignored), clean or babble. */
export interface EvalCell {
  task: Task;
  audio: number;
  video: number;
  /** Babble SNR in dB; null = clean. */
  snr: number | null;
  /** λ of joint CTC/attention decoding (runs with the auxiliary CTC loss); absent = attention only. */
  ctcDecode?: number;
  /** μ of lexicon scoring (pipeline/lexicon-scoring.ts); absent = none. */
  lexDecode?: number;
  /** Lexicon proposals per live beam (eval/lexicon-prefix.ts propose); absent = none. */
  lexProposals?: number;
  /** Length-normalisation exponent of the beam search; absent = the default (1). */
  lengthPenalty?: number;
}

export interface RunSpec {
  train: TrainParams;
  cells: EvalCell[];
}

export interface ReproSize {
  name: "default" | "smoke";
  /** Corpus / encoder / LM / training preset. */
  preset: string;
  /** Seeds of the Omni-AVSR rows of Table I (and of the rate curve / noise sweep of Omni-AVSR-ST). */
  omniSeeds: number[];
  /** Seeds of the baselines (Llama-AVSR, -MTSK, -MT). */
  baselineSeeds: number[];
  /** Seeds of the single-config ablations (LLM scaling, λ). */
  ablationSeeds: number[];
  /** Test utterances per evaluation cell (a fixed prefix of the test split). */
  evalLimit: number;
  beam: number;
  maxNewTokens: number;
  lmSizes: LlmSize[];
  snrs: number[];
  /** Training steps (undefined: the preset's). */
  steps?: number;
  audioRates: number[];
  videoRates: number[];
}

export const REPRO_SIZES: Record<"default" | "smoke", ReproSize> = {
  default: {
    name: "default",
    preset: "default",
    omniSeeds: [0, 1],
    baselineSeeds: [0],
    ablationSeeds: [0],
    evalLimit: 300,
    beam: 4,
    maxNewTokens: 32,
    lmSizes: ["tiny", "small", "base"],
    snrs: [5, 2.5, 0, -2.5, -5],
    audioRates: [4, 16],
    videoRates: [2, 5],
  },
  smoke: {
    name: "smoke",
    preset: "smoke",
    omniSeeds: [0, 1],
    baselineSeeds: [0],
    ablationSeeds: [0],
    evalLimit: 6,
    beam: 2,
    maxNewTokens: 6,
    lmSizes: ["tiny", "small", "base"],
    snrs: [5, 0, -5],
    steps: 3,
    audioRates: [4, 16],
    videoRates: [2, 5],
  },
};

/** The size of this process: smoke when OMNI_SMOKE=1, else default; OMNI_REPRO_* env overrides for sizing. */
export function reproSize(name?: "default" | "smoke"): ReproSize {
  const s = { ...REPRO_SIZES[name ?? (isSmoke() ? "smoke" : "default")] };
  const env = process.env;
  if (env.OMNI_REPRO_EVAL_LIMIT) s.evalLimit = Number(env.OMNI_REPRO_EVAL_LIMIT);
  if (env.OMNI_REPRO_BEAM) s.beam = Number(env.OMNI_REPRO_BEAM);
  if (env.OMNI_REPRO_STEPS) s.steps = Number(env.OMNI_REPRO_STEPS);
  return s;
}

export const OMNI_METHODS = ["omni-s", "omni-t", "omni-st"] as const satisfies readonly Method[];
export const TABLE1_METHODS = ["llama-avsr", "llama-mtsk", "llama-mt", "omni-s", "omni-t", "omni-st"] as const satisfies readonly Method[];

export const METHOD_LABELS: Record<Method, string> = {
  "llama-avsr": "Llama-AVSR",
  "llama-mtsk": "Llama-MTSK",
  "llama-mt": "Llama-MT",
  "omni-s": "Omni-AVSR-S",
  "omni-t": "Omni-AVSR-T",
  "omni-st": "Omni-AVSR-ST",
};

/** The eight Table I cells: ASR at each audio rate, VSR at each video rate, AVSR at each pair. */
export function table1Cells(size: Pick<ReproSize, "audioRates" | "videoRates">): EvalCell[] {
  const [a0, v0] = [size.audioRates[0]!, size.videoRates[0]!];
  return [
    ...size.audioRates.map((a) => ({ task: "asr" as Task, audio: a, video: v0, snr: null })),
    ...size.videoRates.map((v) => ({ task: "vsr" as Task, audio: a0, video: v, snr: null })),
    ...size.audioRates.flatMap((a) => size.videoRates.map((v) => ({ task: "avsr" as Task, audio: a, video: v, snr: null }))),
  ];
}

/** Table I column name of a cell: asr_4, vsr_2, avsr_4_2 (as in data/reference). */
export function cellColumn(c: Pick<EvalCell, "task" | "audio" | "video">): string {
  return c.task === "asr" ? `asr_${c.audio}` : c.task === "vsr" ? `vsr_${c.video}` : `avsr_${c.audio}_${c.video}`;
}

/** The noise-sweep cells: ASR and AVSR at the extreme rate pairs (lowest and highest compression), each SNR plus clean. */
export function noiseCells(size: ReproSize): EvalCell[] {
  const pairs = [
    [size.audioRates[0]!, size.videoRates[0]!],
    [size.audioRates[size.audioRates.length - 1]!, size.videoRates[size.videoRates.length - 1]!],
  ];
  const snrs: Array<number | null> = [null, ...size.snrs];
  return pairs.flatMap(([a, v]) => (["asr", "avsr"] as Task[]).flatMap((task) => snrs.map((snr) => ({ task, audio: a!, video: v!, snr }))));
}

function base(size: ReproSize, p: Omit<TrainParams, "preset">): TrainParams {
  return { preset: size.preset, ...(size.steps ? { steps: size.steps } : {}), ...p };
}

/** Runs of Table I (also the rate curve's): every method, each with the cells it provides. */
function table1Runs(size: ReproSize): RunSpec[] {
  const cells = table1Cells(size);
  const runs: RunSpec[] = [];
  for (const seed of size.baselineSeeds) {
    // Llama-AVSR: one model per task and rate (pair)
    for (const c of cells) {
      const train = base(size, { method: "llama-avsr", task: c.task, audioRates: [c.audio], videoRates: [c.video], seed });
      runs.push({ train, cells: [c] });
    }
    // Llama-MTSK: one model per task, all its rates
    for (const task of ["asr", "vsr", "avsr"] as Task[]) {
      runs.push({ train: base(size, { method: "llama-mtsk", task, audioRates: size.audioRates, videoRates: size.videoRates, seed }), cells: cells.filter((c) => c.task === task) });
    }
    // Llama-MT: one multi-task model per rate pair; each gives ASR at its audio rate, VSR at its video rate, AVSR at the pair
    for (const a of size.audioRates)
      for (const v of size.videoRates) {
        runs.push({
          train: base(size, { method: "llama-mt", audioRates: [a], videoRates: [v], seed }),
          cells: [
            { task: "asr", audio: a, video: v, snr: null },
            { task: "vsr", audio: a, video: v, snr: null },
            { task: "avsr", audio: a, video: v, snr: null },
          ],
        });
      }
  }
  for (const seed of size.omniSeeds)
    for (const method of OMNI_METHODS) runs.push({ train: base(size, { method, audioRates: size.audioRates, videoRates: size.videoRates, seed }), cells });
  return runs;
}

export function experimentRuns(e: Experiment, size: ReproSize): RunSpec[] {
  switch (e) {
    case "elastic":
      return [{ train: base(size, { method: "omni-st", audioRates: size.audioRates, videoRates: size.videoRates, seed: size.omniSeeds[0]! }), cells: table1Cells(size) }];
    case "table1":
    case "rate_curve":
      return table1Runs(size);
    case "noise": {
      const nc = noiseCells(size);
      const runs: RunSpec[] = size.omniSeeds.map((seed) => ({ train: base(size, { method: "omni-st", audioRates: size.audioRates, videoRates: size.videoRates, seed }), cells: nc }));
      // the separate models (Llama-AVSR) at the same task and rate pair, first baseline seed
      const seed = size.baselineSeeds[0]!;
      for (const c of nc) {
        // ASR ignores the video rate: the same run as Table I's ASR model at that audio rate
        const v = c.task === "asr" ? size.videoRates[0]! : c.video;
        const train = base(size, { method: "llama-avsr", task: c.task, audioRates: [c.audio], videoRates: [v], seed });
        runs.push({ train, cells: [c] });
      }
      return runs;
    }
    case "llm_scaling":
      return size.ablationSeeds.flatMap((seed) =>
        size.lmSizes.map((lm) => ({ train: base(size, { method: "omni-st", audioRates: size.audioRates, videoRates: size.videoRates, seed, lm }), cells: table1Cells(size) })),
      );
    case "levers":
      return leverRuns(size);
    case "lambda": {
      const lams: Array<[number, number, number]> = [
        [1, 1, 1],
        [1, 1.5, 1],
        [1, 2, 1],
      ];
      return size.ablationSeeds.flatMap((seed) =>
        lams.map((lambdas) => ({ train: base(size, { method: "omni-st", audioRates: size.audioRates, videoRates: size.videoRates, seed, lambdas }), cells: table1Cells(size) })),
      );
    }
  }
}

/**
 * Issue 5's levers on how the LLM reads the audio, which the paper does not have (README, "Status"):
 * the encoder's sub-word CTC posteriors through the LM's embedding table beside the features
 * (`audioInput: "ctc-embed"`), and with it an auxiliary CTC loss on the projected audio tokens
 * (`ctcWeight`); and spliced text-injection samples added to every batch (`splice`, pipeline/splice.ts).
 * Separate models (Llama-AVSR, the first baseline seed) at the lowest rates, ASR and AVSR, one per
 * variant; and the unified model (Omni-AVSR-ST, the first Omni seed) with ctc-embed + auxiliary CTC,
 * without and with splicing, on Table I's cells. Each is scored clean and in babble at 0 dB; the variant without levers is
 * Table I's own run, not trained again.
 */
export const LEVER_VARIANTS: ReadonlyArray<{ label: string; params: Pick<TrainParams, "audioInput" | "ctcWeight" | "splice"> }> = [
  { label: "features (the paper's input)", params: {} },
  { label: "+ ctc-embed", params: { audioInput: "ctc-embed" } },
  { label: "+ ctc-embed + auxiliary CTC 0.5", params: { audioInput: "ctc-embed", ctcWeight: 0.5 } },
  { label: "+ ctc-embed + auxiliary CTC 0.5 + splice 16", params: { audioInput: "ctc-embed", ctcWeight: 0.5, splice: 16 } },
];

/** λ of the joint CTC/attention decoding the levers' runs with an auxiliary CTC head are also scored with: the `joint` recipe's (pipeline/decode-recipes.ts, where its validation is). */
export const LEVER_CTC_DECODE = JOINT.ctcDecodeWeight!;

/**
 * The lexicon decoding the splice runs are also scored with: the `lexicon` recipe (pipeline/decode-recipes.ts,
 * where its validation is): joint CTC/attention at λ `ctcDecode`, plus the shipped encoder's phonemes
 * (visemes for VSR) through the training lexicon at weight μ `weight`, `proposals` lexicon tokens per live
 * beam, finished hypotheses ranked by their summed score (`lengthPenalty`).
 */
export const LEVER_LEXICON = { ctcDecode: LEXICON.ctcDecodeWeight!, weight: LEXICON.lexiconDecodeWeight!, proposals: LEXICON.lexiconProposals!, lengthPenalty: LEXICON.lengthPenalty! } as const;

/** The variants the unified model is trained with: the paper's input, and ctc-embed + auxiliary CTC without and with splicing. */
const UNIFIED_LEVERS = [LEVER_VARIANTS[0]!, LEVER_VARIANTS[2]!, LEVER_VARIANTS[3]!];

/** The babble SNR the levers are scored at besides clean: 0 dB, or the size's first SNR if it lacks 0. */
export function leverSnr(size: Pick<ReproSize, "snrs">): number {
  return size.snrs.includes(0) ? 0 : size.snrs[0]!;
}

function leverRuns(size: ReproSize): RunSpec[] {
  const [a, v] = [size.audioRates[0]!, size.videoRates[0]!];
  const snr = leverSnr(size);
  const seed = size.baselineSeeds[0]!;
  // a run with an auxiliary CTC head is scored twice: attention-only decoding and joint CTC/attention;
  // a splice run a third time, joint decoding with lexicon scoring
  const decodings = (x: (typeof LEVER_VARIANTS)[number], cells: EvalCell[]) => [
    ...cells,
    ...((x.params.ctcWeight ?? 0) > 0 ? cells.map((c) => ({ ...c, ctcDecode: LEVER_CTC_DECODE })) : []),
    ...((x.params.ctcWeight ?? 0) > 0 && (x.params.splice ?? 0) > 0 ? cells.map((c) => ({ ...c, ctcDecode: LEVER_LEXICON.ctcDecode, lexDecode: LEVER_LEXICON.weight, lexProposals: LEVER_LEXICON.proposals, lengthPenalty: LEVER_LEXICON.lengthPenalty })) : []),
  ];
  const separate = (["asr", "avsr"] as Task[]).flatMap((task) =>
    LEVER_VARIANTS.map((x) => ({
      train: base(size, { method: "llama-avsr", task, audioRates: [a], videoRates: [v], seed, ...x.params }),
      cells: decodings(x, [null, snr].map((s) => ({ task, audio: a, video: v, snr: s }))),
    })),
  );
  const noisy: EvalCell[] = (["asr", "avsr"] as Task[]).map((task) => ({ task, audio: a, video: v, snr }));
  const unified = UNIFIED_LEVERS.map((x) => ({
    train: base(size, { method: "omni-st", audioRates: size.audioRates, videoRates: size.videoRates, seed: size.omniSeeds[0]!, ...x.params }),
    cells: decodings(x, [...table1Cells(size), ...noisy]),
  }));
  return [...separate, ...unified];
}

/** A cell's identity: its eval file name (the rate of a modality the task does not use is irrelevant). */
export function cellKey(c: EvalCell): string {
  return cellFileName(c);
}

export interface TrainEvalParams {
  train: TrainParams;
  cells: EvalCell[];
  evalLimit: number;
  beam: number;
  maxNewTokens: number;
}

/** Estimated seconds of a job on one core, split into training and evaluation (for ordering and the ETA). */
export function estimateParts(p: TrainEvalParams, calib: CostModel = DEFAULT_COST): { train: number; eval: number } {
  const c = resolveRunConfig(p.train);
  const A = c.audioRates.length;
  const V = c.videoRates.length;
  const passes = c.method === "llama-avsr" ? 1 : c.method === "llama-mtsk" ? (c.task === "avsr" ? A * V : c.task === "asr" ? A : V) : 3;
  const lm = calib.lmFactor[c.lm] ?? 1;
  const train = calib.startSeconds + c.steps * passes * calib.secondsPerPassStep * lm * ((c.batchSize + (c.splice ?? 0)) / 16);
  const perUtt = calib.evalSecondsPerUtt * (p.beam / 4) * lm * (p.maxNewTokens / 32);
  const evals = p.cells.reduce((a, cell) => a + calib.evalStartSeconds + p.evalLimit * (perUtt + (cell.lexDecode ? calib.lexiconSecondsPerUtt * (p.beam / 4) : 0)), 0);
  return { train, eval: evals };
}

export function estimateSeconds(p: TrainEvalParams, calib: CostModel = DEFAULT_COST): number {
  const e = estimateParts(p, calib);
  return e.train + e.eval;
}

export interface CostModel {
  startSeconds: number;
  /** One LLM pass of a batch of 16 at the tiny LM, forward + backward. */
  secondsPerPassStep: number;
  evalStartSeconds: number;
  /** One test utterance at beam 4, 32 new tokens at most, tiny LM. */
  evalSecondsPerUtt: number;
  /** What lexicon scoring (LEVER_LEXICON) adds per test utterance at beam 4 (the unit CTC look-ahead and proposals, in JS). */
  lexiconSecondsPerUtt: number;
  lmFactor: Record<string, number>;
}

/**
 * Measured on the default preset (batch 16, tiny LM, 2-core machine): with the fused native kernels
 * (23 Nov 2026) a Llama-AVSR ASR(4) run with LoRA rank 32 on all linears took 592 s for 4,000 one-pass
 * steps (0.15 s/pass-step) beside one other job; the cost model takes 0.17 for two jobs side by side.
 * (Before those kernels, 22 Nov: 0.36-0.37 s/pass-step for ASR(4) and Omni-AVSR-ST.) Evaluation 18-20 s per cell of 300 test
 * utterances at beam 4 with 32 new tokens (0.06 s/utt, models that never emit EOS: an upper bound).
 * Lexicon scoring with 8 proposals per beam (LEVER_LEXICON) adds ~3.5 s/utt (24 Nov, seventh session:
 * 1,227 s and 993 s for 300 test utterances of Llama-AVSR ASR(4) and AVSR(4,2), two or three
 * evaluations side by side; without proposals it was ~1.1 s/utt); since the bounded look-ahead (7 Dec,
 * nineteenth session) ~0.8 s/utt (30 test utterances of the voice-bank Omni-AVSR-ST's ASR(4) with lexicon +
 * word LM at beam 4, 26.3 s with the model's loading, beside one training run). The small/base LM factors are estimates (not yet measured). Only the ETA and the job order use this;
 * `secondsLeft` rescales it by the jobs already done.
 */
export const DEFAULT_COST: CostModel = {
  startSeconds: 10,
  secondsPerPassStep: 0.17,
  evalStartSeconds: 1,
  evalSecondsPerUtt: 0.06,
  lexiconSecondsPerUtt: 0.8,
  lmFactor: { tiny: 1, small: 2.5, base: 6 },
};

/** Merges the runs of several experiments into one job per run id (the union of their cells). */
export function planJobs(experiments: readonly Experiment[], size: ReproSize): JobSpec[] {
  const byId = new Map<string, { train: TrainParams; cells: Map<string, EvalCell> }>();
  for (const e of experiments) {
    for (const r of experimentRuns(e, size)) {
      const id = resolveRunConfig(r.train).runId;
      let entry = byId.get(id);
      if (!entry) byId.set(id, (entry = { train: r.train, cells: new Map() }));
      for (const c of r.cells) entry.cells.set(cellKey(c), c);
    }
  }
  const jobs: JobSpec[] = [];
  for (const [id, e] of byId) {
    const params: TrainEvalParams = { train: e.train, cells: [...e.cells.values()], evalLimit: size.evalLimit, beam: size.beam, maxNewTokens: size.maxNewTokens };
    jobs.push({ id, module: "src/experiments/plan.ts", fn: "trainEvalJob", params: params as unknown as Params, cost: estimateSeconds(params) });
  }
  // most informative first (so an interrupted or partial reproduction has the key results), then longest first
  return jobs.sort((a, b) => priority(a) - priority(b) || (b.cost ?? 1) - (a.cost ?? 1));
}

/** 0 = Omni-AVSR-ST seed 0 (Table I, noise, λ and LM baselines all use it), then Llama-AVSR, the second seed, ..., the levers last. */
function priority(j: JobSpec): number {
  const t = (j.params as unknown as TrainEvalParams).train;
  const lam = (t.lambdas ?? [1, 1.5, 1]).join(",") !== "1,1.5,1";
  const lm = t.lm !== undefined && t.lm !== "tiny";
  // the levers (not the paper's recipe) after every run of the paper's experiments
  if (t.audioInput === "ctc-embed" || (t.ctcWeight ?? 0) > 0 || (t.splice ?? 0) > 0) return 7;
  if (lm) return 6;
  if (lam) return 5;
  if (t.method === "omni-st") return (t.seed ?? 0) === 0 ? 0 : 2;
  if (t.method === "llama-avsr") return 1;
  if (t.method === "omni-s" || t.method === "omni-t") return 3;
  return 4;
}

/**
 * Estimated wall seconds left for these jobs on `cores` cores: the cost model, its training part
 * rescaled by what the runs already done took (their done.json), so the ETA of a resumed reproduction
 * follows the machine; the work spread over the cores, or the longest job where that is longer (a job
 * runs on one core).
 */
export function secondsLeft(jobs: readonly JobSpec[], cores = 2): { seconds: number; done: number; scale: number } {
  const { scale, done } = trainScale(jobs);
  const secondsOf = jobSecondsEstimator(jobs, scale);
  const each = jobs.filter((j) => !jobComplete(runsRoot(), j)).map(secondsOf);
  const left = each.reduce((s, x) => s + x, 0);
  // a job runs on one core: the longest one bounds the wall time however many cores there are
  return { seconds: Math.max(left / cores, ...each, 0), done, scale };
}

/** Measured / estimated training seconds over the runs already trained (their done.json); 1 when none. */
function trainScale(jobs: readonly JobSpec[]): { scale: number; done: number } {
  let est = 0;
  let actual = 0;
  let done = 0;
  for (const j of jobs) {
    const f = join(runsRoot(), j.id, "done.json");
    if (!existsSync(f)) continue;
    done++;
    try {
      const r = JSON.parse(readFileSync(f, "utf8")) as Partial<TrainEvalResult>;
      if (r.trainSeconds !== undefined && r.trainSeconds > 5) {
        est += estimateParts(j.params as unknown as TrainEvalParams).train;
        actual += r.trainSeconds;
      }
    } catch {
      /* a done.json from another version: ignored for the scale */
    }
  }
  return { scale: est > 0 ? actual / est : 1, done };
}

/**
 * Estimated wall seconds of one job on one core (beside the others): the cost model's training part
 * rescaled by the runs already trained, times the share of its steps still to train (a run that
 * resumes from a checkpoint in its folder under `root` has only the rest to do), plus its evaluation
 * part (measured, not rescaled). A run that has trained 50 steps or more is timed by its own pace
 * (metrics.csv) instead of the cost model.
 */
export function jobSecondsEstimator(jobs: readonly JobSpec[], scale = trainScale(jobs).scale, root = runsRoot()): (job: JobSpec) => number {
  return (j) => {
    const p = j.params as unknown as TrainEvalParams;
    const dir = join(root, j.id);
    // only the cells still missing are evaluated (a job reopened because the plan grew)
    const parts = estimateParts({ ...p, cells: p.cells.filter((c) => !cellDone(dir, c, p)) });
    const steps = resolveRunConfig(p.train).steps;
    const left = trainingLeft(dir, steps);
    // a run under way (or parked) that has trained long enough is timed by its own pace
    const pace = left > 0 ? measuredSecondsPerStep(dir) : undefined;
    const train = pace !== undefined ? pace * steps * left : parts.train * scale * left;
    return train + parts.eval;
  };
}

/** Seconds per training step a run has taken so far (its metrics.csv), once it has 50 steps or more. */
export function measuredSecondsPerStep(runDir: string, minSteps = 50): number | undefined {
  const f = join(runDir, "metrics.csv");
  if (!existsSync(f)) return undefined;
  const rows = readCsv(f, { required: ["step", "elapsed_s"] });
  const last = rows[rows.length - 1];
  const step = Number(last?.step);
  const elapsed = Number(last?.elapsed_s);
  return step >= minSteps && elapsed > 0 ? elapsed / step : undefined;
}

/** Share of a run's training steps still to do: 1 without a checkpoint, 0 once trained. */
export function trainingLeft(runDir: string, steps: number): number {
  if (existsSync(join(runDir, "done.json"))) return 0;
  const f = join(runDir, "checkpoints", "latest.json");
  if (!existsSync(f)) return 1;
  try {
    const { step } = JSON.parse(readFileSync(f, "utf8")) as { step?: number };
    return typeof step === "number" && steps > 0 ? Math.min(1, Math.max(0, 1 - step / steps)) : 1;
  } catch {
    return 1;
  }
}

/** Where the runs of this size live. */
export function runsRoot(): string {
  return resultsDir("runs");
}

function cellFileName(c: EvalCell, beam?: number): string {
  return evalFileName({ task: c.task, rates: { audio: c.audio, video: c.video }, snr: c.snr, ctcDecode: c.ctcDecode, lexDecode: c.lexDecode, lexProposals: c.lexProposals, lengthPenalty: c.lengthPenalty, beam });
}

/** The eval JSON of a cell in a run folder, decoded with `beam` (written by pipeline/eval.ts). */
export function evalJsonPath(runDir: string, c: EvalCell, beam = DEFAULT_BEAM_WIDTH): string {
  return join(runDir, "eval", `${cellFileName(c, beam)}.json`);
}

/** True when the cell's result exists with these decoding settings on exactly this many test utterances. */
export function cellDone(runDir: string, c: EvalCell, p: Pick<TrainEvalParams, "evalLimit" | "beam" | "maxNewTokens">): boolean {
  const f = evalJsonPath(runDir, c, p.beam);
  if (!existsSync(f)) return false;
  try {
    const j = JSON.parse(readFileSync(f, "utf8")) as { beam: number; maxNewTokens: number; utterances: number; split: string; ctcDecodeWeight?: number; ctcHeads?: unknown; lexiconDecode?: { weight: number; proposals?: number }; lengthPenalty?: number };
    // a joint-decoding result names the CTC heads it used (results from before that rule are redone)
    const decoding =
      (j.ctcDecodeWeight ?? 0) === (c.ctcDecode ?? 0) &&
      (!c.ctcDecode || j.ctcHeads !== undefined) &&
      (j.lexiconDecode?.weight ?? 0) === (c.lexDecode ?? 0) &&
      (j.lexiconDecode?.proposals ?? 0) === (c.lexProposals ?? 0) &&
      (j.lengthPenalty ?? null) === (c.lengthPenalty ?? null);
    return j.split === "test" && decoding && j.beam === p.beam && j.maxNewTokens === p.maxNewTokens && j.utterances > 0 && (p.evalLimit === 0 || j.utterances === p.evalLimit);
  } catch {
    return false;
  }
}

export interface TrainEvalResult {
  runId: string;
  trainSeconds: number;
  evalSeconds: number;
  cells: number;
  evaluated: number;
}

/** A job is complete when it is marked done (done.json) and every cell the plan now gives it is there. */
export function jobComplete(root: string, j: JobSpec): boolean {
  const dir = join(root, j.id);
  const p = j.params as unknown as TrainEvalParams;
  return existsSync(join(dir, "done.json")) && p.cells.every((c) => cellDone(dir, c, p));
}

/** One job: train the run (resumable), then evaluate its missing cells. Result -> done.json. */
export async function trainEvalJob(p: TrainEvalParams, runDir: string): Promise<TrainEvalResult> {
  const { trainRun } = await import("../pipeline/train.js");
  const { evaluateRun } = await import("../pipeline/eval.js");
  const t0 = Date.now();
  const summary = await trainRun(p.train, runDir);
  const t1 = Date.now();
  let evaluated = 0;
  for (const c of p.cells) {
    if (cellDone(runDir, c, p)) continue;
    await evaluateRun({ run: runDir, task: c.task, rates: { audio: c.audio, video: c.video }, snr: c.snr, split: "test", limit: p.evalLimit, beam: p.beam, maxNewTokens: p.maxNewTokens, ctcDecodeWeight: c.ctcDecode, lexiconDecodeWeight: c.lexDecode, lexiconProposals: c.lexProposals, lengthPenalty: c.lengthPenalty });
    evaluated++;
  }
  return { runId: summary.runId, trainSeconds: (t1 - t0) / 1000, evalSeconds: (Date.now() - t1) / 1000, cells: p.cells.length, evaluated };
}

export interface RunExperimentsOptions {
  size?: ReproSize;
  /** Jobs at once (default $OMNI_JOBS or 2: one per core, each with one BLAS thread). */
  concurrency?: number;
  log?: (line: string) => void;
  echo?: boolean;
  /** Start only the runs estimated to finish by then (epoch ms); the others are deferred (pool.ts). */
  deadline?: number;
  /** With a deadline: start the others too and stop what still runs at the deadline (parked, pool.ts). */
  park?: boolean;
}

/**
 * Runs the jobs of the given experiments in the pool (resumable). A job marked done whose cells are
 * not all there (the plan grew since) is reopened: training is skipped, only the missing cells run.
 * A job marked done but trained on other encoder or LM weights than the shipped ones, or with another
 * configuration than the plan's, is an error (pipeline/inputs.ts), before anything runs.
 */
export async function runExperiments(experiments: readonly Experiment[], o: RunExperimentsOptions = {}): Promise<JobOutcome[]> {
  const size = o.size ?? reproSize();
  const jobs = planJobs(experiments, size);
  const root = runsRoot();
  for (const j of jobs) {
    const dir = join(root, j.id);
    const p = j.params as unknown as TrainEvalParams;
    // a finished run is reused only if it was trained on the shipped encoder and LM weights, with the
    // configuration the plan now gives (a changed preset would otherwise leave old runs standing)
    if (existsSync(join(dir, "done.json"))) {
      const cfg = resolveRunConfig(p.train);
      checkRunInputs(dir, runInputs(cfg));
      checkRunConfig(dir, cfg);
    }
    if (existsSync(join(dir, "done.json")) && !p.cells.every((c) => cellDone(dir, c, p))) rmSync(join(dir, "done.json"));
  }
  const out = await runJobs(jobs, {
    root,
    concurrency: o.concurrency ?? (Number(process.env.OMNI_JOBS) || 2),
    env: { OMNI_THREADS: "1" },
    log: o.log,
    echo: o.echo ?? false,
    deadline: o.deadline,
    park: o.park,
    secondsOf: jobSecondsEstimator(jobs),
  });
  const failed = out.filter((r) => r.status === "failed" || r.status === "blocked");
  if (failed.length > 0) throw new Error(`${failed.length} job(s) failed: ${failed.map((f) => `${f.id}: ${f.error}`).join("; ")}`);
  return out;
}

/** The run id (= run folder name under results/runs/) of a training configuration. */
export function resolveTrainRunId(p: TrainParams): string {
  return resolveRunConfig(p).runId;
}
