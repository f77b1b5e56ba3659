/**
 * LM pretraining config: the presets (LM_PRESETS) and the LmPretrainConfig of one preset and size.
 */
import { LLM_SIZES, llmConfig, type LlmConfig, type LlmSize } from "../../models/llm.js";
import type { AdamWConfig, ScheduleConfig } from "../../train/optim.js";
import { InputError } from "../../util/errors.js";

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
  if (!p) throw new InputError(`unknown LM preset ${JSON.stringify(preset)} (known: ${LM_PRESET_NAMES.join(", ")})`);
  if (!LM_SIZE_NAMES.includes(size)) throw new InputError(`unknown LM size ${JSON.stringify(size)} (known: ${LM_SIZE_NAMES.join(", ")})`);
  const steps = overrides.steps ?? p.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new InputError(`steps must be a positive integer, got ${steps}`);
  const seed = overrides.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InputError(`seed must be an integer, got ${seed}`);
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
