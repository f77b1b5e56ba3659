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
 * Files
 *   config.ts    the presets (LM_PRESETS) and LmPretrainConfig
 *   text.ts      the LM text of a corpus and its leak check
 *   data.ts      train/val split, tokeniser, token streams, repeats, training windows and batches ("Data")
 *   evaluate.ts  validation loss and perplexities ("Perplexity")
 *   metrics.ts   what a finished run records (metrics.json, metrics.csv columns)
 *   train.ts     the training step and the resumable training loop (intermediate checkpoints)
 *   paths.ts     where shipped checkpoints and work folders live
 *   shipped.ts   the shipped checkpoint of one LM: export, load, provenance, summary.csv
 *   run.ts       one size, end to end (what the CLI runs)
 */
export { LM_PRESET_NAMES, LM_SIZE_NAMES, LM_PRESETS, lmPretrainConfig, lmModelConfig } from "./config.js";
export type { LmPreset, LmTokenizerConfig, LmPretrainConfig, LmRepeatConfig, CopyWindowConfig } from "./config.js";
export { sha256, findLeaks, readLmText } from "./text.js";
export type { LmText } from "./text.js";
export { isValidationLine, splitLmLines, trainLmTokenizer, tokenStream, withRepeats, prepareLmData, sampleBatch } from "./data.js";
export type { LmData } from "./data.js";
export { wordStartIds, evaluateLm } from "./evaluate.js";
export type { LmEval } from "./evaluate.js";
export { LM_METRICS_COLUMNS, COPY_PROBE_LINES } from "./metrics.js";
export type { LmMetrics } from "./metrics.js";
export { lmTrainStep, pretrainLm } from "./train.js";
export type { LmStepResult, LmPretrainOptions, LmPretrainResult } from "./train.js";
export { lmCheckpointRoot, lmCheckpointDir, lmWorkDir } from "./paths.js";
export { gitInfo, exportPretrainedLm, loadPretrainedLm, writeLmSummary } from "./shipped.js";
export type { LmProvenance, PretrainedLm } from "./shipped.js";
export { runLmPretraining } from "./run.js";
export type { RunLmOptions } from "./run.js";
