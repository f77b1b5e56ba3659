/**
 * Encoder pretraining: the project's stand-ins for Whisper (audio) and AV-HuBERT (video) are trained
 * from scratch with a CTC head on the corpus's train split, then frozen, shipped under
 * `checkpoints/encoders/<preset>/<modality>/` and used only through the feature cache (src/features).
 *
 *   pretrainEncoder({ preset, modality, ... }) -> EncoderPretrainResult   (resumable; progress lines)
 *   loadEncoder(preset, modality)             -> LoadedEncoder           ({ encoder, config, hash })
 *   encodeInputs(loaded, inputs)              -> Float32Array[] features, [T', dim] row-major each
 *   evaluateCtc(...)                          -> greedy CTC error rate (PER / viseme error rate)
 *
 * Design choices (reported with the checkpoints' metrics.json):
 * - Targets: phonemes for audio, visemes for video (see encoder-data.ts for why), plus, in the default
 *   preset, the LM tokeniser's sub-words (`EncoderTrainConfig.subword`). Metrics: greedy CTC phoneme
 *   error rate (audio, clean val and val with babble at 0 dB), viseme error rate (video), and the
 *   sub-word head's greedy-CTC WER (the encoder alone as a recogniser).
 *
 * The other design choices are documented with their code: sizes in config.ts; noise, optimiser and
 * resume in train.ts.
 *
 * Files
 *   config.ts    the presets (ENCODER_PRESETS) and EncoderSpec / EncoderTrainConfig
 *   model.ts     the encoder with its CTC heads (CtcEncoder), forward pass and features
 *   data.ts      the pretraining data (corpus, unit inventory, noise, tokeniser); inputs and batches
 *   evaluate.ts  greedy-CTC error rates (unit error rate, sub-word WER)
 *   train.ts     the resumable pretraining run (pretrainEncoder)
 *   shipped.ts   the shipped encoder: export, provenance helpers, loading
 *   ../encoder-data.ts     targets, inputs and padding (re-exported here)
 *   ../encoder-kernels.ts  a faster max-pool gradient for the video front-end
 */
export * from "../encoder-data.js";
export { ctcLossFast } from "../../models/ctc-fast.js";
export { ENCODER_PRESETS, encoderSpec } from "./config.js";
export type { EncoderTrainConfig, EncoderSpec } from "./config.js";
export { CtcEncoder, ENCODER_FPS, inputWidth, encoderForward, outputFrames, encodeInputs } from "./model.js";
export type { AnyEncoder } from "./model.js";
export { encoderOutputFrames, openPretrainData } from "./data.js";
export type { PretrainData } from "./data.js";
export { evaluateCtc, evaluateSubwordCtc, greedyCtcLabels } from "./evaluate.js";
export type { CtcScore } from "./evaluate.js";
export { pretrainEncoder } from "./train.js";
export type { PretrainOptions, EncoderMetrics, EncoderPretrainResult } from "./train.js";
export { encoderOutDir, corpusHash, exportEncoder, loadEncoder } from "./shipped.js";
export type { EncoderFileConfig, LoadedEncoder } from "./shipped.js";
