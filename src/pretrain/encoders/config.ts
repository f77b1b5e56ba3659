/**
 * Encoder pretraining configs: the presets (ENCODER_PRESETS) and the EncoderSpec of a preset and modality.
 *
 * Design choices:
 * - Size: audio = conv stem (stride 2, 50 frames/s) + 4 transformer blocks of width 128; video =
 *   3D-conv front-end (5 frames) + a 3-stage 2D residual trunk (16/32/64 channels) + 4 transformer blocks
 *   of width 128, on 32×32 mouth renders. Why 32×32 rather than the paper's 88×88: a training step of the
 *   video encoder at 44×44 cost 1.6× that at 32×32 and 88×88 would cost ~7× (the front-end and trunk
 *   scale with pixels), and rendering an utterance at 88×88 takes ~45 ms against ~6 ms at 32×32; the
 *   synthetic mouth's articulatory cues (opening, width, rounding, teeth, tongue, lip tuck) are shapes
 *   of several pixels at 32×32, so the lips stay readable. The corpus renders any size, so this is one
 *   config field (`videoSize`).
 * - Four transformer blocks (two before the sub-word objective): with two, the sub-word head was at 80 %
 *   greedy-CTC WER on val after 900 steps (still falling slowly); two more blocks and 1,500 more steps
 *   brought it to 57 %, and 2,000 more to 41.6 % (provenance.json of the shipped encoders, trained in
 *   warm-started stages: 7,400 audio and 3,700 video steps in all, the presets' step counts).
 */
import type { AudioEncoderConfig, VideoEncoderConfig } from "../../models/encoders.js";
import type { EncoderModality } from "../encoder-data.js";
import type { AudioAugmentConfig } from "../../audio/augment.js";
import type { VideoAugmentConfig } from "../../video/augment.js";

export interface EncoderTrainConfig {
  steps: number;
  /** Input frames per batch (mel frames for audio, video frames for video), padded size. */
  frameBudget: number;
  maxBatch: number;
  lr: number;
  warmup: number;
  weightDecay: number;
  clip: number;
  checkpointEvery: number;
  /** Train utterances used (0 = all). */
  trainLimit: number;
  /** Val utterances scored at the end (0 = all). */
  valLimit: number;
  /** Babble augmentation of the audio input during pretraining. */
  noiseAug: boolean;
  /**
   * Weight of an auxiliary frame-level cross-entropy on the alignment's unit labels (a second linear
   * head, `frame_head`); 0 = CTC only. Why: CTC alone sat on its "blanks + unigram" plateau for ~350 of
   * 700 steps on the default corpus (loss 3.8 -> 2.8 at the end); framewise targets from the known
   * timings give the encoder a dense signal from the first step, and the CTC head then aligns at once.
   */
  frameCeWeight?: number;
  /**
   * A second objective over the LM tokeniser's sub-words (`checkpoints/lm/<preset>/tokenizer.json`):
   * CTC on a `subword_head` with weight `ctcWeight`, plus a frame-level cross-entropy on a
   * `subword_frame_head` (word timings shared among pieces by letters) with weight `frameCeWeight`.
   * Absent = the unit objective only. See encoder-data.ts `subwordTargetsOf` for why.
   */
  subword?: { ctcWeight: number; frameCeWeight: number };
  /**
   * Warm start: an exported encoder folder (relative to the repository) whose matching parameters
   * initialise a fresh run (heads it lacks keep their random init). Used to add the sub-word objective
   * to a trained phoneme / viseme encoder without training it again from scratch.
   */
  initFrom?: string;
  /**
   * Audio only: speaker augmentation of the features (VTLP + SpecAugment masks, audio/augment.ts),
   * drawn per sample from the same (seed, step) stream as the babble. Absent = none.
   */
  augment?: AudioAugmentConfig;
  /**
   * Video only: each training clip rendered, with probability `rerender`, as a new virtual speaker
   * (fresh appearance, head motion and lighting; the timeline kept), drawn per sample from the
   * (seed, step) stream (video/augment.ts). Absent = every clip as the corpus renders it.
   */
  videoAugment?: VideoAugmentConfig;
  /**
   * Audio only: a voice bank (a corpus preset with CorpusConfig.voiceBank, e.g. `default-voicebank`)
   * whose training utterances join the train split: more voices for the encoder. The unit inventory
   * stays the base corpus's (bank phones outside it are dropped from the targets and counted in the
   * log). Absent = the corpus's own train split only.
   */
  extraTrain?: string;
}

export interface EncoderSpec {
  modality: EncoderModality;
  audio?: AudioEncoderConfig;
  video?: VideoEncoderConfig;
  /** Render size of the mouth clips (video only). */
  videoSize: number;
  train: EncoderTrainConfig;
}

const AUDIO_DEFAULT: AudioEncoderConfig = { nMels: 80, dim: 128, nLayers: 4, nHeads: 4, ffnDim: 512 };
const VIDEO_DEFAULT: VideoEncoderConfig = { temporalKernel: 5, channels: [16, 32, 64], blocksPerStage: 1, dim: 128, nLayers: 4, nHeads: 4, ffnDim: 512 };

export const ENCODER_PRESETS: Record<string, Record<EncoderModality, EncoderSpec>> = {
  smoke: {
    audio: {
      modality: "audio",
      audio: { nMels: 80, dim: 32, nLayers: 1, nHeads: 2, ffnDim: 64 },
      videoSize: 24,
      train: { steps: 24, frameBudget: 2400, maxBatch: 8, lr: 3e-3, warmup: 4, weightDecay: 0.01, clip: 5, checkpointEvery: 8, trainLimit: 0, valLimit: 0, noiseAug: true, frameCeWeight: 1, subword: { ctcWeight: 1, frameCeWeight: 1 } },
    },
    video: {
      modality: "video",
      video: { temporalKernel: 3, channels: [4, 8, 8], blocksPerStage: 1, dim: 32, nLayers: 1, nHeads: 2, ffnDim: 64 },
      videoSize: 24,
      // with the sub-word heads, as the default preset's video encoder (video ctc-embed reads them)
      train: { steps: 16, frameBudget: 400, maxBatch: 8, lr: 3e-3, warmup: 4, weightDecay: 0.01, clip: 5, checkpointEvery: 8, trainLimit: 0, valLimit: 0, noiseAug: false, frameCeWeight: 1, subword: { ctcWeight: 1, frameCeWeight: 1 } },
    },
  },
  default: {
    audio: {
      modality: "audio",
      audio: AUDIO_DEFAULT,
      videoSize: 32,
      train: { steps: 7400, frameBudget: 5000, maxBatch: 32, lr: 2e-3, warmup: 40, weightDecay: 0.01, clip: 5, checkpointEvery: 50, trainLimit: 0, valLimit: 300, noiseAug: true, frameCeWeight: 1, subword: { ctcWeight: 1, frameCeWeight: 1 } },
    },
    video: {
      modality: "video",
      video: VIDEO_DEFAULT,
      videoSize: 32,
      train: { steps: 3700, frameBudget: 900, maxBatch: 24, lr: 2e-3, warmup: 30, weightDecay: 0.01, clip: 5, checkpointEvery: 25, trainLimit: 0, valLimit: 300, noiseAug: false, frameCeWeight: 1, subword: { ctcWeight: 1, frameCeWeight: 1 } },
    },
  },
};

/**
 * The spec of a preset and modality, with `overrides` of its training config and, if `layers` is
 * given, that many transformer blocks instead of the preset's (a deeper encoder warm-started with
 * `initFrom` keeps the blocks it shares with the source and starts the rest at random).
 */
export function encoderSpec(preset: string, modality: EncoderModality, overrides: Partial<EncoderTrainConfig> = {}, layers?: number): EncoderSpec {
  const p = ENCODER_PRESETS[preset];
  if (!p) throw new Error(`unknown encoder preset ${preset} (known: ${Object.keys(ENCODER_PRESETS).join(", ")})`);
  const s = p[modality];
  if (layers !== undefined && !(Number.isInteger(layers) && layers >= 1)) throw new Error(`encoder layers must be a positive integer, got ${layers}`);
  const deeper = <C extends { nLayers: number }>(c: C | undefined): C | undefined => (c && layers !== undefined ? { ...c, nLayers: layers } : c);
  return { ...s, ...(s.audio ? { audio: deeper(s.audio) } : {}), ...(s.video ? { video: deeper(s.video) } : {}), train: { ...s.train, ...overrides } };
}
