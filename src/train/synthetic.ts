/**
 * A synthetic audio-visual "recognition" task on feature level, for tests and smoke runs of the whole
 * LLM side without the corpus or the encoders: each transcript token is rendered as a few frames of a
 * fixed random vector (audio: one vector per token; video: one vector per token class, token mod
 * `visemeClasses`, so lip "reading" is ambiguous as in real data), plus Gaussian noise. Audio runs at
 * `audioFramesPerToken` frames per token, video at `videoFramesPerToken`.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.js";
import type { AvsrSample } from "../models/avsr.js";

export interface ToyTaskOptions {
  /** Token ids transcripts are drawn from. */
  tokens: number[];
  minLen: number;
  maxLen: number;
  audioDim: number;
  videoDim: number;
  audioFramesPerToken: number;
  videoFramesPerToken: number;
  visemeClasses: number;
  noise: number;
}

export class ToyAvsrTask {
  private readonly audioCode = new Map<number, Float32Array>();
  private readonly videoCode = new Map<number, Float32Array>();

  constructor(
    readonly opts: ToyTaskOptions,
    seed: number,
  ) {
    const rng = new Rng(seed);
    const vec = (d: number) => Float32Array.from({ length: d }, () => rng.normal());
    for (const t of opts.tokens) this.audioCode.set(t, vec(opts.audioDim));
    for (let c = 0; c < opts.visemeClasses; c++) this.videoCode.set(c, vec(opts.videoDim));
  }

  transcript(rng: Rng): number[] {
    const n = rng.int(this.opts.minLen, this.opts.maxLen + 1);
    return Array.from({ length: n }, () => rng.pick(this.opts.tokens));
  }

  /** Features of a transcript (new tensors, owned by the caller). */
  render(transcript: readonly number[], rng: Rng): AvsrSample {
    const { audioDim, videoDim, audioFramesPerToken: fa, videoFramesPerToken: fv, noise } = this.opts;
    const a = new Float32Array(transcript.length * fa * audioDim);
    const v = new Float32Array(transcript.length * fv * videoDim);
    transcript.forEach((tok, i) => {
      const ca = this.audioCode.get(tok)!;
      const cv = this.videoCode.get(tok % this.opts.visemeClasses)!;
      for (let f = 0; f < fa; f++) for (let d = 0; d < audioDim; d++) a[((i * fa + f) * audioDim) + d] = ca[d]! + noise * rng.normal();
      for (let f = 0; f < fv; f++) for (let d = 0; d < videoDim; d++) v[((i * fv + f) * videoDim) + d] = cv[d]! + noise * rng.normal();
    });
    return {
      audio: tf.tensor2d(a, [transcript.length * fa, audioDim]),
      video: tf.tensor2d(v, [transcript.length * fv, videoDim]),
      transcript: [...transcript],
    };
  }

  sample(rng: Rng): AvsrSample {
    return this.render(this.transcript(rng), rng);
  }
}

export function disposeSamples(samples: readonly AvsrSample[]): void {
  for (const s of samples) tf.dispose([s.audio, s.video].filter((t): t is tf.Tensor2D => !!t));
}
