/**
 * In-context copy probe of a language model: how much cheaper a sentence is the second time it appears
 * in the context. Each probe line X is scored as `<bos> X <eos> <bos> X <eos>`; the mean next-token NLL
 * over X's tokens and its `<eos>` is taken for the first and for the second copy.
 *
 * Why it matters here: an LLM-based recogniser reads the transcript off the projected audio/video
 * tokens, which needs attention that finds and copies earlier content (induction / copy heads). Large
 * pretrained LLMs copy almost perfectly (second-copy NLL near 0); an LM without that ability gives the
 * LoRA adapters and projectors nothing to build on. With `shuffle`, the words of each line are put in a
 * random (seeded) order first, so the first copy is unpredictable text and any gain is copying alone.
 *
 *   copyProbe(llm, tokenizer, lines, { shuffle?, seed? }) -> { firstNll, secondNll, gain, lines, tokens }
 */
import * as tf from "@tensorflow/tfjs";
import type { Llm } from "../models/llm.js";
import { BOS_ID, EOS_ID } from "../text/tokenizer.js";
import { Rng } from "../util/rng.js";

export interface CopyProbeResult {
  /** Mean NLL (nats/token) of the first copy's tokens + <eos>. */
  firstNll: number;
  /** The same for the second copy. */
  secondNll: number;
  /** firstNll - secondNll. */
  gain: number;
  lines: number;
  /** Tokens scored per copy. */
  tokens: number;
}

export interface CopyProbeOptions {
  /** Shuffle the words of each line (seeded) before scoring. */
  shuffle?: boolean;
  seed?: number;
}

export function copyProbe(llm: Llm, tokenizer: { encode(text: string): number[] }, lines: readonly string[], o: CopyProbeOptions = {}): CopyProbeResult {
  const rng = new Rng(o.seed ?? 0);
  let first = 0;
  let second = 0;
  let tokens = 0;
  let used = 0;
  for (const raw of lines) {
    const text = o.shuffle ? rng.shuffle(raw.split(" ")).join(" ") : raw;
    const ids = tokenizer.encode(text);
    if (ids.length === 0) continue;
    const n = ids.length + 1; // tokens + <eos>
    const seq = [BOS_ID, ...ids, EOS_ID, BOS_ID, ...ids, EOS_ID];
    if (seq.length > llm.config.maxSeqLen) continue;
    const nll = tf.tidy(() => {
      const input = tf.tensor2d(Int32Array.from(seq.slice(0, -1)), [1, seq.length - 1], "int32");
      const logp = tf.logSoftmax(llm.forward({ ids: input }).logits!) as tf.Tensor3D;
      // log p(seq[t + 1]) at each position t: a flat gather at t * vocab + seq[t + 1] (plain gather, valid on every backend)
      const vocab = logp.shape[2];
      const flatIdx = Int32Array.from(seq.slice(1), (id, t) => t * vocab + id);
      const picked = tf.gather(tf.reshape(logp, [-1]), tf.tensor1d(flatIdx, "int32"));
      return tf.neg(picked).dataSync() as Float32Array;
    });
    // position t predicts seq[t + 1]: the first copy is predicted at 0..n-1, the second at n+1..2n
    for (let t = 0; t < n; t++) first += nll[t]!;
    for (let t = n + 1; t <= 2 * n; t++) second += nll[t]!;
    tokens += n;
    used++;
  }
  if (used === 0) throw new Error("copyProbe: no line fits the model's context");
  const firstNll = first / tokens;
  const secondNll = second / tokens;
  return { firstNll, secondNll, gain: firstNll - secondNll, lines: used, tokens };
}
