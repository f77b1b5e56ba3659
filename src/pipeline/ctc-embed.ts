/**
 * The "ctc-embed" audio input (`audioInput: "ctc-embed"`, `npm run train -- ... --audio-input ctc-embed`;
 * off in the presets, which follow the paper): a lever on issue 5's gap between the LLM and the
 * encoder's own sub-word CTC head (README, "Status"). Each cached audio frame h_t (the frozen encoder's
 * output) is extended with the frozen LM's embedding of the sub-word the encoder's CTC head hears there:
 *
 *   x_t = [ h_t ; s · Σ_{c ≥ 1} p_t(c) · E[c − 1] ]      p_t = softmax(h_t W + b)
 *
 * W, b: the encoder's `subword_head` (class 0 is the CTC blank and adds nothing; class c is LM token
 * c − 1, as in pretrain/encoder-data.ts `subwordTargetsOf`); E: the LM's token embedding table; s = 1 /
 * RMS(E), so both halves have a comparable scale for the projector. On a frame the head is sure of, the
 * second half is the (scaled) embedding of that token, which is what the oracle input gives the LLM
 * (pipeline/oracle.ts: 4.2 % WER), with the acoustic features kept beside it. Everything here is frozen,
 * so it is a feature transform applied where samples are made (pipeline/data.ts), for training,
 * validation and evaluation alike; the projector's input width grows by the LM's width.
 *
 * `videoInput: "ctc-embed"` (`--video-input ctc-embed`) does the same with the video encoder's sub-word
 * CTC head on the cached video frames, for VSR and AVSR.
 */
import * as tf from "@tensorflow/tfjs";
import { loadEncoder, type EncoderModality } from "../pretrain/encoders/index.js";
import type { Llm } from "../models/llm.js";
import { InputError } from "../util/errors.js";

export class CtcEmbedding {
  /** Width of the transformed frames: encoder width + LM width. */
  readonly outDim: number;
  private readonly weight: tf.Tensor2D;
  private readonly bias: tf.Tensor1D;
  private readonly scaledTable: tf.Tensor2D;

  /**
   * `weight` [D, C] and `bias` [C]: the CTC head (class 0 blank); `table` [V, d]: LM token embeddings,
   * V ≥ C − 1. The tensors are copied; the caller keeps ownership of its own.
   */
  constructor(
    weight: tf.Tensor2D,
    bias: tf.Tensor1D,
    table: tf.Tensor2D,
    readonly source = "ctc head",
  ) {
    const [D, C] = weight.shape;
    if (bias.shape[0] !== C) throw new Error(`${source}: CTC head bias has ${bias.shape[0]} classes, weight ${C}`);
    if (table.shape[0] < C - 1) throw new Error(`${source}: the CTC head has ${C - 1} sub-word classes but the LM only ${table.shape[0]} token embeddings`);
    this.weight = tf.keep(weight.clone());
    this.bias = tf.keep(bias.clone());
    this.scaledTable = tf.keep(
      tf.tidy(() => {
        const rows = table.slice([0, 0], [C - 1, table.shape[1]]);
        const rms = tf.sqrt(tf.mean(tf.square(rows)));
        return tf.div(rows, tf.maximum(rms, 1e-8)) as tf.Tensor2D;
      }),
    );
    this.outDim = D + table.shape[1];
  }

  /** [T, D] encoder frames -> [T, D + d]. */
  apply(h: tf.Tensor2D): tf.Tensor2D {
    if (h.shape[1] !== this.weight.shape[0]) throw new Error(`${this.source}: frames are ${h.shape[1]} wide, the CTC head expects ${this.weight.shape[0]}`);
    return tf.tidy(() => {
      const p = tf.softmax(tf.add(tf.matMul(h, this.weight), this.bias)) as tf.Tensor2D;
      const tokens = p.slice([0, 1], [h.shape[0], this.weight.shape[1] - 1]);
      return tf.concat([h, tf.matMul(tokens, this.scaledTable)], 1) as tf.Tensor2D;
    });
  }

  dispose(): void {
    tf.dispose([this.weight, this.bias, this.scaledTable]);
  }
}

/**
 * The run's CTC embeddings (its preset's shipped encoders and its LM): audio for `audioInput: "ctc-embed"`,
 * video for `videoInput: "ctc-embed"` (the video encoder's sub-word CTC head, the same transform on its
 * 25 frames/s); undefined where the run reads the plain features.
 */
export function ctcEmbeddingOfRun(c: { preset: string; audioInput?: "ctc-embed" }, llm: Llm): CtcEmbedding | undefined {
  return c.audioInput === "ctc-embed" ? ctcEmbeddingOf(c.preset, "audio", llm) : undefined;
}

export function videoCtcEmbeddingOfRun(c: { preset: string; videoInput?: "ctc-embed" }, llm: Llm): CtcEmbedding | undefined {
  return c.videoInput === "ctc-embed" ? ctcEmbeddingOf(c.preset, "video", llm) : undefined;
}

function ctcEmbeddingOf(preset: string, modality: EncoderModality, llm: Llm): CtcEmbedding {
  const flag = `${modality}Input ctc-embed`;
  const enc = loadEncoder(preset, modality);
  try {
    const head = enc.model.subwordHead;
    if (!head) throw new InputError(`${flag}: the ${preset} ${modality} encoder (${enc.dir}) has no sub-word CTC head`);
    if (!head.out.bias) throw new InputError(`${flag}: the sub-word CTC head of ${enc.dir} has no bias`);
    return new CtcEmbedding(head.out.weight as tf.Tensor2D, head.out.bias as tf.Tensor1D, llm.embed as tf.Tensor2D, `${enc.dir} subword_head`);
  } finally {
    enc.model.dispose();
  }
}
