/**
 * Training-time speaker augmentation of log-mel features: VTLP (a random vocal-tract-length warp of the
 * filterbank per utterance, audio/features.ts `vtlpWarp`) and SpecAugment's frequency and time masks
 * (Park et al. 2019; no time warping). Neither changes the number of frames, so frame-level targets
 * from the corpus timings stay aligned.
 *
 * Why: the synthetic test speakers are new (voice, variant) pairs. The shipped audio encoder's phoneme
 * error is 5.8 % on val (seen speakers) and 14.7 % on test, 2.6 % to 31.6 % per test speaker: it has
 * learnt the 60 training timbres rather than speech. Both augmentations are the standard remedy.
 */
import type { Rng } from "../util/rng.js";
import { logMel, WHISPER_MEL, type Features, type MelConfig } from "./features.js";

export interface AudioAugmentConfig {
  /** VTLP factor range [lo, hi], drawn uniformly per utterance and rounded to 0.01; [1, 1] = off. */
  vtlp: [number, number];
  /** Frequency masks per utterance and their largest width in mel bins (width drawn from [0, F]). */
  freqMasks: number;
  freqMaskWidth: number;
  /** Time masks per utterance and their largest width in frames, at most `timeMaskFraction` of the utterance each. */
  timeMasks: number;
  timeMaskWidth: number;
  timeMaskFraction: number;
}

/** A mild setting for 80-bin, 100 fps features of short utterances (LibriSpeech's "LD" policy, halved). */
export const DEFAULT_AUDIO_AUGMENT: AudioAugmentConfig = { vtlp: [0.88, 1.12], freqMasks: 2, freqMaskWidth: 13, timeMasks: 2, timeMaskWidth: 40, timeMaskFraction: 0.1 };

export function validateAugment(a: AudioAugmentConfig): void {
  const [lo, hi] = a.vtlp;
  if (!(lo > 0.5 && hi < 1.5 && lo <= hi)) throw new RangeError(`augment.vtlp must be a range inside (0.5, 1.5), got [${lo}, ${hi}]`);
  for (const k of ["freqMasks", "freqMaskWidth", "timeMasks", "timeMaskWidth"] as const) {
    if (!(Number.isInteger(a[k]) && a[k] >= 0)) throw new RangeError(`augment.${k} must be a non-negative integer, got ${a[k]}`);
  }
  if (!(a.timeMaskFraction >= 0 && a.timeMaskFraction <= 1)) throw new RangeError(`augment.timeMaskFraction must be in [0, 1], got ${a.timeMaskFraction}`);
}

/** The VTLP factor of one utterance (rounded to 0.01 so the filterbanks are cached). */
export function drawWarp(a: AudioAugmentConfig, rng: Rng): number {
  const [lo, hi] = a.vtlp;
  return lo === hi ? lo : Math.round(100 * rng.uniform(lo, hi)) / 100;
}

/**
 * SpecAugment masks, in place, on [frames, bins] features: masked cells take the utterance mean.
 * Returns the masks applied (for tests and logs).
 */
export function specAugment(x: Features, a: AudioAugmentConfig, rng: Rng): { freq: Array<[number, number]>; time: Array<[number, number]> } {
  const { data, frames, bins } = x;
  let mean = 0;
  for (let i = 0; i < frames * bins; i++) mean += data[i]!;
  mean /= Math.max(1, frames * bins);
  const freq: Array<[number, number]> = [];
  const time: Array<[number, number]> = [];
  for (let m = 0; m < a.freqMasks; m++) {
    const w = rng.int(0, Math.min(a.freqMaskWidth, bins) + 1);
    const f0 = rng.int(0, bins - w + 1);
    freq.push([f0, w]);
    for (let t = 0; t < frames; t++) data.fill(mean, t * bins + f0, t * bins + f0 + w);
  }
  const maxW = Math.min(a.timeMaskWidth, Math.floor(a.timeMaskFraction * frames));
  for (let m = 0; m < a.timeMasks; m++) {
    const w = rng.int(0, maxW + 1);
    const t0 = rng.int(0, frames - w + 1);
    time.push([t0, w]);
    data.fill(mean, t0 * bins, (t0 + w) * bins);
  }
  return { freq, time };
}

/** Augmented Whisper-like log-mel features of one training utterance: a VTLP warp, then the masks. */
export function augmentedLogMel(audio: Float32Array, a: AudioAugmentConfig, rng: Rng, cfg: MelConfig = WHISPER_MEL): Features {
  const warp = drawWarp(a, rng);
  const mel = logMel(audio, warp === 1 ? cfg : { ...cfg, warp });
  specAugment(mel, a, rng);
  return mel;
}
