/**
 * Whisper-like log-mel features: 16 kHz audio, 25 ms Hann window (400 samples, periodic), 10 ms hop
 * (160), 400-point real FFT, power spectrum, 80 Slaney-scale mel filters with Slaney area
 * normalisation (librosa's default, as Whisper uses), log10 with a floor of 1e-10, dynamic range
 * clipped to 8 (log10 units) below the utterance maximum, then (x + 4) / 4.
 * Framing follows Whisper's STFT: reflect-pad 200 samples each side ("center"), drop the last frame,
 * so an utterance of n samples gives floor(n / 160) frames (4 per 25 fps video frame).
 */
import { RealFft } from "./dsp.js";

export interface MelConfig {
  sampleRate: number;
  nFft: number;
  hop: number;
  nMels: number;
  fMin: number;
  fMax: number;
  /**
   * Vocal-tract-length warp factor α (VTLP, Jaitly & Hinton 2013), absent = 1: the filterbank reads the
   * power at frequency f as if it were at vtlpWarp(f, α), so a speaker's formants appear α times
   * higher (training-time speaker augmentation; see audio/augment.ts).
   */
  warp?: number;
}

export const WHISPER_MEL: MelConfig = { sampleRate: 16000, nFft: 400, hop: 160, nMels: 80, fMin: 0, fMax: 8000 };

/** Features laid out row-major [frames, bins]. */
export interface Features {
  data: Float32Array;
  frames: number;
  bins: number;
}

/** Slaney mel scale (linear below 1 kHz, logarithmic above), as librosa `htk=False`. */
export function hzToMel(hz: number): number {
  const fSp = 200 / 3;
  if (hz < 1000) return hz / fSp;
  return 1000 / fSp + Math.log(hz / 1000) / (Math.log(6.4) / 27);
}

export function melToHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogMel = 1000 / fSp;
  if (mel < minLogMel) return mel * fSp;
  return 1000 * Math.exp((Math.log(6.4) / 27) * (mel - minLogMel));
}

/**
 * The piecewise-linear VTLP frequency warp: f -> α·f up to a boundary (4.8 kHz at 8 kHz Nyquist,
 * scaled by min(α, 1) / α so the image stays inside the band), then a straight line to (fNyq, fNyq).
 * Monotone, fixes 0 and fNyq, identity at α = 1.
 */
export function vtlpWarp(f: number, alpha: number, fNyq: number): number {
  if (alpha === 1) return f;
  const boundary = (0.6 * fNyq * Math.min(alpha, 1)) / alpha;
  if (f <= boundary) return alpha * f;
  return fNyq - ((fNyq - alpha * boundary) / (fNyq - boundary)) * (fNyq - f);
}

/** Mel filterbank [nMels, nFft/2+1] (triangles in Hz between mel-spaced points, Slaney-normalised). */
export function melFilterbank(cfg: MelConfig = WHISPER_MEL): Float32Array[] {
  const nBins = cfg.nFft / 2 + 1;
  const alpha = cfg.warp ?? 1;
  const fftFreqs = Array.from({ length: nBins }, (_, k) => vtlpWarp((k * cfg.sampleRate) / cfg.nFft, alpha, cfg.sampleRate / 2));
  const mMin = hzToMel(cfg.fMin);
  const mMax = hzToMel(cfg.fMax);
  const pts = Array.from({ length: cfg.nMels + 2 }, (_, i) => melToHz(mMin + ((mMax - mMin) * i) / (cfg.nMels + 1)));
  const bank: Float32Array[] = [];
  for (let m = 0; m < cfg.nMels; m++) {
    const lo = pts[m]!;
    const mid = pts[m + 1]!;
    const hi = pts[m + 2]!;
    const enorm = 2 / (hi - lo);
    const row = new Float32Array(nBins);
    for (let k = 0; k < nBins; k++) {
      const f = fftFreqs[k]!;
      const up = (f - lo) / (mid - lo);
      const down = (hi - f) / (hi - mid);
      row[k] = Math.max(0, Math.min(up, down)) * enorm;
    }
    bank.push(row);
  }
  return bank;
}

/** Periodic Hann window (torch.hann_window default). */
export function hannWindow(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

interface Plan {
  fft: RealFft;
  window: Float32Array;
  /** Sparse filterbank: per mel, first bin and weights. */
  filters: Array<{ start: number; weights: Float32Array }>;
}
const plans = new Map<string, Plan>();

function plan(cfg: MelConfig): Plan {
  const key = JSON.stringify(cfg);
  let p = plans.get(key);
  if (!p) {
    const filters = melFilterbank(cfg).map((row) => {
      let s = 0;
      while (s < row.length && row[s] === 0) s++;
      let e = row.length;
      while (e > s && row[e - 1] === 0) e--;
      return { start: s, weights: row.slice(s, e) };
    });
    p = { fft: new RealFft(cfg.nFft), window: hannWindow(cfg.nFft), filters };
    plans.set(key, p);
  }
  return p;
}

/** Mel power spectrogram [frames, nMels] before the log (exposed for tests and analysis). */
export function melPower(audio: Float32Array, cfg: MelConfig = WHISPER_MEL): Features {
  const { fft, window, filters } = plan(cfg);
  const pad = cfg.nFft / 2;
  const n = audio.length;
  if (n <= pad) throw new RangeError(`melPower: ${n} samples is shorter than the reflect padding (${pad + 1})`);
  const frames = Math.floor(n / cfg.hop);
  const out = new Float32Array(frames * cfg.nMels);
  const frame = new Float32Array(cfg.nFft);
  const power = new Float32Array(cfg.nFft / 2 + 1);
  for (let t = 0; t < frames; t++) {
    const start = t * cfg.hop - pad;
    for (let i = 0; i < cfg.nFft; i++) {
      let j = start + i;
      if (j < 0) j = -j; // reflect (without repeating the edge sample)
      else if (j >= n) j = 2 * (n - 1) - j;
      frame[i] = audio[j]! * window[i]!;
    }
    fft.power(frame, power);
    for (let m = 0; m < cfg.nMels; m++) {
      const f = filters[m]!;
      let acc = 0;
      for (let k = 0; k < f.weights.length; k++) acc += f.weights[k]! * power[f.start + k]!;
      out[t * cfg.nMels + m] = acc;
    }
  }
  return { data: out, frames, bins: cfg.nMels };
}

/** Whisper-like log-mel features [floor(n/160), 80] of 16 kHz mono audio. */
export function logMel(audio: Float32Array, cfg: MelConfig = WHISPER_MEL): Features {
  const mel = melPower(audio, cfg);
  const d = mel.data;
  let max = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const v = Math.log10(Math.max(d[i]!, 1e-10));
    d[i] = v;
    if (v > max) max = v;
  }
  const floor = max - 8;
  for (let i = 0; i < d.length; i++) d[i] = (Math.max(d[i]!, floor) + 4) / 4;
  return mel;
}
