/**
 * LM training: one AdamW step, and the resumable training loop.
 *
 * Checkpoints. Intermediate, resumable ones (weights, AdamW moments, step, data-RNG state; see
 * train/checkpoint.ts) go to the work folder, by default results/pretrain/lm/tmp/<preset>/<size>/<config hash>/
 * (git-ignored by `results/**\/tmp/`); a run killed at any point resumes from the newest one and
 * reproduces the uninterrupted run exactly. Only the final weights are shipped (shipped.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Llm, maskedCrossEntropy } from "../../models/llm.js";
import { AdamW, clippedAdamWStep, cosineLr } from "../../train/optim.js";
import { assignParams, latestCheckpoint, loadCheckpoint, momentsOf, saveCheckpoint } from "../../train/checkpoint.js";
import { writeFileAtomicSync } from "../../util/atomic.js";
import { Progress } from "../../util/progress.js";
import { Rng } from "../../util/rng.js";
import { describeBackend } from "../../backend/index.js";
import { lmModelConfig, type LmPretrainConfig } from "./config.js";
import { sampleBatch, type LmData } from "./data.js";
import { evaluateLm, wordStartIds, type LmEval } from "./evaluate.js";
import { LM_METRICS_COLUMNS, type LmMetrics } from "./metrics.js";

export interface LmStepResult {
  loss: number;
  gradNorm: number;
}

/** One AdamW step of next-token cross-entropy on a batch [B, T]. */
export function lmTrainStep(llm: Llm, opt: AdamW, ids: Int32Array, targets: Int32Array, B: number, T: number, lr: number, clipNorm: number): LmStepResult {
  return clippedAdamWStep(
    llm.trainableParameters(),
    () =>
      tf.tidy(() => {
        const out = llm.forward({ ids: tf.tensor2d(ids, [B, T], "int32") }, { logits: "all" });
        return maskedCrossEntropy(out.logits!, targets);
      }),
    opt,
    lr,
    clipNorm,
  );
}

export interface LmPretrainOptions {
  /** Folder of the resumable run: checkpoints/, metrics.csv, config.json. */
  workDir: string;
  /** Delete the work folder first. */
  fresh?: boolean;
  /** Stop after this step (default cfg.steps), leaving a checkpoint (tests). */
  untilStep?: number;
  /** After each checkpoint is written. */
  onCheckpoint?: (step: number, dir: string) => void;
  /** Progress lines (default stderr every 5 s). */
  log?: (line: string) => void;
  progressIntervalMs?: number;
  /** Skip the final full validation (the result then has no metrics). */
  skipFinalEval?: boolean;
}

export interface LmPretrainResult {
  llm: Llm;
  /** Step reached; equals cfg.steps when finished. */
  step: number;
  resumedFrom: number;
  metrics?: LmMetrics;
}

function fmtNum(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(6);
}

/**
 * Trains one LM (or resumes it from the newest checkpoint in `workDir`), with progress lines, a
 * metrics.csv row per step and checkpoints every cfg.checkpointEvery steps. The same config, seed and
 * data give the same weights, whether or not the run was interrupted.
 */
export function pretrainLm(cfg: LmPretrainConfig, data: LmData, opts: LmPretrainOptions): LmPretrainResult {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  if (opts.fresh) rmSync(opts.workDir, { recursive: true, force: true });
  mkdirSync(opts.workDir, { recursive: true });
  const modelCfg = lmModelConfig(cfg, data.tokenizer.size);
  const runConfig = { pretrain: cfg, model: modelCfg };
  const ckRoot = join(opts.workDir, "checkpoints");
  const metricsPath = join(opts.workDir, "metrics.csv");

  const root = new Rng(cfg.seed);
  const llm = new Llm(modelCfg, root.fork("lm-init"));
  const dataRng = root.fork("lm-data");
  const opt = new AdamW(cfg.adamw);
  let step = 0;
  let elapsedBefore = 0;
  let scoredBefore = 0;
  let valInitial: LmEval | undefined;
  const valCurve: Array<{ step: number; loss: number }> = [];
  const wordStarts = wordStartIds(data.tokenizer);
  const evalOpts = { seqLen: cfg.seqLen, batchSize: cfg.batchSize, maxTokens: cfg.evalTokens, wordStarts };

  const last = latestCheckpoint(ckRoot);
  if (last) {
    const ck = loadCheckpoint(last);
    if (JSON.stringify(ck.config) !== JSON.stringify(runConfig)) {
      throw new Error(`${opts.workDir} holds a run with a different config; delete it or pass fresh (--fresh)`);
    }
    assignParams(llm, ck.params, last);
    const { m, v } = momentsOf(ck);
    opt.setState(ck.state.optimizer.t, m, v);
    dataRng.setState(ck.state.rng.data!);
    step = ck.state.step;
    const extra = (ck.state.extra ?? {}) as { elapsedS?: number; scored?: number; valInitial?: LmEval; valCurve?: Array<{ step: number; loss: number }> };
    elapsedBefore = extra.elapsedS ?? 0;
    scoredBefore = extra.scored ?? 0;
    valInitial = extra.valInitial;
    valCurve.push(...(extra.valCurve ?? []));
    if (existsSync(metricsPath)) {
      const lines = readFileSync(metricsPath, "utf8").split("\n").filter((l) => l.length > 0);
      writeFileAtomicSync(metricsPath, [lines[0]!, ...lines.slice(1).filter((l) => Number(l.split(",")[0]) <= step)].join("\n") + "\n");
    }
    log(`[lm ${cfg.preset}/${cfg.size}] resumed from step ${step} (${last})`);
  }
  const resumedFrom = step;
  if (!existsSync(metricsPath) || step === 0) writeFileAtomicSync(metricsPath, LM_METRICS_COLUMNS.join(",") + "\n");
  writeFileAtomicSync(join(opts.workDir, "config.json"), JSON.stringify(runConfig, null, 1) + "\n");
  let evalTime = 0;
  if (!valInitial) {
    const t0 = Date.now();
    valInitial = evaluateLm(llm, data.val, evalOpts);
    evalTime += (Date.now() - t0) / 1000;
  }

  const untilStep = Math.min(opts.untilStep ?? cfg.steps, cfg.steps);
  const label = `lm ${cfg.preset}/${cfg.size}`;
  log(
    `[${label}] ${llm.numParams().toLocaleString("en")} parameters, vocab ${modelCfg.vocabSize}, ` +
      `${cfg.steps} steps x ${cfg.batchSize} x ${cfg.seqLen} tokens, train stream ${data.train.length.toLocaleString("en")} tokens, ` +
      `val ${data.val.length.toLocaleString("en")}; ${describeBackend()}; initial val loss ${valInitial.loss.toFixed(4)}`,
  );
  const progress = new Progress(cfg.steps, { label, startAt: step, elapsedBefore, write: log, intervalMs: opts.progressIntervalMs ?? 5000 });
  const t0 = Date.now();
  let evalInLoop = 0;
  let scored = scoredBefore;
  let sessionTokens = 0;
  let lastLoss = NaN;
  while (step < untilStep) {
    const next = step + 1;
    const batch = sampleBatch(data.train, cfg.seqLen, cfg.batchSize, dataRng, cfg.copyWindows ? { cfg: cfg.copyWindows, vocabSize: modelCfg.vocabSize } : undefined);
    const lr = cosineLr(next, cfg.schedule);
    const r = lmTrainStep(llm, opt, batch.ids, batch.targets, cfg.batchSize, cfg.seqLen, lr, cfg.clipNorm);
    if (!Number.isFinite(r.loss)) throw new Error(`[${label}] loss is ${r.loss} at step ${next}`);
    step = next;
    lastLoss = r.loss;
    scored += batch.tokens;
    sessionTokens += cfg.batchSize * cfg.seqLen;
    let valLoss = "";
    if (cfg.evalEvery > 0 && (next % cfg.evalEvery === 0 || next === cfg.steps)) {
      const te = Date.now();
      const ev = evaluateLm(llm, data.val, evalOpts);
      evalInLoop += (Date.now() - te) / 1000;
      valCurve.push({ step: next, loss: ev.loss });
      valLoss = fmtNum(ev.loss);
      log(`[${label}] step ${next}: val loss ${ev.loss.toFixed(4)} (ppl ${ev.perplexity.toFixed(2)}) on ${ev.tokens} tokens`);
    }
    const trainSeconds = (Date.now() - t0) / 1000 - evalInLoop;
    const tps = sessionTokens / Math.max(1e-9, trainSeconds);
    appendFileSync(metricsPath, [next, lr, r.loss, r.gradNorm, cfg.batchSize * cfg.seqLen, tps, elapsedBefore + trainSeconds].map(fmtNum).join(",") + `,${valLoss}\n`);
    progress.update(next, { loss: r.loss }, `${tps.toFixed(0)} tok/s | lr ${lr.toExponential(2)}`);
    if (next % cfg.checkpointEvery === 0 || next === untilStep) {
      const dir = saveCheckpoint(
        ckRoot,
        {
          params: llm.namedParameters(),
          optimizer: { m: opt.m, v: opt.v },
          state: {
            step: next,
            rng: { data: dataRng.state() },
            optimizer: { t: opt.t, config: cfg.adamw },
            extra: { elapsedS: elapsedBefore + trainSeconds, scored, valInitial, valCurve },
          },
          config: runConfig,
          tokenizer: data.tokenizer.toJSON(),
        },
        cfg.keepCheckpoints,
      );
      opts.onCheckpoint?.(next, dir);
    }
  }
  const sessionTrain = (Date.now() - t0) / 1000 - evalInLoop;
  evalTime += evalInLoop;
  opt.dispose();
  llm.freeze();
  const result: LmPretrainResult = { llm, step, resumedFrom };
  if (step < cfg.steps || opts.skipFinalEval) return result;

  const te = Date.now();
  const val = evaluateLm(llm, data.val, { seqLen: cfg.seqLen, batchSize: cfg.batchSize, wordStarts });
  evalTime += (Date.now() - te) / 1000;
  // a finished run re-opened (nothing trained now) keeps the training time and rate of its checkpoint
  const wallTimeS = elapsedBefore + sessionTrain;
  const trainTokens = cfg.steps * cfg.batchSize * cfg.seqLen;
  if (Number.isNaN(lastLoss)) {
    const rows = readFileSync(metricsPath, "utf8").trim().split("\n");
    lastLoss = Number(rows.at(-1)!.split(",")[2]);
  }
  const embedding = modelCfg.vocabSize * modelCfg.dim * (modelCfg.tieEmbeddings ? 1 : 2);
  result.metrics = {
    preset: cfg.preset,
    size: cfg.size,
    seed: cfg.seed,
    params: llm.numParams(),
    paramsNonEmbedding: llm.numParams() - embedding,
    vocabSize: modelCfg.vocabSize,
    steps: cfg.steps,
    trainTokens,
    trainTokensScored: scored,
    epochs: Number((trainTokens / data.train.length).toFixed(4)),
    trainStreamTokens: data.train.length,
    trainLines: data.trainLines,
    valLines: data.valLines,
    wallTimeS: Number(wallTimeS.toFixed(2)),
    tokensPerS: Number((trainTokens / Math.max(1e-9, wallTimeS)).toFixed(1)),
    finalTrainLoss: lastLoss,
    val,
    valInitial: valInitial!,
    valCurve,
    evalTimeS: Number(evalTime.toFixed(2)),
    backend: describeBackend(),
  };
  log(
    `[${label}] done: val loss ${val.loss.toFixed(4)}, perplexity ${val.perplexity.toFixed(2)} per token, ` +
      `${val.wordPerplexity!.toFixed(2)} per word (${val.tokens} tokens); ${trainTokens.toLocaleString("en")} train tokens in ` +
      `${wallTimeS.toFixed(0)} s (${result.metrics.tokensPerS.toFixed(0)} tok/s)`,
  );
  return result;
}
