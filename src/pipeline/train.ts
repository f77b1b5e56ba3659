/**
 * One training run, end to end: resolve the config, build the model (frozen LM + LoRA + projectors),
 * read the cached encoder features, train with the shared Trainer (methods.ts decides the passes of a
 * step), validate at each epoch end and at the last step, and write
 *
 *   <runDir>/config.json     { trainer, run: RunConfig, model }   (Trainer)
 *   <runDir>/metrics.csv     step, lr, loss, loss per task, grad norm, rates, tokens, tokens/s, elapsed
 *   <runDir>/val.csv         step, epoch, task, audio_rate, video_rate, wer, cer, utterances
 *   <runDir>/checkpoints/    newest two checkpoints (exact resume; not committed)
 *   <runDir>/final/          the finished run's trained weights (model.safetensors, state, config,
 *                            tokeniser; no optimizer state): what evaluation loads, small enough to commit
 *   <runDir>/inputs.json     fingerprints of what the run was trained on (encoders, LM weights)
 *   <runDir>/summary.json    what the run cost and its last validation (written last)
 *
 * A run folder belongs to its inputs (inputs.ts): resuming or reusing a run whose inputs.json names
 * other encoder or LM weights than the checkpoints now give is an error that names the folder.
 *
 * Resumable: a killed run continues from its newest checkpoint and reproduces the uninterrupted run
 * (the Trainer's guarantee; the batch provider is a pure function of seed, step and the saved data Rng).
 * A finished run (summary.json at the configured step count) returns its summary without training.
 *
 *   trainRun(params, runDir?)  -> TrainSummary    (library and CLI)
 *   trainJob(params, runDir)   -> TrainSummary    (experiment runner: the job folder is the run folder)
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../backend/index.js";
import { corpusCer, corpusWer } from "../eval/wer.js";
import { taskUses, type Rates } from "../models/avsr.js";
import { TASKS, type Task } from "../models/lora.js";
import { readCsv, truncateCsvAtStep } from "../report/csv.js";
import { PAPER_ADAMW } from "../train/optim.js";
import { Trainer, defaultTrainerConfig } from "../train/trainer.js";
import { methodCost, type MethodConfig } from "../train/methods.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { repoRelative, resultsDir } from "../util/paths.js";
import { resolveRunConfig, type RunConfig, type TrainParams } from "./config.js";
import { openEvalSet, openTrainData } from "./data.js";
import { checkRunConfig, checkRunInputs, runInputs } from "./inputs.js";
import { buildModel, disposeInputs, decodeUtterances, finalWeightsDir } from "./model.js";
import { latestCheckpoint } from "../train/checkpoint.js";

export interface ValResult {
  step: number;
  epoch: number;
  task: Task;
  rates: Rates;
  wer: number;
  cer: number;
  utterances: number;
}

export interface TrainSummary {
  runId: string;
  /** Relative to the repository root when inside it, so the committed summaries read the same in every clone. */
  runDir: string;
  method: string;
  task?: Task;
  preset: string;
  seed: number;
  lm: string;
  lmSource: string;
  steps: number;
  stepsPerEpoch: number;
  trainUtterances: number;
  trainSeconds: number;
  /** Transcript+EOS tokens scored per second (summed over the LLM passes), mean over the run. */
  tokensPerSecond: number;
  secondsPerStep: number;
  trainableParams: number;
  llmParams: number;
  passesPerStep: string;
  modelsForAllRates: number;
  finalLoss: number;
  val: ValResult[];
}

/** Tasks validated for a method (its own task for single-task methods). */
function valTasks(c: RunConfig): Task[] {
  return c.task ? [c.task] : [...TASKS];
}

export interface TrainRunOptions {
  log?: (line: string) => void;
  progressIntervalMs?: number;
  /** Stop after this step (tests: simulate an interrupted run). */
  stopAfter?: number;
}

export async function trainRun(params: TrainParams, runDir?: string, o: TrainRunOptions = {}): Promise<TrainSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const backend = await initBackend();
  const cfg = resolveRunConfig(params);
  const dir = runDir ?? resultsDir("runs", cfg.runId);
  const inputs = runInputs(cfg);
  checkRunInputs(dir, inputs);
  checkRunConfig(dir, cfg);
  const summaryPath = join(dir, "summary.json");
  if (existsSync(summaryPath)) {
    const s = JSON.parse(readFileSync(summaryPath, "utf8")) as TrainSummary;
    if (s.steps === cfg.steps) {
      log(`[train] ${cfg.runId} already finished (${summaryPath})`);
      return s;
    }
  }
  const built = await buildModel(cfg, log);
  const { model, tokenizer } = built;
  const method: MethodConfig = { method: cfg.method, audioRates: cfg.audioRates, videoRates: cfg.videoRates, lambdas: cfg.lambdas, task: cfg.task };
  const tcfg = defaultTrainerConfig(method, cfg.steps, cfg.seed);
  tcfg.adamw = { ...PAPER_ADAMW, weightDecay: cfg.weightDecay };
  tcfg.schedule = { baseLr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps };
  tcfg.clipNorm = cfg.clipNorm;
  tcfg.checkpointEvery = cfg.checkpointEvery;
  const trainer = new Trainer(model, tcfg, { runDir: dir, runConfig: cfg, tokenizer: tokenizer.toJSON(), progressWrite: log, progressIntervalMs: o.progressIntervalMs ?? 5000 });
  const uses = cfg.task ? taskUses(cfg.task) : { audio: true, video: true };
  const data = await openTrainData(
    { preset: cfg.preset, seed: cfg.seed, batchSize: cfg.batchSize, trainLimit: cfg.trainLimit, noiseAug: cfg.noiseAug, needAudio: uses.audio, needVideo: uses.video, splice: cfg.splice, videoRestyle: cfg.videoRestyle, videoRestyleVariants: cfg.videoRestyleVariants, timeMask: cfg.timeMask, ...built.inputs },
    tokenizer,
  );
  const resumed = trainer.resume();
  writeFileAtomicSync(join(dir, "inputs.json"), JSON.stringify(inputs, null, 1) + "\n");
  log(
    `[train] ${cfg.runId}: ${cfg.method}${cfg.task ? ` (${cfg.task})` : ""}, LM ${cfg.lm} (${built.lm.source}), ${model.trainableCount()} trainable params, ` +
      `${data.utterances} train utt (${data.variants} noisy variants${data.videoVariants ? `, ${data.videoVariants} restyled video variants` : ""})${cfg.splice ? ` + ${cfg.splice} spliced per batch from ${data.splicePool} word sequences` : ""}${cfg.timeMask ? `, time mask on ${cfg.timeMask}` : ""}, ${data.stepsPerEpoch} steps/epoch, backend ${backend.name}` +
      (resumed > 0 ? `, resumed at step ${resumed}` : ""),
  );

  // validation set (opened once) and the val.csv rows the checkpoint covers
  const valPath = join(dir, "val.csv");
  const VAL_COLS = ["step", "epoch", "task", "audio_rate", "video_rate", "wer", "cer", "utterances"];
  if (existsSync(valPath)) truncateCsvAtStep(valPath, resumed);
  else writeFileAtomicSync(valPath, VAL_COLS.join(",") + "\n");
  const valSet = await openEvalSet(cfg.preset, "val", { needAudio: uses.audio, needVideo: uses.video, limit: cfg.valLimit, ...built.inputs });
  const rates: Rates = { audio: cfg.audioRates[0]!, video: cfg.videoRates[0]! };
  const validate = (step: number): ValResult[] => {
    const out: ValResult[] = [];
    for (const task of valTasks(cfg)) {
      const hyps = decodeUtterances(model, tokenizer, valSet, valSet.utterances, task, rates, { beamWidth: 1, maxNewTokens: cfg.valMaxNewTokens, batchSize: 32 });
      const pairs = valSet.utterances.map((u, i) => ({ ref: u.text, hyp: hyps[i]! }));
      const r: ValResult = { step, epoch: step / data.stepsPerEpoch, task, rates, wer: corpusWer(pairs).rate, cer: corpusCer(pairs).rate, utterances: pairs.length };
      out.push(r);
      appendFileSync(valPath, [step, r.epoch.toFixed(3), task, rates.audio, rates.video, r.wer.toFixed(5), r.cer.toFixed(5), r.utterances].join(",") + "\n");
    }
    log(`[val] step ${step} (epoch ${(step / data.stepsPerEpoch).toFixed(2)}): ` + out.map((r) => `${r.task}(${r.rates.audio},${r.rates.video}) WER ${(100 * r.wer).toFixed(1)}%`).join(" | ") + ` [greedy, ${valSet.utterances.length} val utt]`);
    return out;
  };

  // segments end at each epoch boundary and at the last step; validate after each
  const ends: number[] = [];
  for (let e = data.stepsPerEpoch; e < cfg.steps; e += data.stepsPerEpoch) ends.push(e);
  ends.push(cfg.steps);
  let val: ValResult[] = [];
  for (const end of ends) {
    if (end <= trainer.step) continue;
    const until = o.stopAfter !== undefined ? Math.min(end, o.stopAfter) : end;
    trainer.run(data.provider, until);
    if (until < end) {
      data.dispose();
      trainer.dispose();
      model.dispose();
      disposeInputs(built);
      throw new Error(`stopped after step ${until} (stopAfter)`);
    }
    val = validate(end);
  }
  data.dispose();
  if (val.length === 0) {
    // resumed after the last validation: report the rows already written for the final step
    val = readCsv(valPath)
      .filter((r) => Number(r.step) === cfg.steps)
      .map((r) => ({ step: cfg.steps, epoch: Number(r.epoch), task: r.task as Task, rates: { audio: Number(r.audio_rate), video: Number(r.video_rate) }, wer: Number(r.wer), cer: Number(r.cer), utterances: Number(r.utterances) }));
    if (val.length === 0) val = validate(cfg.steps);
  }

  const rows = readCsv(join(dir, "metrics.csv"));
  const last = rows[rows.length - 1]!;
  const trainSeconds = Number(last.elapsed_s);
  const tokens = rows.reduce((s, r) => s + Number(r.tokens), 0);
  const cost = methodCost(method);
  const summary: TrainSummary = {
    runId: cfg.runId,
    runDir: repoRelative(dir),
    method: cfg.method,
    task: cfg.task,
    preset: cfg.preset,
    seed: cfg.seed,
    lm: cfg.lm,
    lmSource: built.lm.source,
    steps: cfg.steps,
    stepsPerEpoch: data.stepsPerEpoch,
    trainUtterances: data.utterances,
    trainSeconds,
    tokensPerSecond: tokens / Math.max(1e-9, trainSeconds),
    secondsPerStep: trainSeconds / cfg.steps,
    trainableParams: model.trainableCount(),
    llmParams: model.llm.numParams(),
    passesPerStep: cost.passesPerStep,
    modelsForAllRates: cost.models,
    finalLoss: Number(last.loss),
    val: val.length > 0 ? val : [],
  };
  exportFinalWeights(dir);
  writeFileAtomicSync(summaryPath, JSON.stringify(summary, null, 1) + "\n");
  trainer.dispose();
  model.dispose();
  disposeInputs(built);
  log(`[train] ${cfg.runId} done: ${cfg.steps} steps in ${trainSeconds.toFixed(0)} s (${summary.tokensPerSecond.toFixed(0)} tok/s)`);
  return summary;
}

/** Copies the last checkpoint's weights, state, config and tokeniser (not the optimizer) to <runDir>/final/, atomically. */
export function exportFinalWeights(runDir: string): string {
  const ck = latestCheckpoint(join(runDir, "checkpoints"));
  if (!ck) throw new Error(`${runDir}: no checkpoint to export`);
  const out = finalWeightsDir(runDir);
  const tmp = `${out}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of ["model.safetensors", "state.json", "config.json", "tokenizer.json"]) if (existsSync(join(ck, f))) copyFileSync(join(ck, f), join(tmp, f));
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  return out;
}

/** For the experiment runner: the job folder is the run folder; the summary becomes done.json. */
export async function trainJob(params: TrainParams, runDir: string): Promise<TrainSummary> {
  return trainRun(params, runDir);
}
