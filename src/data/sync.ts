/**
 * Audio-video synchrony check: correlation between the mouth opening seen in the frames and the audio
 * energy envelope, at video-frame lags. On the synthetic corpus the peak should sit near lag 0 (within
 * the +-40 ms AV offsets and timing jitter), which shows that the video carries the speech timing.
 */
import type { Clip } from "../video/transforms.js";

/**
 * Mouth opening per frame, from pixels only: the dark area (cavity) in the central region, measured
 * as the summed amount by which pixels fall more than 0.15 below the frame's median brightness.
 */
export function mouthOpeningFromFrames(c: Clip): Float64Array {
  const out = new Float64Array(c.frames);
  const fs = c.height * c.width;
  const i0 = Math.floor(c.height * 0.25);
  const i1 = Math.ceil(c.height * 0.8);
  const j0 = Math.floor(c.width * 0.15);
  const j1 = Math.ceil(c.width * 0.85);
  const vals: number[] = [];
  for (let t = 0; t < c.frames; t++) {
    vals.length = 0;
    for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) vals.push(c.data[t * fs + i * c.width + j]!);
    const sorted = [...vals].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    let dark = 0;
    for (const v of vals) dark += Math.max(0, median - 0.15 - v);
    out[t] = dark;
  }
  return out;
}

/** Log RMS energy of the audio per video frame (640 samples at 16 kHz). */
export function audioEnvelope(audio: Float32Array, frames: number, samplesPerFrame = 640): Float64Array {
  const out = new Float64Array(frames);
  for (let t = 0; t < frames; t++) {
    let s = 0;
    const a = t * samplesPerFrame;
    const b = Math.min(audio.length, a + samplesPerFrame);
    for (let i = a; i < b; i++) s += audio[i]! * audio[i]!;
    out[t] = Math.log10(1e-8 + s / Math.max(1, b - a));
  }
  return out;
}

export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = Math.min(x.length, y.length);
  if (n < 3) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i]! - mx;
    const b = y[i]! - my;
    sxy += a * b;
    sxx += a * a;
    syy += b * b;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Pooled correlation between video `a` and audio `b` series at lags -maxLag..maxLag (frames); positive
 * lag compares video frame t + lag with audio frame t (video later than audio).
 */
export function laggedCorrelation(pairs: Array<{ video: Float64Array; audio: Float64Array }>, maxLag = 5): Array<{ lag: number; r: number }> {
  const out: Array<{ lag: number; r: number }> = [];
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const { video, audio } of pairs) {
      // standardise each utterance so that pooling does not mix levels across speakers
      const z = (s: Float64Array) => {
        const m = s.reduce((a, b) => a + b, 0) / s.length;
        const sd = Math.sqrt(s.reduce((a, b) => a + (b - m) * (b - m), 0) / s.length) || 1;
        return Array.from(s, (v) => (v - m) / sd);
      };
      const v = z(video);
      const a = z(audio);
      for (let t = 0; t < a.length; t++) {
        const tv = t + lag;
        if (tv < 0 || tv >= v.length) continue;
        xs.push(v[tv]!);
        ys.push(a[t]!);
      }
    }
    out.push({ lag, r: pearson(xs, ys) });
  }
  return out;
}
