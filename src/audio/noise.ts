/**
 * Additive noise at an exact SNR, in float: babble (a sum of 4-8 utterances), white, and music
 * (Debian asterisk-moh-opsound-wav, 8 kHz tracks resampled to 16 kHz).
 *
 * SNR is defined on the whole utterance: 10 log10(sum clean^2 / sum (g * noise)^2); the gain g is
 * solved in float64 so the measured SNR of the mixture equals the target (tested within 0.1 dB).
 * Evaluation mixes are deterministic per (utterance id, noise kind, SNR, seed); training mixes draw the
 * SNR from TRAIN_SNRS (null = clean) with the caller's Rng, on the fly.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Rng, hashSeed } from "../util/rng.js";
import { readWav } from "./wav.js";

export type NoiseKind = "babble" | "white" | "music";
/** Paper's training augmentation: SNR drawn uniformly from these (dB); null means clean. */
export const TRAIN_SNRS: ReadonlyArray<number | null> = [-5, 0, 5, 10, 15, 20, null];
export const MUSIC_DIR = "/usr/share/asterisk/moh";

export function power(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s / Math.max(1, x.length);
}

/** Measured SNR in dB of `mixture` against its `clean` part. */
export function measureSnr(clean: Float32Array, mixture: Float32Array): number {
  let ps = 0;
  let pn = 0;
  for (let i = 0; i < clean.length; i++) {
    const n = mixture[i]! - clean[i]!;
    ps += clean[i]! * clean[i]!;
    pn += n * n;
  }
  return 10 * Math.log10(ps / pn);
}

/** `clean + g * noise[0..len)` with g chosen for an exact SNR. `noise` must be at least as long. */
export function mixAtSnr(clean: Float32Array, noise: Float32Array, snrDb: number): Float32Array {
  if (noise.length < clean.length) throw new RangeError(`mixAtSnr: noise (${noise.length}) shorter than clean (${clean.length})`);
  let ps = 0;
  let pn = 0;
  for (let i = 0; i < clean.length; i++) {
    ps += clean[i]! * clean[i]!;
    pn += noise[i]! * noise[i]!;
  }
  if (ps === 0) throw new RangeError("mixAtSnr: clean signal is silent, SNR undefined");
  if (pn === 0) throw new RangeError("mixAtSnr: noise is silent, SNR undefined");
  const g = Math.sqrt(ps / (pn * Math.pow(10, snrDb / 10)));
  const out = new Float32Array(clean.length);
  for (let i = 0; i < clean.length; i++) out[i] = clean[i]! + g * noise[i]!;
  return out;
}

/** `length` samples of `src` starting at `offset`, looping. */
export function loopTo(src: Float32Array, length: number, offset = 0): Float32Array {
  if (src.length === 0) throw new RangeError("loopTo: empty source");
  const out = new Float32Array(length);
  let j = ((offset % src.length) + src.length) % src.length;
  for (let i = 0; i < length; i++) {
    out[i] = src[j]!;
    if (++j === src.length) j = 0;
  }
  return out;
}

export function whiteNoise(length: number, rng: Rng): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.normal();
  return out;
}

function normalizeRms(x: Float32Array): Float32Array {
  const r = Math.sqrt(power(x));
  if (r === 0) return x.slice();
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! / r;
  return out;
}

export interface NoiseBankOptions {
  /** Speech used for babble; must exclude the test speakers and sentences (the data layer picks them). */
  babbleSources: Float32Array[];
  /** Folder of music WAVs (default: Debian asterisk-moh-opsound-wav); loaded on first use. */
  musicDir?: string;
  /** Speakers per babble mixture, inclusive range. */
  babbleTalkers?: [number, number];
}

export class NoiseBank {
  private readonly sources: Float32Array[];
  private music: Float32Array[] | undefined;
  private readonly talkers: [number, number];

  constructor(private readonly opts: NoiseBankOptions) {
    if (opts.babbleSources.length < 8) throw new RangeError(`NoiseBank: need at least 8 babble sources, got ${opts.babbleSources.length}`);
    this.sources = opts.babbleSources.map(normalizeRms);
    this.talkers = opts.babbleTalkers ?? [4, 8];
  }

  /** Sum of k in [4, 8] distinct utterances (each at unit RMS, random start, looped). */
  babble(length: number, rng: Rng): Float32Array {
    const k = rng.int(this.talkers[0], this.talkers[1] + 1);
    const idx = rng.shuffle([...this.sources.keys()]).slice(0, k);
    const out = new Float32Array(length);
    for (const i of idx) {
      const src = this.sources[i]!;
      const part = loopTo(src, length, rng.int(0, src.length));
      for (let t = 0; t < length; t++) out[t]! += part[t]!;
    }
    return out;
  }

  musicTracks(): Float32Array[] {
    if (!this.music) {
      const dir = this.opts.musicDir ?? MUSIC_DIR;
      if (!existsSync(dir)) {
        throw new Error(`music noise needs WAV files in ${dir} (Debian package asterisk-moh-opsound-wav)`);
      }
      const files = readdirSync(dir).filter((f) => f.endsWith(".wav")).sort();
      if (files.length === 0) throw new Error(`no .wav files in ${dir}`);
      this.music = files.map((f) => normalizeRms(readWav(join(dir, f), { onRepair: () => {} }).samples));
    }
    return this.music;
  }

  musicNoise(length: number, rng: Rng): Float32Array {
    const tracks = this.musicTracks();
    const t = rng.pick(tracks);
    return loopTo(t, length, rng.int(0, t.length));
  }

  noise(kind: NoiseKind, length: number, rng: Rng): Float32Array {
    switch (kind) {
      case "babble":
        return this.babble(length, rng);
      case "white":
        return whiteNoise(length, rng);
      case "music":
        return this.musicNoise(length, rng);
    }
  }

  /** Deterministic evaluation mixture: same (id, kind, snr, seed) gives the same samples. */
  mixForEval(clean: Float32Array, uttId: string, kind: NoiseKind, snrDb: number, seed = 0): Float32Array {
    const rng = new Rng(hashSeed("eval-noise", uttId, kind, snrDb, seed));
    return mixAtSnr(clean, this.noise(kind, clean.length, rng), snrDb);
  }

  /** Training augmentation: SNR drawn from `snrs` (null = clean) with the caller's Rng. */
  augment(clean: Float32Array, rng: Rng, kind: NoiseKind = "babble", snrs: ReadonlyArray<number | null> = TRAIN_SNRS): {
    audio: Float32Array;
    snrDb: number | null;
  } {
    const snr = rng.pick(snrs);
    if (snr === null) return { audio: clean, snrDb: null };
    return { audio: mixAtSnr(clean, this.noise(kind, clean.length, rng), snr), snrDb: snr };
  }
}
