/**
 * Notebook helpers for the pretraining summary (notebook 02) and the elastic-inference demo (notebook 03).
 *
 *   pretrainingTables(preset)   encoders (CTC error rates, params, time) and LMs (perplexity, params, tokens/s)
 *   lmCurves(preset)            the LMs' training-loss curves (checkpoints/lm/<preset>/<size>/metrics.csv)
 *   elasticDemo(runId, o)       one trained model decoding one test utterance at every task and rate pair:
 *                               LLM input tokens (audio, video, total) and decoding time for each
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LLM_SIZES, type LlmSize } from "../models/llm.js";
import type { Task } from "../models/lora.js";
import { readCsv, type Row } from "../report/csv.js";
import { repoRoot } from "../util/paths.js";
import { wordEdits } from "../eval/wer.js";

function readJson<T>(p: string): T | undefined {
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as T) : undefined;
}

export function pretrainingTables(preset: string): { encoders: Row[]; lms: Row[] } {
  const encoders: Row[] = [];
  for (const modality of ["audio", "video"]) {
    const m = readJson<Record<string, number | string>>(join(repoRoot(), "checkpoints", "encoders", preset, modality, "metrics.json"));
    if (!m) continue;
    encoders.push({
      modality,
      unit: String(m.unit),
      params: Number(m.params),
      steps: Number(m.steps),
      train_minutes: Number(m.trainSeconds) / 60,
      final_train_loss: Number(m.finalTrainLoss),
      val_error_rate_pct: 100 * Number(m.valErrorRate),
      val_error_rate_babble0dB_pct: m.valErrorRateBabble0dB === undefined ? null : 100 * Number(m.valErrorRateBabble0dB),
      val_subword_ctc_wer_pct: m.valSubwordWer === undefined ? null : 100 * Number(m.valSubwordWer),
    });
  }
  const lms: Row[] = [];
  for (const size of Object.keys(LLM_SIZES) as LlmSize[]) {
    const m = readJson<{ params: number; steps: number; trainTokens: number; wallTimeS: number; tokensPerS: number; val: { loss: number; perplexity: number; wordPerplexity?: number }; valInitial?: { perplexity: number }; copyProbe?: { shuffled: { gain: number } } }>(
      join(repoRoot(), "checkpoints", "lm", preset, size, "metrics.json"),
    );
    if (!m) continue;
    lms.push({
      size,
      params: m.params,
      steps: m.steps,
      train_tokens: m.trainTokens,
      train_minutes: m.wallTimeS / 60,
      tokens_per_s: Math.round(m.tokensPerS),
      val_loss: m.val.loss,
      val_perplexity: m.val.perplexity,
      initial_perplexity: m.valInitial?.perplexity ?? null,
      copy_gain_nats: m.copyProbe?.shuffled.gain ?? null,
    });
  }
  return { encoders, lms };
}

export function lmCurves(preset: string): Array<{ size: string; step: number[]; loss: number[]; valStep: number[]; valLoss: number[] }> {
  const out = [];
  for (const size of Object.keys(LLM_SIZES)) {
    const p = join(repoRoot(), "checkpoints", "lm", preset, size, "metrics.csv");
    if (!existsSync(p)) continue;
    const rows = readCsv(p);
    const val = rows.filter((r) => r.val_loss !== null && r.val_loss !== "" && Number.isFinite(Number(r.val_loss)));
    out.push({ size, step: rows.map((r) => Number(r.step)), loss: rows.map((r) => Number(r.loss)), valStep: val.map((r) => Number(r.step)), valLoss: val.map((r) => Number(r.val_loss)) });
  }
  return out;
}

export interface ElasticRow extends Row {
  task: string;
  rates: string;
  audio_tokens: number;
  video_tokens: number;
  llm_input_tokens: number;
  /** Median over `repeats` decodes of the utterance (beam search to EOS or maxNewTokens). */
  decode_ms: number;
  /** Sub-word tokens of the hypothesis (decode time grows with them as well as with the input). */
  output_tokens: number;
  hypothesis: string;
  word_errors: number;
}

/**
 * Decodes test utterance `index` (in the test split's order) with the run's model at every task and rate
 * pair it has projectors for. LLM input tokens = BOS + modality markers + compressed audio/video tokens +
 * prompt (the whole prefix the LLM reads before the first generated token). Decode time: one warm-up
 * decode, then the median of `repeats` (default 3) decodes per row; it grows with the hypothesis's
 * length too (`output_tokens`), so compare rows of similar output length.
 */
export async function elasticDemo(runId: string, o: { index?: number; beam?: number; maxNewTokens?: number; repeats?: number } = {}): Promise<{ reference: string; id: string; rows: ElasticRow[] }> {
  const { buildModel, decodeUtterances, readRunConfig, restoreTrained, runDirOf } = await import("../pipeline/model.js");
  const { openEvalSet, evalSamples, disposeSamples } = await import("../pipeline/data.js");
  const dir = runDirOf(runId);
  const cfg = readRunConfig(dir);
  const built = await buildModel(cfg);
  restoreTrained(built.model, dir);
  const set = await openEvalSet(cfg.preset, "test", { needAudio: true, needVideo: true, limit: (o.index ?? 0) + 1, ...built.inputs });
  const utt = set.utterances[o.index ?? 0]!;
  const rows: ElasticRow[] = [];
  const cells: Array<{ task: Task; a: number; v: number }> = [
    ...cfg.audioRates.map((a) => ({ task: "asr" as Task, a, v: cfg.videoRates[0]! })),
    ...cfg.videoRates.map((v) => ({ task: "vsr" as Task, a: cfg.audioRates[0]!, v })),
    ...cfg.audioRates.flatMap((a) => cfg.videoRates.map((v) => ({ task: "avsr" as Task, a, v }))),
  ];
  // one warm-up decode so the first row's time does not include kernel set-up
  decodeUtterances(built.model, built.tokenizer, set, [utt], "avsr", { audio: cfg.audioRates[0]!, video: cfg.videoRates[0]! }, { beamWidth: o.beam ?? 4, maxNewTokens: 4, batchSize: 1 });
  for (const c of cells) {
    const rates = { audio: c.a, video: c.v };
    const samples = evalSamples(set, [utt]);
    const total = tf.tidy(() => built.model.decodePrefix(samples, c.task, rates).embeds.shape[1]);
    disposeSamples(samples);
    const useA = c.task !== "vsr";
    const useV = c.task !== "asr";
    const at = useA ? Math.ceil(set.audio!.frames(utt.id) / c.a) : 0;
    const vt = useV ? Math.ceil(set.video!.frames(utt.id) / c.v) : 0;
    const times: number[] = [];
    let hyp: string | undefined;
    for (let r = 0; r < Math.max(1, o.repeats ?? 3); r++) {
      const t0 = performance.now();
      [hyp] = decodeUtterances(built.model, built.tokenizer, set, [utt], c.task, rates, { beamWidth: o.beam ?? 4, maxNewTokens: o.maxNewTokens ?? 32, batchSize: 1 });
      times.push(performance.now() - t0);
    }
    const ms = times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!;
    rows.push({
      task: c.task.toUpperCase(),
      rates: c.task === "asr" ? `${c.a}` : c.task === "vsr" ? `${c.v}` : `${c.a}-${c.v}`,
      audio_tokens: at,
      video_tokens: vt,
      llm_input_tokens: total,
      decode_ms: Math.round(ms),
      output_tokens: built.tokenizer.encode(hyp!).length,
      hypothesis: hyp!,
      word_errors: wordEdits(utt.text, hyp!).errors,
    });
  }
  built.model.dispose();
  return { reference: utt.text, id: utt.id, rows };
}
