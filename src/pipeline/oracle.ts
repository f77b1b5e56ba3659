/**
 * Oracle audio features: a diagnostic stand-in for the frozen audio encoder that is perfect by
 * construction. Each sub-word of the transcript (the LM's own tokeniser) gets a fixed random vector
 * (N(0, 1) per dimension, drawn from the token id and a seed), written for `framesPerToken` frames, plus
 * N(0, noise²) per frame; nothing else (no silence, no timing). With 4 frames per token, average pooling
 * at rate 4 gives exactly one token per sub-word.
 *
 * What it tells: if projectors + LoRA cannot learn ASR from these features, the bottleneck is on the
 * LM side (README, "Status"), not in the encoders. Selected per run with `audioSource: "oracle"`
 * (`npm run train -- ... --audio-source oracle`); the video features stay the cached encoder outputs.
 */
import { hashSeed, Rng } from "../util/rng.js";
import type { TextEncoder } from "../models/avsr.js";

export interface OracleAudioConfig {
  dim: number;
  framesPerToken: number;
  noise: number;
  seed: number;
}

export const ORACLE_DEFAULTS = { framesPerToken: 4, noise: 0.5 } as const;

export class OracleAudio {
  private readonly vectors = new Map<number, Float32Array>();

  constructor(
    readonly cfg: OracleAudioConfig,
    private readonly tokenizer: TextEncoder,
  ) {
    if (!Number.isInteger(cfg.framesPerToken) || cfg.framesPerToken < 1) throw new Error(`oracle audio: framesPerToken must be a positive integer, got ${cfg.framesPerToken}`);
  }

  private vectorOf(token: number): Float32Array {
    let v = this.vectors.get(token);
    if (!v) {
      const rng = new Rng(hashSeed("oracle-token", this.cfg.seed, token));
      v = Float32Array.from({ length: this.cfg.dim }, () => rng.normal());
      this.vectors.set(token, v);
    }
    return v;
  }

  /** Number of frames of a transcript's features. */
  frames(text: string): number {
    return Math.max(1, this.tokenizer.encode(text).length) * this.cfg.framesPerToken;
  }

  /** Frames of one transcript; the per-frame noise is drawn from `key` (e.g. the utterance id). */
  features(text: string, key: string): { data: Float32Array; frames: number; dim: number } {
    const { dim, framesPerToken, noise } = this.cfg;
    const ids = this.tokenizer.encode(text);
    const frames = this.frames(text);
    const data = new Float32Array(frames * dim);
    const rng = new Rng(hashSeed("oracle-noise", this.cfg.seed, key));
    for (let f = 0; f < frames; f++) {
      const token = ids.length > 0 ? ids[Math.floor(f / framesPerToken)]! : -1;
      const v = token >= 0 ? this.vectorOf(token) : undefined;
      for (let d = 0; d < dim; d++) data[f * dim + d] = (v ? v[d]! : 0) + noise * rng.normal();
    }
    return { data, frames, dim };
  }
}

/** The oracle of a run (same vectors for its training and its evaluation), or undefined. */
export function oracleOfRun(c: { audioSource: string; seed: number }, tokenizer: TextEncoder, audioDim: number): OracleAudio | undefined {
  if (c.audioSource !== "oracle") return undefined;
  return new OracleAudio({ dim: audioDim, ...ORACLE_DEFAULTS, seed: c.seed }, tokenizer);
}
