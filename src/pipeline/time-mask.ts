/**
 * Time masking of the LLM's input frames while training (`timeMask`, `npm run train -- ... --time-mask
 * video|audio|both`; off in the presets): a regulariser against a small model learning its training
 * speakers' faces and voices by heart.
 *
 * The reference masks the raw clips before its frozen encoders, video and audio alike, with an adaptive
 * time mask: for an input of T frames, ⌊(T + stride − 0.1) / stride⌋ spans, each of a width drawn
 * uniformly from [0, window) frames and a start drawn uniformly from [0, T − width), are zeroed (the
 * reference draws the width and the range of the start separately; one draw here); window 0.4 s and
 * stride 1 s (10 / 25 frames of 25 frames/s video, 6,400 / 16,000 samples of 16 kHz audio). Our
 * encoders' outputs are cached, so the same spans (in seconds) are zeroed in the cached frames the
 * projector reads, after the run's input transform (pipeline/ctc-embed.ts): a masked frame carries
 * nothing, neither the encoder's features nor its CTC embedding. Validation and evaluation are never masked.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../util/rng.js";

/** Which modalities' frames are masked. */
export type TimeMaskTarget = "audio" | "video" | "both";
export const TIME_MASK_TARGETS: readonly TimeMaskTarget[] = ["audio", "video", "both"];

export interface TimeMaskConfig {
  /** Spans are narrower than this (seconds). */
  windowSeconds: number;
  /** One span per this many seconds of input (rounded as the reference does). */
  strideSeconds: number;
}

/** The reference's adaptive time mask: up to 0.4 s zeroed per second. */
export const REFERENCE_TIME_MASK: TimeMaskConfig = { windowSeconds: 0.4, strideSeconds: 1 };

/** Whether `target` masks `modality`. */
export function masks(target: TimeMaskTarget | undefined, modality: "audio" | "video"): boolean {
  return target === "both" || target === modality;
}

/**
 * The spans [start, end) zeroed in an input of `frames` frames at `fps` frames/s. Draws from `rng` only
 * (per span the width, then the start), so a run's masks are a function of its seed and step.
 */
export function timeMaskSpans(frames: number, fps: number, rng: Rng, cfg: TimeMaskConfig = REFERENCE_TIME_MASK): Array<[number, number]> {
  if (!(Number.isInteger(frames) && frames >= 0)) throw new RangeError(`time mask: frames must be a whole number >= 0, got ${frames}`);
  if (!(fps > 0 && cfg.windowSeconds >= 0 && cfg.strideSeconds > 0)) throw new RangeError(`time mask: needs fps > 0, window >= 0 and stride > 0 (got ${fps}, ${cfg.windowSeconds}, ${cfg.strideSeconds})`);
  const window = Math.round(cfg.windowSeconds * fps);
  const stride = Math.max(1, Math.round(cfg.strideSeconds * fps));
  const n = Math.floor((frames + stride - 0.1) / stride);
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    const width = window > 0 ? rng.int(0, window) : 0;
    if (frames - width <= 0) continue;
    const start = rng.int(0, frames - width);
    if (width > 0) spans.push([start, start + width]);
  }
  return spans;
}

/** `x` [T, D] with the rows of `spans` zeroed (a new tensor; `x` is left alone). */
export function maskFrames(x: tf.Tensor2D, spans: ReadonlyArray<readonly [number, number]>): tf.Tensor2D {
  const [T] = x.shape;
  const keep = new Float32Array(T).fill(1);
  for (const [s, e] of spans) {
    if (!(0 <= s && s <= e && e <= T)) throw new RangeError(`time mask: span [${s}, ${e}) outside ${T} frames`);
    keep.fill(0, s, e);
  }
  return tf.tidy(() => tf.mul(x, tf.tensor2d(keep, [T, 1])) as tf.Tensor2D);
}
