/**
 * The unified audio-visual speech recogniser (Omni-AVSR): frozen-encoder features are compressed at a
 * chosen rate, projected into the LLM's embedding space and spliced into the sequence
 *
 *   [BOS] <audio> A </audio> <video> V </video> prompt transcript EOS
 *
 * (ASR omits the video span, VSR the audio span), which goes through a frozen Llama-style LM with LoRA
 * adapters. The loss is the mean cross-entropy over the transcript tokens and EOS only: as in the
 * reference, every position before the transcript (BOS, modality spans, prompt) is ignored, the last
 * prompt token predicts the first transcript token, and padding is ignored.
 *
 * The model takes precomputed frozen-encoder outputs ([T, D] per modality and utterance), so it does not
 * depend on the encoders: the training loop reads them from the feature cache.
 *
 * Prompts (the reference's defaults): "Transcribe speech to text." (ASR), "Transcribe video to text."
 * (VSR), "Transcribe speech and video to text." (AVSR); tokenised without BOS/EOS.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.js";
import { ForwardContext, Module, gatherRows } from "./nn.js";
import { IGNORE, Llm, LlmConfig, maskedCrossEntropy } from "./llm.js";
import { CompressionMode, TailRule, compressMany, compressedLength } from "./compression.js";
import { Modality, ProjectorBank } from "./projector.js";
import { LoraConfig, LoraLinear, LoraStrategy, Task, activeAdapters, adapterNames, injectLora } from "./lora.js";
import { AUDIO_END_ID, AUDIO_START_ID, BOS_ID, EOS_ID, VIDEO_END_ID, VIDEO_START_ID } from "../text/tokenizer.js";

export type { Task } from "./lora.js";

export const DEFAULT_PROMPTS: Record<Task, string> = {
  asr: "Transcribe speech to text.",
  vsr: "Transcribe video to text.",
  avsr: "Transcribe speech and video to text.",
};

export function taskUses(task: Task): { audio: boolean; video: boolean } {
  return { audio: task !== "vsr", video: task !== "asr" };
}

export interface AvsrConfig {
  llm: LlmConfig;
  /** Width of the cached audio / video encoder features. */
  audioDim: number;
  videoDim: number;
  /** Compression rates the model has projectors for. */
  audioRates: number[];
  videoRates: number[];
  compression: CompressionMode;
  tail: TailRule;
  /** Projector hidden width (2048 in the paper). */
  projectorHidden: number;
  lora: LoraConfig;
  strategy: LoraStrategy;
  prompts: Record<Task, string>;
}

/** One utterance: cached encoder features and (for training) the transcript's token ids (no BOS/EOS). */
export interface AvsrSample {
  audio?: tf.Tensor2D;
  video?: tf.Tensor2D;
  transcript?: readonly number[];
}

export interface Rates {
  audio: number;
  video: number;
}

export interface TextEncoder {
  encode(text: string): number[];
}

/** Projected modality tokens per sample ([N_i, dim]); absent for a modality the task does not use. */
export interface ModalitySpans {
  audio?: tf.Tensor2D[];
  video?: tf.Tensor2D[];
  /** The same tokens as one tensor per modality, samples one after another ([Σ N_i, dim]). */
  packed?: { audio?: tf.Tensor2D; video?: tf.Tensor2D };
}

export interface TrainInputs {
  /** [B, L, dim], right-padded with zeros. */
  embeds: tf.Tensor3D;
  /** [B·L] next-token targets, IGNORE outside transcript+EOS. */
  targets: Int32Array;
  lengths: number[];
}

/** A batch's sequences as rows of one embedding table (AvsrModel.layout). */
export interface SequenceLayout {
  /** Token ids whose embeddings start the table. */
  ids: number[];
  /** Per sample, the table row of each position. */
  rows: number[][];
  /** Per sample, the next-token target of each position (IGNORE outside transcript + EOS). */
  targets: Int32Array[];
  /** The all-zero row (padding). */
  zeroRow: number;
}

export interface DecodePrefix {
  /** [B, L, dim], left-padded with zeros. */
  embeds: tf.Tensor3D;
  /** First valid position per row. */
  validFrom: number[];
}

export class AvsrModel extends Module {
  readonly llm: Llm;
  readonly projectors: ProjectorBank;
  readonly promptIds: Record<Task, number[]>;
  readonly loraLayers: Map<string, LoraLinear>;

  /**
   * `llm`: a pretrained LM to use (it is frozen here); when absent a randomly initialised one is built
   * from `cfg.llm` (tests). LoRA adapters named by the strategy are injected into its target layers.
   */
  constructor(
    readonly cfg: AvsrConfig,
    tokenizer: TextEncoder,
    rng: Rng,
    llm?: Llm,
  ) {
    super();
    this.llm = this.addModule("llm", llm ?? new Llm(cfg.llm, rng.fork("llm")));
    this.llm.freeze();
    this.loraLayers = injectLora(this.llm, cfg.lora, adapterNames(cfg.strategy), rng.fork("lora"));
    this.projectors = this.addModule(
      "projectors",
      new ProjectorBank(
        {
          audioDim: cfg.audioDim,
          videoDim: cfg.videoDim,
          audioRates: cfg.audioRates,
          videoRates: cfg.videoRates,
          hiddenDim: cfg.projectorHidden,
          llmDim: cfg.llm.dim,
          mode: cfg.compression,
        },
        rng.fork("projectors"),
      ),
    );
    this.promptIds = {
      asr: tokenizer.encode(cfg.prompts.asr),
      vsr: tokenizer.encode(cfg.prompts.vsr),
      avsr: tokenizer.encode(cfg.prompts.avsr),
    };
  }

  /** The forward context of a task: its active adapters (plus training/dropout settings). */
  contextFor(task: Task, extra: Omit<ForwardContext, "adapters"> = {}): ForwardContext {
    return { ...extra, adapters: activeAdapters(this.cfg.strategy, task) };
  }

  /** Projected tokens of one modality for every sample: [N_i, dim] each (one projector call for the batch). */
  modalityTokens(samples: readonly AvsrSample[], modality: Modality, rate: number): tf.Tensor2D[] {
    const { all, lens } = this.packedModalityTokens(samples, modality, rate);
    return lens.length === 1 ? [all] : (tf.split(all, lens, 0) as tf.Tensor2D[]);
  }

  /** The same tokens as one tensor [Σ N_i, dim] (samples one after another) and the N_i. */
  packedModalityTokens(samples: readonly AvsrSample[], modality: Modality, rate: number): { all: tf.Tensor2D; lens: number[] } {
    const feats = samples.map((s) => {
      const f = s[modality];
      if (!f) throw new Error(`sample has no ${modality} features`);
      return f;
    });
    const pooled = compressMany(feats, rate, { mode: this.cfg.compression, tail: this.cfg.tail });
    const lens = feats.map((f) => compressedLength(f.shape[0], rate, this.cfg.tail));
    // the features are data: the projector's backward pass needs no gradient for them
    const all = this.projectors.of(modality, rate).apply(pooled, { inputIsData: true }) as tf.Tensor2D;
    return { all, lens };
  }

  /** The projected tokens of the modalities a task uses, per sample ([N_i, dim] each) and packed. */
  modalitySpans(samples: readonly AvsrSample[], task: Task, rates: Rates): ModalitySpans {
    const use = taskUses(task);
    const spans: ModalitySpans = { packed: {} };
    for (const [modality, rate] of [["audio", rates.audio], ["video", rates.video]] as const) {
      if (!use[modality]) continue;
      const { all, lens } = this.packedModalityTokens(samples, modality, rate);
      spans[modality] = lens.length === 1 ? [all] : (tf.split(all, lens, 0) as tf.Tensor2D[]);
      spans.packed![modality] = all;
    }
    return spans;
  }

  /**
   * The layout of a batch's sequences, `<bos> [<audio> a… </audio>] [<video> v… </video>] prompt
   * [transcript <eos>]`: each position is a row of one table (the embeddings of `ids`, then the packed
   * audio tokens, then the packed video tokens, then a zero row for padding), and the next-token
   * targets (position prefixLen-1+k predicts text[k]; IGNORE elsewhere).
   */
  layout(samples: readonly AvsrSample[], task: Task, spanLens: { audio?: number[]; video?: number[] }, withTranscript: boolean): SequenceLayout {
    const use = taskUses(task);
    const ids: number[] = [];
    type Ref = { kind: "tok" | "audio" | "video"; at: number };
    const refsOf: Ref[][] = [];
    const targets: Int32Array[] = [];
    const off = { audio: 0, video: 0 };
    const tokens = (list: readonly number[], refs: Ref[]) => {
      for (const id of list) {
        refs.push({ kind: "tok", at: ids.length });
        ids.push(id);
      }
    };
    samples.forEach((s, i) => {
      const refs: Ref[] = [];
      tokens([BOS_ID], refs);
      for (const [m, start, end] of [["audio", AUDIO_START_ID, AUDIO_END_ID], ["video", VIDEO_START_ID, VIDEO_END_ID]] as const) {
        if (!use[m]) continue;
        const n = spanLens[m]?.[i];
        if (n === undefined) throw new Error(`layout: no ${m} tokens for sample ${i}`);
        tokens([start], refs);
        for (let r = 0; r < n; r++) refs.push({ kind: m, at: off[m] + r });
        off[m] += n;
        tokens([end], refs);
      }
      tokens(this.promptIds[task], refs);
      const prefixLen = refs.length;
      let text: number[] = [];
      if (withTranscript) {
        if (!s.transcript) throw new Error("training sample without transcript");
        text = [...s.transcript, EOS_ID];
        tokens(text, refs);
      }
      const y = new Int32Array(refs.length).fill(IGNORE);
      text.forEach((tok, k) => (y[prefixLen - 1 + k] = tok));
      refsOf.push(refs);
      targets.push(y);
    });
    const base = { tok: 0, audio: ids.length, video: ids.length + off.audio };
    return { ids, rows: refsOf.map((refs) => refs.map((r) => base[r.kind] + r.at)), targets, zeroRow: base.video + off.video };
  }

  /**
   * The [B, L, dim] batch of a layout as one gather from its table (padding on `pad`'s side picks the
   * zero row). The backward pass is one segment sum instead of a split per concatenation.
   * Call inside tf.tidy.
   */
  private gatherBatch(lay: SequenceLayout, spans: ModalitySpans, task: Task, pad: "right" | "left"): { embeds: tf.Tensor3D; starts: number[] } {
    const use = taskUses(task);
    const D = this.cfg.llm.dim;
    const pack = (m: Modality) => {
      if (!use[m]) return undefined;
      const list = spans[m];
      return spans.packed?.[m] ?? (list!.length === 1 ? list![0]! : (tf.concat(list!, 0) as tf.Tensor2D));
    };
    const parts: tf.Tensor2D[] = [this.llm.embedTokens(tf.tensor1d(Int32Array.from(lay.ids), "int32")) as tf.Tensor2D];
    for (const m of ["audio", "video"] as const) {
      const p = pack(m);
      if (p) parts.push(p);
    }
    parts.push(tf.zeros([1, D]));
    const table = tf.concat(parts, 0) as tf.Tensor2D;
    const B = lay.rows.length;
    const L = Math.max(...lay.rows.map((r) => r.length));
    const idx = new Int32Array(B * L).fill(lay.zeroRow);
    const starts = lay.rows.map((r) => (pad === "left" ? L - r.length : 0));
    lay.rows.forEach((r, b) => idx.set(r, b * L + starts[b]!));
    return { embeds: tf.reshape(gatherRows(table, tf.tensor1d(idx, "int32")), [B, L, D]) as tf.Tensor3D, starts };
  }

  private static spanLens(spans: ModalitySpans): { audio?: number[]; video?: number[] } {
    return { audio: spans.audio?.map((t) => t.shape[0]), video: spans.video?.map((t) => t.shape[0]) };
  }

  /** Right-padded training batch (zeros after each sequence). Call inside tf.tidy. */
  trainInputs(samples: readonly AvsrSample[], task: Task, rates: Rates, spans: ModalitySpans = this.modalitySpans(samples, task, rates)): TrainInputs {
    const lay = this.layout(samples, task, AvsrModel.spanLens(spans), true);
    const { embeds } = this.gatherBatch(lay, spans, task, "right");
    const L = embeds.shape[1];
    const y = new Int32Array(samples.length * L).fill(IGNORE);
    lay.targets.forEach((t, b) => y.set(t, b * L));
    return { embeds, targets: y, lengths: lay.rows.map((r) => r.length) };
  }

  /** Mean cross-entropy over transcript+EOS tokens of one task pass (a scalar). */
  loss(samples: readonly AvsrSample[], task: Task, rates: Rates, extra: Omit<ForwardContext, "adapters"> = {}): tf.Scalar {
    return tf.tidy(() => {
      const inp = this.trainInputs(samples, task, rates);
      const out = this.llm.forward({ embeds: inp.embeds }, { ctx: this.contextFor(task, extra) });
      return maskedCrossEntropy(out.logits!, inp.targets);
    });
  }

  /** Left-padded prompt batch for decoding (no transcript). Call inside tf.tidy or dispose the result. */
  decodePrefix(samples: readonly AvsrSample[], task: Task, rates: Rates): DecodePrefix {
    return tf.tidy(() => {
      const spans = this.modalitySpans(samples, task, rates);
      const lay = this.layout(samples, task, AvsrModel.spanLens(spans), false);
      const { embeds, starts } = this.gatherBatch(lay, spans, task, "left");
      return { embeds, validFrom: starts };
    });
  }

  /** Trainable parameters (projectors and LoRA adapters). */
  trainableCount(): number {
    return this.numParams(true);
  }
}
