/**
 * Language-model pretraining: the shared sub-word tokeniser and the three Llama-style LMs (tiny, small,
 * base; see LLM_SIZES in models/llm.ts) trained on the corpus's LM text, evaluated by validation
 * perplexity, then frozen and shipped under checkpoints/lm/<preset>/. `npm run pretrain:lm` drives it
 * (scripts/pretrain-lm.ts).
 *
 * API
 *   loadPretrainedLm(preset, size, { root? }) -> { llm, tokenizer, config, metrics }
 *       the shipped, frozen LM of checkpoints/lm/<preset>/<size>/ (float32 weights), for the AVSR
 *       training code: `new AvsrModel(cfg, tokenizer, rng, llm)` with `cfg.llm = llm.config`.
 *   lmPretrainConfig(preset, size, { seed?, steps? }) -> LmPretrainConfig   (LM_PRESETS: smoke, default)
 *   readLmText(corpus, { maxLines?, dir? }) -> LmText   the corpus's lm_text.txt, its sha256, and a leak check
 *                                           against every val/test transcript (throws on a leak)
 *   prepareLmData(lines, cfg, tokenizer?) -> LmData   deterministic train/val split by line hash,
 *                                           the tokeniser (trained on the train lines), token streams
 *   trainLmTokenizer(lines, cfg.tokenizer) -> BpeTokenizer
 *   pretrainLm(cfg, data, { workDir, ... }) -> { llm, metrics }   resumable training with progress
 *   evaluateLm(llm, stream, { seqLen, batchSize, maxTokens?, wordStarts? }) -> LmEval
 *   exportPretrainedLm(dir, llm, tokenizer, cfg, metrics, provenance)   the shipped files
 *   runLmPretraining(preset, size, opts)   what the CLI runs for one size (text, tokeniser, training,
 *                                          export, provenance)
 *   writeLmSummary(preset, root?) -> rows  checkpoints/lm/<preset>/summary.csv, one row per shipped size
 *
 * Data. Each line of the LM text becomes `<bos> tokens <eos>`; lines are concatenated into one token
 * stream and training windows of seqLen+1 tokens are drawn at random offsets (nanoGPT style), so a
 * window holds several consecutive sentences and sentences appear at every position. Targets that are
 * `<bos>` (always right after `<eos>`) carry no loss, in training and in evaluation. A line goes to
 * validation when hashSeed("lm-val", line) falls in the first `valFraction` of the 32-bit range: the
 * split does not depend on the seed or line order, and repeated lines land on the same side. The
 * tokeniser is trained on the training lines only, and is one per preset, shared by every size.
 *
 * Perplexity. Validation windows are consecutive and non-overlapping (stride seqLen), so every token
 * after the first is predicted once with up to seqLen tokens of context. Token perplexity =
 * exp(mean NLL over predicted tokens); word perplexity = exp(total NLL / (words + end-of-lines)),
 * where a word is counted by its word-start token ("▁..."): comparable across tokenisers.
 *
 * Checkpoints. Intermediate, resumable ones (weights, AdamW moments, step, data-RNG state; see
 * train/checkpoint.ts) go to the work folder, by default results/pretrain/lm/tmp/<preset>/<size>/<config hash>/
 * (git-ignored by `results/**\/tmp/`); a run killed at any point resumes from the newest one and
 * reproduces the uninterrupted run exactly. Only the final weights go to checkpoints/lm/<preset>/<size>/:
 *   model.safetensors  every parameter, float32, Hugging Face Llama names (Linear weights [in, out])
 *   config.json        { pretrain: LmPretrainConfig, model: LlmConfig }
 *   tokenizer.json     the preset's tokeniser (same bytes as checkpoints/lm/<preset>/tokenizer.json)
 *   metrics.json       validation loss/perplexity, parameters, train tokens, steps, wall time, tokens/s
 *   metrics.csv        the training curve (step, lr, loss, grad norm, tokens/s, periodic val loss)
 *   provenance.json    command, git commit, seed, sha256 of the LM text, date, backend
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { openCorpus } from "../data/index.js";
import { LeakDetector } from "../data/lm-text.js";
import { Llm, LlmConfig, LlmSize, LLM_SIZES, IGNORE, llmConfig, maskedCrossEntropy } from "../models/llm.js";
import { BOS_ID, BpeTokenizer, BpeTokenizerJSON, EOS_ID, WORD_START } from "../text/tokenizer.js";
import { AdamW, AdamWConfig, ScheduleConfig, clippedAdamWStep, cosineLr } from "../train/optim.js";
import { assignParams, latestCheckpoint, loadCheckpoint, momentsOf, loadSafetensorsFile, saveCheckpoint, saveSafetensorsFile } from "../train/checkpoint.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { Row, writeCsvSync } from "../report/csv.js";
import { copyProbe, type CopyProbeResult } from "../eval/copy-probe.js";
import { repoRoot, resultsDir } from "../util/paths.js";
import { Progress } from "../util/progress.js";
import { Rng, hashSeed } from "../util/rng.js";
import { backendChoice, describeBackend } from "../backend/index.js";

// ---- config -------------------------------------------------------------------------------------

export const LM_PRESET_NAMES = ["smoke", "default"] as const;
export type LmPreset = (typeof LM_PRESET_NAMES)[number];
export const LM_SIZE_NAMES = Object.keys(LLM_SIZES) as LlmSize[];

export interface LmTokenizerConfig {
  vocabSize: number;
  minFrequency: number;
}

/** Everything that decides one LM's training (recorded in config.json and checkpoints). */
export interface LmPretrainConfig {
  /** Names checkpoints/lm/<preset>/. */
  preset: string;
  /** Corpus preset whose lm_text.txt is the text. */
  corpus: string;
  size: LlmSize;
  seed: number;
  /** Use only the first maxLines lines of the LM text (0 = all). */
  maxLines: number;
  valFraction: number;
  tokenizer: LmTokenizerConfig;
  /** In-context repetition in the training stream (see `withRepeats`); absent = none. */
  repeat?: LmRepeatConfig;
  /** Synthetic copy windows mixed into the training batches (see `CopyWindowConfig`); absent = none. */
  copyWindows?: CopyWindowConfig;
  /** Overrides of the size's LlmConfig (vocabSize always comes from the tokeniser). */
  model: Partial<LlmConfig>;
  seqLen: number;
  batchSize: number;
  steps: number;
  schedule: ScheduleConfig;
  adamw: AdamWConfig;
  clipNorm: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Validation loss on the first evalTokens validation tokens every evalEvery steps (0 = never). */
  evalEvery: number;
  evalTokens: number;
}

/**
 * Repeated lines in the training stream: a line picked with probability `fraction` (by a hash of the
 * line, so the choice does not depend on the seed or order) is emitted again after `gap` other lines,
 * gap uniform in [0, maxGap] (also by hash). Validation text is not repeated, so perplexities stay
 * comparable. The idea: an LLM-based recogniser reads the transcript off the projected audio/video
 * tokens, which needs attention that finds "what came after this earlier in the context" (induction /
 * copy heads), and repeated text is one way to grow them. Measured, it does not here: the tiny LM
 * after 1,500 steps with { fraction 0.5, maxGap 2 } gains 0.06 nats/token on the second copy of a
 * validation line (`npm run probe:lm`), as without repeats; `CopyWindowConfig` does grow them.
 */
export interface LmRepeatConfig {
  fraction: number;
  maxGap: number;
}

/**
 * A fraction of each batch's windows are synthetic copy tasks instead of text: a random token string
 * X (length uniform in [minLen, maxLen], ids drawn uniformly from the non-special vocabulary) written
 * as `<bos> X <eos> <bos> X <eos> ...` until the window is full. Only the repeats are scored (the first
 * X is noise, its targets are ignored), so the only way to lower their loss is to find the earlier
 * copy and read on from it: the induction mechanism in its pure form, which text alone did not grow
 * in a 3 M-token pretraining budget (see `LmRepeatConfig`).
 *
 * Measured on the tiny LM (copy probe, `npm run probe:lm`, word-shuffled validation lines): the
 * shipped LM (300 steps, no copy windows) gains 0.04 nats/token on the second copy; 1,500 steps with
 * repeats 0.06; 1,500 steps with 25 % copy windows (4-24 tokens) 0.30. Trained on copy windows only,
 * its loss on the repeats falls from 6.9 to 4.7 in 400 steps: it learns to copy, slowly. With 50 % copy
 * windows and 3,000 steps, copying appears between steps 900 and 2,000 (a phase change: the training
 * loss falls from ~4.9 to ~2.8) and the frozen LM becomes adaptable: Llama-AVSR ASR on oracle audio
 * reaches 73.7 % WER in 400 steps where the shipped LM stays at the prior (371 %). With copies of up to
 * 60 tokens (50 %, 3,000 steps) the probe gain is 1.29 but oracle-audio ASR reaches only 85.9 %. Not in
 * the `default` preset since the tiny LM of that run was shipped (README, "Status").
 */
export interface CopyWindowConfig {
  fraction: number;
  minLen: number;
  maxLen: number;
}

interface LmPresetSpec {
  corpus: string;
  maxLines: number;
  valFraction: number;
  tokenizer: LmTokenizerConfig;
  repeat?: LmRepeatConfig;
  copyWindows?: CopyWindowConfig;
  seqLen: number;
  batchSize: number;
  steps: number;
  warmupFraction: number;
  lr: Record<LlmSize, number>;
  checkpointEvery: number;
  evalEvery: number;
  evalTokens: number;
}

/**
 * Presets. `default`: the whole LM text of the default corpus, a 1,024-token vocabulary, windows of
 * 128 tokens, 16 windows per step (2,048 tokens), half of them copy windows (4-24 tokens, see
 * `CopyWindowConfig`), 3,000 steps for every size (so the same tokens); on the 2-core lab machine (native
 * backend, one thread) about 15 min for tiny alone, 55 min for small (0.88-0.95 steps/s beside one other
 * job) and about 4 h for base (0.21 steps/s beside two other jobs).
 * `smoke`: a few hundred lines, seconds per size.
 */
export const LM_PRESETS: Record<LmPreset, LmPresetSpec> = {
  smoke: {
    corpus: "smoke",
    maxLines: 1500,
    valFraction: 0.05,
    tokenizer: { vocabSize: 384, minFrequency: 2 },
    seqLen: 32,
    batchSize: 8,
    steps: 30,
    warmupFraction: 0.1,
    lr: { tiny: 3e-3, small: 2e-3, base: 1.5e-3 },
    checkpointEvery: 10,
    evalEvery: 10,
    evalTokens: 1024,
  },
  default: {
    corpus: "default",
    maxLines: 0,
    valFraction: 0.02,
    tokenizer: { vocabSize: 1024, minFrequency: 2 },
    copyWindows: { fraction: 0.5, minLen: 4, maxLen: 24 },
    seqLen: 128,
    batchSize: 16,
    steps: 3000,
    warmupFraction: 0.05,
    lr: { tiny: 3e-3, small: 2.5e-3, base: 2e-3 },
    checkpointEvery: 25,
    evalEvery: 100,
    evalTokens: 8192,
  },
};

export function lmPretrainConfig(preset: string, size: LlmSize, overrides: { seed?: number; steps?: number } = {}): LmPretrainConfig {
  const p = LM_PRESETS[preset as LmPreset];
  if (!p) throw new Error(`unknown LM preset ${JSON.stringify(preset)} (known: ${LM_PRESET_NAMES.join(", ")})`);
  if (!LM_SIZE_NAMES.includes(size)) throw new Error(`unknown LM size ${JSON.stringify(size)} (known: ${LM_SIZE_NAMES.join(", ")})`);
  const steps = overrides.steps ?? p.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  const seed = overrides.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  return {
    preset,
    corpus: p.corpus,
    size,
    seed,
    maxLines: p.maxLines,
    valFraction: p.valFraction,
    tokenizer: { ...p.tokenizer },
    ...(p.repeat ? { repeat: { ...p.repeat } } : {}),
    ...(p.copyWindows ? { copyWindows: { ...p.copyWindows } } : {}),
    model: {},
    seqLen: p.seqLen,
    batchSize: p.batchSize,
    steps,
    schedule: { baseLr: p.lr[size], warmupSteps: Math.max(1, Math.round(p.warmupFraction * steps)), totalSteps: steps },
    adamw: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 },
    clipNorm: 1,
    checkpointEvery: Math.min(p.checkpointEvery, steps),
    keepCheckpoints: 2,
    evalEvery: p.evalEvery,
    evalTokens: p.evalTokens,
  };
}

/** The model config of a pretraining config once the tokeniser (its vocabulary size) is known. */
export function lmModelConfig(cfg: LmPretrainConfig, vocabSize: number): LlmConfig {
  const c = llmConfig(cfg.size, vocabSize, cfg.model);
  if (cfg.seqLen > c.maxSeqLen) throw new Error(`seqLen ${cfg.seqLen} exceeds the model's maxSeqLen ${c.maxSeqLen}`);
  return c;
}

// ---- text and data ------------------------------------------------------------------------------

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface LmText {
  lines: string[];
  /** sha256 of the lines as used (joined by "\n", with a final "\n": the bytes of lm_text.txt). */
  sha256: string;
  /** Where the text came from. */
  source: string;
  /** Validation and test transcripts checked absent (whole-word containment). */
  heldOutChecked: number;
}

/**
 * Lines that contain a held-out transcript (as a whole-word substring): the leak check used on the
 * LM text (the corpus's LeakDetector). Empty means no leak.
 */
export function findLeaks(lines: readonly string[], heldOut: Iterable<string>): Array<{ line: number; transcript: string }> {
  const det = new LeakDetector(heldOut);
  const out: Array<{ line: number; transcript: string }> = [];
  lines.forEach((l, i) => {
    const h = det.find(l);
    if (h !== undefined) out.push({ line: i, transcript: h });
  });
  return out;
}

/** The LM text of a corpus preset (data/<corpus>/lm_text.txt), checked against its val/test transcripts. */
export async function readLmText(corpus: string, opts: { maxLines?: number; generateIfMissing?: boolean; dir?: string } = {}): Promise<LmText> {
  const ds = await openCorpus(corpus, { generateIfMissing: opts.generateIfMissing, dir: opts.dir });
  const all = ds.lmText();
  const lines = opts.maxLines ? all.slice(0, opts.maxLines) : all;
  const heldOut = [...ds.utterances("val"), ...ds.utterances("test")].map((u) => u.text);
  const leaks = findLeaks(lines, heldOut);
  if (leaks.length > 0) {
    throw new Error(`LM text of ${corpus} contains ${leaks.length} held-out transcripts, e.g. line ${leaks[0]!.line + 1}: ${JSON.stringify(leaks[0]!.transcript)}`);
  }
  return { lines, sha256: sha256(lines.join("\n") + "\n"), source: join(ds.dir, "lm_text.txt"), heldOutChecked: new Set(heldOut).size };
}

/** True when a line belongs to the validation slice (a property of the text alone). */
export function isValidationLine(line: string, valFraction: number): boolean {
  return hashSeed("lm-val", line) < valFraction * 4294967296;
}

export function splitLmLines(lines: readonly string[], valFraction: number): { train: string[]; val: string[] } {
  const train: string[] = [];
  const val: string[] = [];
  for (const l of lines) (isValidationLine(l, valFraction) ? val : train).push(l);
  return { train, val };
}

export function trainLmTokenizer(lines: readonly string[], cfg: LmTokenizerConfig): BpeTokenizer {
  return BpeTokenizer.train(lines, { vocabSize: cfg.vocabSize, minFrequency: cfg.minFrequency });
}

/** `<bos> tokens <eos>` of every line, concatenated. */
export function tokenStream(tokenizer: BpeTokenizer, lines: readonly string[]): Int32Array {
  const parts: number[] = [];
  for (const l of lines) {
    parts.push(BOS_ID);
    for (const id of tokenizer.encode(l)) parts.push(id);
    parts.push(EOS_ID);
  }
  return Int32Array.from(parts);
}

export interface LmData {
  tokenizer: BpeTokenizer;
  trainLines: number;
  valLines: number;
  train: Int32Array;
  val: Int32Array;
}

/** The training lines with the repeats of `LmRepeatConfig` inserted (the input order is kept). */
export function withRepeats(lines: readonly string[], cfg: LmRepeatConfig | undefined): string[] {
  if (!cfg || cfg.fraction <= 0) return [...lines];
  if (!(cfg.fraction <= 1) || !Number.isInteger(cfg.maxGap) || cfg.maxGap < 0) throw new Error(`repeat: fraction in (0, 1] and an integer maxGap >= 0, got ${JSON.stringify(cfg)}`);
  const out: string[] = [];
  // pending[k]: lines to emit again once k + 1 more original lines have gone by
  const pending: string[][] = [];
  for (const line of lines) {
    out.push(line);
    const due = pending.shift() ?? [];
    if (hashSeed("lm-repeat", line) < cfg.fraction * 4294967296) {
      const gap = hashSeed("lm-repeat-gap", line) % (cfg.maxGap + 1);
      if (gap === 0) due.push(line);
      else {
        while (pending.length < gap) pending.push([]);
        pending[gap - 1]!.push(line);
      }
    }
    out.push(...due);
  }
  for (const rest of pending) out.push(...rest);
  return out;
}

/** Splits the lines, trains the tokeniser on the training lines (unless given), and encodes both parts. */
export function prepareLmData(lines: readonly string[], cfg: Pick<LmPretrainConfig, "valFraction" | "tokenizer" | "repeat">, tokenizer?: BpeTokenizer): LmData {
  const { train, val } = splitLmLines(lines, cfg.valFraction);
  if (val.length === 0) throw new Error(`no validation lines (${lines.length} lines, valFraction ${cfg.valFraction})`);
  const tok = tokenizer ?? trainLmTokenizer(train, cfg.tokenizer);
  return { tokenizer: tok, trainLines: train.length, valLines: val.length, train: tokenStream(tok, withRepeats(train, cfg.repeat)), val: tokenStream(tok, val) };
}

/** Window starting at `offset`: inputs stream[o..o+T), targets stream[o+1..o+T] (<bos> targets ignored). */
function fillWindow(stream: Int32Array, offset: number, T: number, ids: Int32Array, targets: Int32Array, at: number): number {
  let counted = 0;
  for (let t = 0; t < T; t++) {
    ids[at + t] = stream[offset + t]!;
    const y = stream[offset + t + 1]!;
    targets[at + t] = y === BOS_ID ? IGNORE : y;
    if (y !== BOS_ID) counted++;
  }
  return counted;
}

/** A copy window (`CopyWindowConfig`) at `at`; returns the scored targets. */
function fillCopyWindow(cfg: CopyWindowConfig, vocabSize: number, T: number, ids: Int32Array, targets: Int32Array, at: number, rng: Rng): number {
  const n = rng.int(cfg.minLen, cfg.maxLen + 1);
  const x = Array.from({ length: n }, () => rng.int(FIRST_TEXT_ID, vocabSize));
  const unit = [BOS_ID, ...x, EOS_ID];
  let counted = 0;
  for (let t = 0; t < T; t++) {
    ids[at + t] = unit[t % unit.length]!;
    const next = t + 1;
    const y = unit[next % unit.length]!;
    // score the repeats only: positions whose target lies in a second or later copy, <bos> excluded
    const scored = next > unit.length && y !== BOS_ID;
    targets[at + t] = scored ? y : IGNORE;
    if (scored) counted++;
  }
  return counted;
}

/** First id of the ordinary (non-special) vocabulary. */
const FIRST_TEXT_ID = 8;

/**
 * A training batch: batchSize windows at offsets drawn from `rng`; with `copy`, each window is a copy
 * window with probability copy.fraction (drawn from the same `rng`, so a resumed run is exact).
 */
export function sampleBatch(stream: Int32Array, seqLen: number, batchSize: number, rng: Rng, copy?: { cfg: CopyWindowConfig; vocabSize: number }): { ids: Int32Array; targets: Int32Array; tokens: number } {
  if (stream.length < seqLen + 1) throw new Error(`token stream of ${stream.length} tokens is shorter than one window (${seqLen + 1})`);
  const ids = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  let tokens = 0;
  for (let b = 0; b < batchSize; b++) {
    if (copy && rng.next() < copy.cfg.fraction) tokens += fillCopyWindow(copy.cfg, copy.vocabSize, seqLen, ids, targets, b * seqLen, rng);
    else tokens += fillWindow(stream, rng.int(0, stream.length - seqLen), seqLen, ids, targets, b * seqLen);
  }
  return { ids, targets, tokens };
}

// ---- evaluation ---------------------------------------------------------------------------------

export interface LmEval {
  loss: number;
  perplexity: number;
  /** Tokens predicted (scored). */
  tokens: number;
  /** Words + line ends among them (when wordStarts was given). */
  words?: number;
  wordPerplexity?: number;
}

/** Which ids start a word ("▁...") or end a line (<eos>): the word count of word perplexity. */
export function wordStartIds(tokenizer: BpeTokenizer): Uint8Array {
  const out = new Uint8Array(tokenizer.size);
  for (let i = 0; i < tokenizer.size; i++) out[i] = i === EOS_ID || tokenizer.idToToken(i).startsWith(WORD_START) ? 1 : 0;
  return out;
}

/**
 * Mean next-token NLL over consecutive, non-overlapping windows of a token stream (at most maxTokens
 * predicted tokens when given), with perplexities.
 */
export function evaluateLm(llm: Llm, stream: Int32Array, opts: { seqLen: number; batchSize: number; maxTokens?: number; wordStarts?: Uint8Array }): LmEval {
  const T = opts.seqLen;
  const offsets: number[] = [];
  for (let o = 0; o + T + 1 <= stream.length; o += T) {
    if (opts.maxTokens !== undefined && offsets.length * T >= opts.maxTokens) break;
    offsets.push(o);
  }
  if (offsets.length === 0) throw new Error(`evaluation stream of ${stream.length} tokens is shorter than one window (${T + 1})`);
  let nll = 0;
  let tokens = 0;
  let words = 0;
  for (let i = 0; i < offsets.length; i += opts.batchSize) {
    const rows = offsets.slice(i, i + opts.batchSize);
    const ids = new Int32Array(rows.length * T);
    const targets = new Int32Array(rows.length * T);
    let count = 0;
    rows.forEach((o, b) => (count += fillWindow(stream, o, T, ids, targets, b * T)));
    if (opts.wordStarts) for (const y of targets) if (y !== IGNORE && opts.wordStarts[y]) words++;
    const mean = tf.tidy(() => {
      const out = llm.forward({ ids: tf.tensor2d(ids, [rows.length, T], "int32") }, { logits: "all" });
      return maskedCrossEntropy(out.logits!, targets);
    });
    nll += mean.dataSync()[0]! * count;
    mean.dispose();
    tokens += count;
  }
  const loss = nll / Math.max(1, tokens);
  const res: LmEval = { loss, perplexity: Math.exp(loss), tokens };
  if (opts.wordStarts) {
    res.words = words;
    res.wordPerplexity = Math.exp(nll / Math.max(1, words));
  }
  return res;
}

// ---- training -----------------------------------------------------------------------------------

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

export const LM_METRICS_COLUMNS = ["step", "lr", "loss", "grad_norm", "tokens", "tokens_per_s", "elapsed_s", "val_loss"] as const;

export interface LmMetrics {
  preset: string;
  size: LlmSize;
  seed: number;
  params: number;
  paramsNonEmbedding: number;
  vocabSize: number;
  steps: number;
  /** Tokens in the training windows (steps x batch x seqLen). */
  trainTokens: number;
  /** Of which scored (targets other than <bos>). */
  trainTokensScored: number;
  /** trainTokens / training stream length. */
  epochs: number;
  trainStreamTokens: number;
  trainLines: number;
  valLines: number;
  /** Training wall time in seconds, summed over resumed sessions (evaluation excluded). */
  wallTimeS: number;
  tokensPerS: number;
  finalTrainLoss: number;
  /** Full validation slice, after training. */
  val: LmEval;
  /** Validation loss of the untrained model on the first evalTokens tokens. */
  valInitial: LmEval;
  /** Periodic validation loss on the first evalTokens tokens. */
  valCurve: Array<{ step: number; loss: number }>;
  evalTimeS: number;
  backend: string;
  /**
   * In-context copying (eval/copy-probe.ts) on the first COPY_PROBE_LINES validation lines, as they are
   * and word-shuffled: NLL of the first and of the second copy. Absent in checkpoints made before it.
   */
  copyProbe?: { natural: CopyProbeResult; shuffled: CopyProbeResult };
}

/** Validation lines the copy probe scores. */
export const COPY_PROBE_LINES = 200;

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

// ---- shipped checkpoints ------------------------------------------------------------------------

export interface LmProvenance {
  command: string;
  gitCommit: string;
  /** Tracked files modified when the run started. */
  gitDirty: boolean;
  seed: number;
  lmTextSha256: string;
  lmTextSource: string;
  lmTextLines: number;
  heldOutTranscriptsChecked: number;
  date: string;
  backend: string;
  node: string;
}

/** checkpoints/lm under the repository root (or `root`). */
export function lmCheckpointRoot(root?: string): string {
  return root ?? join(repoRoot(), "checkpoints", "lm");
}

export function lmCheckpointDir(preset: string, size: LlmSize, root?: string): string {
  return join(lmCheckpointRoot(root), preset, size);
}

/** Default parent of a size's resumable runs, one sub-folder per config hash (git-ignored: matches `results/**\/tmp/`). */
export function lmWorkDir(preset: string, size: LlmSize): string {
  return resultsDir("pretrain", "lm", "tmp", preset, size);
}

export function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const cwd = repoRoot();
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

/** Writes the shipped files of one LM into `dir` (see the header). */
export function exportPretrainedLm(dir: string, llm: Llm, tokenizer: BpeTokenizer, cfg: LmPretrainConfig, metrics: LmMetrics, provenance: LmProvenance, metricsCsv?: string): void {
  mkdirSync(dir, { recursive: true });
  saveSafetensorsFile(join(dir, "model.safetensors"), llm.namedParameters(), { format: "omni-avsr-lab", kind: "llm", preset: cfg.preset, size: cfg.size });
  writeFileAtomicSync(join(dir, "config.json"), JSON.stringify({ pretrain: cfg, model: llm.config }, null, 1) + "\n");
  writeFileAtomicSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer.toJSON()) + "\n");
  writeFileAtomicSync(join(dir, "metrics.json"), JSON.stringify(metrics, null, 1) + "\n");
  writeFileAtomicSync(join(dir, "provenance.json"), JSON.stringify(provenance, null, 1) + "\n");
  if (metricsCsv && existsSync(metricsCsv)) copyFileSync(metricsCsv, join(dir, "metrics.csv"));
}

export interface PretrainedLm {
  llm: Llm;
  tokenizer: BpeTokenizer;
  config: { pretrain: LmPretrainConfig; model: LlmConfig };
  metrics: LmMetrics;
  provenance?: LmProvenance;
  dir: string;
}

/**
 * The shipped LM of checkpoints/lm/<preset>/<size>/ (or `root`/<preset>/<size>/), frozen
 * (every parameter trainable = false), with its tokeniser, config and metrics. Weights are float32.
 */
export function loadPretrainedLm(preset: string, size: LlmSize, opts: { root?: string } = {}): PretrainedLm {
  const dir = lmCheckpointDir(preset, size, opts.root);
  for (const f of ["model.safetensors", "config.json", "tokenizer.json", "metrics.json"]) {
    if (!existsSync(join(dir, f))) {
      throw new Error(`no pretrained LM at ${dir} (${f} missing): run \`npm run pretrain:lm -- --preset ${preset} --size ${size}\``);
    }
  }
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as PretrainedLm["config"];
  const tokenizer = BpeTokenizer.fromJSON(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as BpeTokenizerJSON);
  if (tokenizer.size !== config.model.vocabSize) throw new Error(`${dir}: tokenizer has ${tokenizer.size} tokens, model ${config.model.vocabSize}`);
  const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as LmMetrics;
  const provPath = join(dir, "provenance.json");
  const provenance = existsSync(provPath) ? (JSON.parse(readFileSync(provPath, "utf8")) as LmProvenance) : undefined;
  const llm = new Llm(config.model);
  const { tensors } = loadSafetensorsFile(join(dir, "model.safetensors"));
  assignParams(llm, tensors, join(dir, "model.safetensors"), { complete: true });
  llm.freeze();
  return { llm, tokenizer, config, metrics, provenance, dir };
}

// ---- one size, end to end (the CLI) -------------------------------------------------------------

export interface RunLmOptions {
  seed?: number;
  steps?: number;
  /** checkpoints/lm (default) or another root. */
  root?: string;
  workDir?: string;
  fresh?: boolean;
  /** Retrain even when a finished checkpoint with the same config exists. */
  force?: boolean;
  /** Text and tokeniser already prepared (the CLI shares them across sizes). */
  text?: LmText;
  data?: LmData;
  command?: string;
  log?: (line: string) => void;
}

/** Reads the text, prepares data (one tokeniser per preset), trains, evaluates and exports one size. */
export async function runLmPretraining(preset: string, size: LlmSize, opts: RunLmOptions = {}): Promise<{ dir: string; metrics: LmMetrics; skipped: boolean }> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const cfg = lmPretrainConfig(preset, size, { seed: opts.seed, steps: opts.steps });
  const dir = lmCheckpointDir(preset, size, opts.root);
  const text = opts.text ?? (await readLmText(cfg.corpus, { maxLines: cfg.maxLines, generateIfMissing: cfg.corpus === "smoke" }));
  const data = opts.data ?? prepareLmData(text.lines, cfg);
  const presetDir = join(lmCheckpointRoot(opts.root), preset);
  writeFileAtomicSync(join(presetDir, "tokenizer.json"), JSON.stringify(data.tokenizer.toJSON()) + "\n");
  const modelCfg = lmModelConfig(cfg, data.tokenizer.size);
  if (!opts.force && existsSync(join(dir, "metrics.json")) && existsSync(join(dir, "config.json"))) {
    const old = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as unknown;
    const prov = existsSync(join(dir, "provenance.json")) ? (JSON.parse(readFileSync(join(dir, "provenance.json"), "utf8")) as LmProvenance) : undefined;
    if (JSON.stringify(old) === JSON.stringify({ pretrain: cfg, model: modelCfg }) && prov?.lmTextSha256 === text.sha256) {
      log(`[lm ${preset}/${size}] ${dir} is up to date (same config and text); --force retrains`);
      return { dir, metrics: JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as LmMetrics, skipped: true };
    }
  }
  const git = gitInfo();
  const started = new Date().toISOString();
  // one work folder per config, so a changed config (e.g. --steps) starts afresh and the old run stays resumable
  const workDir = opts.workDir ?? join(lmWorkDir(preset, size), sha256(JSON.stringify(cfg)).slice(0, 12));
  const res = pretrainLm(cfg, data, { workDir, fresh: opts.fresh, log });
  const metrics = res.metrics!;
  const probeLines = splitLmLines(text.lines, cfg.valFraction).val.slice(0, COPY_PROBE_LINES);
  metrics.copyProbe = {
    natural: copyProbe(res.llm, data.tokenizer, probeLines),
    shuffled: copyProbe(res.llm, data.tokenizer, probeLines, { shuffle: true, seed: cfg.seed }),
  };
  log(
    `[lm ${preset}/${size}] copy probe (${probeLines.length} val lines): second/first copy NLL ` +
      `${metrics.copyProbe.natural.secondNll.toFixed(3)}/${metrics.copyProbe.natural.firstNll.toFixed(3)} as written, ` +
      `${metrics.copyProbe.shuffled.secondNll.toFixed(3)}/${metrics.copyProbe.shuffled.firstNll.toFixed(3)} word-shuffled`,
  );
  const provenance: LmProvenance = {
    command: opts.command ?? process.argv.slice(1).join(" "),
    gitCommit: git.commit,
    gitDirty: git.dirty,
    seed: cfg.seed,
    lmTextSha256: text.sha256,
    lmTextSource: text.source.startsWith(repoRoot()) ? text.source.slice(repoRoot().length + 1) : text.source,
    lmTextLines: text.lines.length,
    heldOutTranscriptsChecked: text.heldOutChecked,
    date: started,
    backend: backendChoice()?.name ?? "unknown",
    node: process.version,
  };
  exportPretrainedLm(dir, res.llm, data.tokenizer, cfg, metrics, provenance, join(workDir, "metrics.csv"));
  writeFileAtomicSync(
    join(presetDir, "data.json"),
    JSON.stringify(
      {
        corpus: cfg.corpus,
        lmTextSha256: text.sha256,
        lmTextLines: text.lines.length,
        maxLines: cfg.maxLines,
        valFraction: cfg.valFraction,
        trainLines: data.trainLines,
        valLines: data.valLines,
        trainTokens: data.train.length,
        valTokens: data.val.length,
        tokenizer: { ...cfg.tokenizer, size: data.tokenizer.size, sha256: sha256(JSON.stringify(data.tokenizer.toJSON()) + "\n") },
      },
      null,
      1,
    ) + "\n",
  );
  res.llm.dispose();
  return { dir, metrics, skipped: false };
}

/**
 * checkpoints/lm/<preset>/summary.csv: one row per shipped size (from each metrics.json): parameters,
 * train tokens, steps, wall time, tokens/s, validation loss and perplexities. Returns the rows.
 */
export function writeLmSummary(preset: string, root?: string): Row[] {
  const rows: Row[] = [];
  for (const size of LM_SIZE_NAMES) {
    const p = join(lmCheckpointDir(preset, size, root), "metrics.json");
    if (!existsSync(p)) continue;
    const m = JSON.parse(readFileSync(p, "utf8")) as LmMetrics;
    rows.push({
      size,
      params: m.params,
      params_non_embedding: m.paramsNonEmbedding,
      vocab: m.vocabSize,
      steps: m.steps,
      train_tokens: m.trainTokens,
      epochs: m.epochs,
      wall_time_s: m.wallTimeS,
      tokens_per_s: m.tokensPerS,
      val_tokens: m.val.tokens,
      val_loss: Number(m.val.loss.toFixed(4)),
      val_ppl_token: Number(m.val.perplexity.toFixed(3)),
      val_ppl_word: m.val.wordPerplexity !== undefined ? Number(m.val.wordPerplexity.toFixed(3)) : null,
      initial_val_loss: Number(m.valInitial.loss.toFixed(4)),
      final_train_loss: Number(m.finalTrainLoss.toFixed(4)),
    });
  }
  if (rows.length > 0) writeCsvSync(join(lmCheckpointRoot(root), preset, "summary.csv"), rows);
  return rows;
}
