/**
 * Deterministic renderer of a grayscale mouth region at 25 fps from a viseme timeline.
 *
 * Pipeline per utterance (everything random comes from `params.seed`, so the same inputs give the same
 * frames bit for bit, and a loader can re-render instead of storing video):
 *  1. timing: every viseme boundary is jittered (normal, sd `jitterSd`, order kept) and the whole video
 *     is shifted by `avOffset` seconds against the audio (positive: the video lags);
 *  2. articulation: at each frame time the mouth parameters (open, spread, teeth, tongue, tuck) are a
 *     dominance-weighted blend of the viseme targets around it (Cohen-Massaro coarticulation), scaled
 *     by the speaker's articulation strength;
 *  3. drawing: skin with a lighting gradient, lips (outer and inner contours from the parameters),
 *     dark oral cavity, upper teeth, tongue, lip highlight and chin shadow; soft edges;
 *  4. nuisance: smooth head motion (translation, rotation, scale), slow lighting flicker, [1 2 1] blur
 *     passes and sensor noise.
 * Output: Float32Array [T, size, size], values in [0, 1].
 */
import { Rng } from "../util/rng.js";
import { VISEME_TARGETS, type TimedViseme } from "./visemes.js";

export const FPS = 25;

/** Per-speaker look (drawn once per speaker). */
export interface SpeakerAppearance {
  skin: number;
  lipContrast: number;
  /** Half-width of the mouth in normalised image units ([-1, 1] across the image). */
  mouthWidth: number;
  lipThickness: number;
  /** Scales the mouth opening (hypo- to hyper-articulation). */
  articulation: number;
  teeth: number;
  /** Vertical position of the mouth centre. */
  mouthY: number;
  noise: number;
  blurPasses: number;
}

/** Per-utterance nuisance and timing (drawn once per utterance). */
export interface RenderParams {
  seed: number;
  /** Seconds the video lags the audio (negative: leads). */
  avOffset: number;
  /** Standard deviation of viseme boundary jitter, seconds. */
  jitterSd: number;
  head: { tx: number; ty: number; rot: number; scale: number };
  light: { gain: number; gradient: number; angle: number };
  noiseSd: number;
}

export function drawAppearance(rng: Rng): SpeakerAppearance {
  return {
    skin: rng.uniform(0.42, 0.75),
    lipContrast: rng.uniform(0.12, 0.26),
    mouthWidth: rng.uniform(0.6, 0.75),
    lipThickness: rng.uniform(0.11, 0.17),
    articulation: rng.uniform(0.75, 1.2),
    teeth: rng.uniform(0.72, 0.92),
    mouthY: rng.uniform(-0.02, 0.1),
    noise: rng.uniform(0.01, 0.035),
    blurPasses: rng.int(0, 3),
  };
}

export function drawRenderParams(rng: Rng, appearance: SpeakerAppearance): RenderParams {
  return {
    seed: rng.nextUint32(),
    avOffset: rng.uniform(-0.04, 0.04),
    jitterSd: 0.015,
    head: { tx: rng.uniform(0.02, 0.06), ty: rng.uniform(0.02, 0.05), rot: rng.uniform(0.02, 0.07), scale: rng.uniform(0.02, 0.05) },
    light: { gain: rng.uniform(0.85, 1.15), gradient: rng.uniform(0, 0.35), angle: rng.uniform(0, 2 * Math.PI) },
    noiseSd: appearance.noise * rng.uniform(0.8, 1.25),
  };
}

export interface MouthState {
  open: number;
  spread: number;
  teeth: number;
  tongue: number;
  tuck: number;
}

const PARAMS = ["open", "spread", "teeth", "tongue", "tuck"] as const;
/** Decay of a viseme's influence outside its own interval (seconds). */
const TAU = 0.04;

/** Jitters boundaries (order kept, each viseme at least 10 ms) and applies the AV offset. */
export function videoTimeline(visemes: readonly TimedViseme[], params: RenderParams): TimedViseme[] {
  const rng = new Rng(params.seed).fork("jitter");
  const out: TimedViseme[] = [];
  let prevStart = -Infinity;
  for (let i = 0; i < visemes.length; i++) {
    const v = visemes[i]!;
    const j = Math.max(-2.5, Math.min(2.5, rng.normal())) * params.jitterSd;
    const start = Math.max(v.start + j, prevStart + 0.01) + params.avOffset;
    out.push({ viseme: v.viseme, start, end: 0 });
    prevStart = start - params.avOffset;
  }
  for (let i = 0; i < out.length; i++) {
    const nextStart = i + 1 < out.length ? out[i + 1]!.start : visemes[i]!.end + params.avOffset;
    out[i]!.end = Math.max(out[i]!.start + 0.01, nextStart);
  }
  return out;
}

/** Mouth parameters at time t (seconds, video clock) by dominance-weighted blending. */
export function mouthStateAt(timeline: readonly TimedViseme[], t: number, articulation = 1): MouthState {
  const acc = { open: 0, spread: 0, teeth: 0, tongue: 0, tuck: 0 };
  let wsum = 0;
  for (const seg of timeline) {
    const dist = t < seg.start ? seg.start - t : t > seg.end ? t - seg.end : 0;
    if (dist > 8 * TAU) continue;
    const tgt = VISEME_TARGETS[seg.viseme];
    const w = tgt.dominance * Math.exp(-dist / TAU);
    wsum += w;
    for (const p of PARAMS) acc[p] += w * tgt[p];
  }
  if (wsum === 0) {
    const rest = VISEME_TARGETS.sil;
    return { open: rest.open, spread: rest.spread, teeth: 0, tongue: 0, tuck: 0 };
  }
  for (const p of PARAMS) acc[p] /= wsum;
  acc.open = Math.min(1, acc.open * articulation);
  return acc;
}

/** The mouth parameter track at each video frame centre. */
export function mouthTrack(visemes: readonly TimedViseme[], appearance: SpeakerAppearance, params: RenderParams, numFrames: number): MouthState[] {
  const tl = videoTimeline(visemes, params);
  return Array.from({ length: numFrames }, (_, f) => mouthStateAt(tl, (f + 0.5) / FPS, appearance.articulation));
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Smooth head motion: sum of three sinusoids per degree of freedom, phases from the seed. */
function headMotion(params: RenderParams, numFrames: number) {
  const rng = new Rng(params.seed).fork("head");
  const comps = [0, 1, 2, 3].map(() =>
    [0, 1, 2].map(() => ({ f: rng.uniform(0.15, 1.2), ph: rng.uniform(0, 2 * Math.PI), a: rng.uniform(0.3, 1) })),
  );
  const lightPhase = rng.uniform(0, 2 * Math.PI);
  const wave = (k: number, t: number) => {
    const c = comps[k]!;
    const norm = c.reduce((s, x) => s + x.a, 0);
    return c.reduce((s, x) => s + x.a * Math.sin(2 * Math.PI * x.f * t + x.ph), 0) / norm;
  };
  return Array.from({ length: numFrames }, (_, f) => {
    const t = f / FPS;
    return {
      tx: params.head.tx * wave(0, t),
      ty: params.head.ty * wave(1, t),
      rot: params.head.rot * wave(2, t),
      scale: 1 + params.head.scale * wave(3, t),
      flicker: 1 + 0.015 * Math.sin(2 * Math.PI * 0.7 * t + lightPhase),
    };
  });
}

/** Draws one frame into `out` (size*size) from a mouth state and pose. */
function drawFrame(
  out: Float32Array,
  size: number,
  s: MouthState,
  a: SpeakerAppearance,
  pose: { tx: number; ty: number; rot: number; scale: number; flicker: number },
  light: RenderParams["light"],
): void {
  const cr = Math.cos(pose.rot);
  const sr = Math.sin(pose.rot);
  const edge = 2.4 / size; // soft edge width in normalised units (about 1.2 px)
  const ramp = (d: number) => clamp01(0.5 + d / edge);
  const hw = a.mouthWidth * (0.82 + 0.36 * (s.spread - 0.5));
  const oh = Math.max(0.012, 0.36 * s.open);
  const tu = a.lipThickness * (1 + 0.5 * (0.5 - s.spread));
  const tl = a.lipThickness * 1.25 * (1 - 0.35 * s.tuck) * (1 + 0.3 * (0.5 - s.spread));
  const iw = hw * (0.8 - 0.12 * (0.5 - s.spread));
  const cy = a.mouthY - 0.3 * s.tuck * a.lipThickness;
  const gx = Math.cos(light.angle) * light.gradient;
  const gy = Math.sin(light.angle) * light.gradient;
  const gain = light.gain * pose.flicker;
  const cavity = 0.06;
  const tongueShade = 0.35 + 0.35 * a.skin;
  const teethH = 0.07 * s.teeth;
  for (let i = 0; i < size; i++) {
    const yi = ((i + 0.5) / size) * 2 - 1;
    for (let j = 0; j < size; j++) {
      const xi = ((j + 0.5) / size) * 2 - 1;
      // inverse head transform: image -> face coordinates
      const dx = xi - pose.tx;
      const dy = yi - pose.ty;
      const x = (cr * dx + sr * dy) / pose.scale;
      const y = (-sr * dx + cr * dy) / pose.scale;
      const lightF = gain * (1 + gx * xi + gy * yi);
      let v = a.skin;
      const ax = Math.abs(x);
      const prof = ax < hw ? Math.sqrt(1 - (ax / hw) * (ax / hw)) : 0;
      // chin shadow and nose shadow for a face-like context
      const below = y - (cy + oh + tl + 0.06);
      if (below > -0.2 && below < 0.2) v -= 0.05 * Math.exp(-below * below * 300) * (ax < hw * 1.1 ? 1 : 0.4);
      if (y < -0.5) v -= 0.06 * clamp01((-0.75 - y) * 4);
      if (prof > 0) {
        const top = cy - (0.9 * oh + tu) * prof;
        const bot = cy + (1.1 * oh + tl) * prof;
        const inLips = ramp(y - top) * ramp(bot - y) * ramp(hw - ax);
        if (inLips > 0) {
          let lip = a.skin - a.lipContrast;
          // highlight on the lower lip
          const hl = (y - (cy + 1.1 * oh + 0.5 * tl)) / (0.5 * tl + 1e-3);
          lip += 0.07 * Math.exp(-hl * hl) * prof;
          let m = lip;
          const q = ax < iw ? Math.sqrt(1 - (ax / iw) * (ax / iw)) : 0;
          if (q > 0) {
            const itop = cy - 0.9 * oh * q;
            const ibot = cy + 1.1 * oh * q;
            const inMouth = ramp(y - itop) * ramp(ibot - y);
            if (inMouth > 0) {
              let c = cavity;
              const teethZone = clamp01((itop + teethH - y) / (teethH + 1e-3)) * (y >= itop ? 1 : 0);
              c += (a.teeth - cavity) * s.teeth * teethZone;
              const tongueTop = ibot - 2 * oh * s.tongue * q * 0.6;
              const tz = ramp(y - tongueTop) * s.tongue;
              c += (tongueShade - c) * tz * (1 - teethZone);
              m = lip + (c - lip) * inMouth;
            }
          }
          // upper teeth resting on the tucked lower lip (f, v)
          if (s.tuck > 0.05 && y > cy && y < cy + 0.06 && ax < iw * 0.8) {
            m += (a.teeth - m) * s.tuck * 0.8 * clamp01((cy + 0.06 - y) / 0.03);
          }
          v = v + (m - v) * inLips;
        }
      }
      out[i * size + j] = v * lightF;
    }
  }
}

/** [1 2 1] / 4 separable blur, in place (edges clamped). */
function blur121(img: Float32Array, size: number, tmp: Float32Array): void {
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const l = img[i * size + Math.max(0, j - 1)]!;
      const r = img[i * size + Math.min(size - 1, j + 1)]!;
      tmp[i * size + j] = 0.25 * l + 0.5 * img[i * size + j]! + 0.25 * r;
    }
  }
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const u = tmp[Math.max(0, i - 1) * size + j]!;
      const d = tmp[Math.min(size - 1, i + 1) * size + j]!;
      img[i * size + j] = 0.25 * u + 0.5 * tmp[i * size + j]! + 0.25 * d;
    }
  }
}

export interface RenderInput {
  visemes: readonly TimedViseme[];
  appearance: SpeakerAppearance;
  params: RenderParams;
  numFrames: number;
  /** Frame side in pixels (88 as the paper; smaller for CPU budgets). */
  size: number;
}

/** Renders the clip: Float32Array [numFrames, size, size] in [0, 1]. */
export function renderMouthVideo(input: RenderInput): Float32Array {
  const { size, numFrames, appearance, params } = input;
  if (!Number.isInteger(size) || size < 8) throw new RangeError(`renderMouthVideo: size ${size} must be an integer >= 8`);
  const track = mouthTrack(input.visemes, appearance, params, numFrames);
  const poses = headMotion(params, numFrames);
  const out = new Float32Array(numFrames * size * size);
  const frame = new Float32Array(size * size);
  const tmp = new Float32Array(size * size);
  const noise = new Rng(params.seed).fork("noise");
  for (let f = 0; f < numFrames; f++) {
    drawFrame(frame, size, track[f]!, appearance, poses[f]!, params.light);
    for (let k = 0; k < appearance.blurPasses; k++) blur121(frame, size, tmp);
    const base = f * size * size;
    for (let p = 0; p < frame.length; p++) {
      // Irwin-Hall(3) approximation of a unit normal: cheap and deterministic
      const n = (noise.next() + noise.next() + noise.next() - 1.5) * 2;
      out[base + p] = clamp01(frame[p]! + params.noiseSd * n);
    }
  }
  return out;
}
