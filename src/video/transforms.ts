/**
 * Video transforms on clips laid out [T, H, W] (Float32Array, row-major), as the paper's pipeline:
 * normalise with mean 0.421 and std 0.165, random crop for training and centre crop for evaluation
 * (the paper renders 96 and crops 88), and time masking (spans of frames replaced by the clip mean).
 */
import type { Rng } from "../util/rng.js";

export const VIDEO_MEAN = 0.421;
export const VIDEO_STD = 0.165;

export interface Clip {
  data: Float32Array;
  frames: number;
  height: number;
  width: number;
}

export function clip(data: Float32Array, frames: number, height: number, width = height): Clip {
  if (data.length !== frames * height * width) {
    throw new RangeError(`clip: ${data.length} values is not ${frames}x${height}x${width}`);
  }
  return { data, frames, height, width };
}

/** (x - mean) / std, new array. */
export function normalizeVideo(c: Clip, mean = VIDEO_MEAN, std = VIDEO_STD): Clip {
  const out = new Float32Array(c.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (c.data[i]! - mean) / std;
  return { ...c, data: out };
}

/** Crop a `size` x `size` window at (top, left), same window for every frame. */
export function cropVideo(c: Clip, size: number, top: number, left: number): Clip {
  if (size > c.height || size > c.width) throw new RangeError(`crop ${size} larger than ${c.height}x${c.width}`);
  const out = new Float32Array(c.frames * size * size);
  for (let t = 0; t < c.frames; t++) {
    for (let i = 0; i < size; i++) {
      const src = t * c.height * c.width + (top + i) * c.width + left;
      out.set(c.data.subarray(src, src + size), t * size * size + i * size);
    }
  }
  return { data: out, frames: c.frames, height: size, width: size };
}

export function centerCrop(c: Clip, size: number): Clip {
  return cropVideo(c, size, Math.floor((c.height - size) / 2), Math.floor((c.width - size) / 2));
}

export function randomCrop(c: Clip, size: number, rng: Rng): Clip {
  return cropVideo(c, size, rng.int(0, c.height - size + 1), rng.int(0, c.width - size + 1));
}

/** Horizontal flip (mouths are nearly symmetric; optional training augmentation). */
export function flipVideo(c: Clip): Clip {
  const out = new Float32Array(c.data.length);
  for (let t = 0; t < c.frames; t++)
    for (let i = 0; i < c.height; i++)
      for (let j = 0; j < c.width; j++) {
        const row = (t * c.height + i) * c.width;
        out[row + j] = c.data[row + c.width - 1 - j]!;
      }
  return { ...c, data: out };
}

/**
 * Time masking: `count` spans, each of up to `maxFrames` frames (at most `maxFraction` of the clip),
 * replaced by the clip mean (auto_avsr style). Returns a new clip and the masked [start, end) spans.
 */
export function timeMask(c: Clip, rng: Rng, opts: { count?: number; maxFrames?: number; maxFraction?: number } = {}): {
  clip: Clip;
  spans: Array<[number, number]>;
} {
  const count = opts.count ?? 2;
  const maxLen = Math.min(opts.maxFrames ?? 10, Math.floor(c.frames * (opts.maxFraction ?? 0.2)));
  const out = c.data.slice();
  let mean = 0;
  for (let i = 0; i < out.length; i++) mean += out[i]!;
  mean /= Math.max(1, out.length);
  const spans: Array<[number, number]> = [];
  const fs = c.height * c.width;
  for (let k = 0; k < count && maxLen > 0; k++) {
    const len = rng.int(0, maxLen + 1);
    if (len === 0) continue;
    const start = rng.int(0, c.frames - len + 1);
    out.fill(mean, start * fs, (start + len) * fs);
    spans.push([start, start + len]);
  }
  return { clip: { ...c, data: out }, spans };
}
