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
import { nativeActive } from "../backend/native/ops.js";
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
   * Per-sample sequence embeddings [L_i, dim] and, with transcripts, next-token targets [L_i].
   * Call inside tf.tidy (the result is made of new tensors).
   */
  sequences(samples: readonly AvsrSample[], task: Task, rates: Rates, withTranscript: boolean, spans?: ModalitySpans): { embeds: tf.Tensor2D[]; targets: Int32Array[] } {
    const { audio, video } = spans ?? this.modalitySpans(samples, task, rates);
    const emb = (ids: readonly number[]) => this.llm.embedTokens(tf.tensor1d(Int32Array.from(ids), "int32")) as tf.Tensor2D;
    const embeds: tf.Tensor2D[] = [];
    const targets: Int32Array[] = [];
    samples.forEach((s, i) => {
      const parts: tf.Tensor2D[] = [emb([BOS_ID])];
      if (audio) parts.push(emb([AUDIO_START_ID]), audio[i]!, emb([AUDIO_END_ID]));
      if (video) parts.push(emb([VIDEO_START_ID]), video[i]!, emb([VIDEO_END_ID]));
      parts.push(emb(this.promptIds[task]));
      const prefixLen = parts.reduce((n, p) => n + p.shape[0], 0);
      let text: number[] = [];
      if (withTranscript) {
        if (!s.transcript) throw new Error("training sample without transcript");
        text = [...s.transcript, EOS_ID];
        if (s.transcript.length > 0) parts.push(emb(s.transcript));
        parts.push(emb([EOS_ID]));
      }
      const e = tf.concat(parts.filter((p) => p.shape[0] > 0), 0) as tf.Tensor2D;
      const L = e.shape[0];
      const y = new Int32Array(L).fill(IGNORE);
      // position prefixLen-1+k predicts text[k]
      text.forEach((tok, k) => (y[prefixLen - 1 + k] = tok));
      embeds.push(e);
      targets.push(y);
    });
    return { embeds, targets };
  }

  /** Right-padded training batch. Call inside tf.tidy. */
  trainInputs(samples: readonly AvsrSample[], task: Task, rates: Rates, spans?: ModalitySpans): TrainInputs {
    if (nativeActive()) return this.gatheredTrainInputs(samples, task, rates, spans ?? this.modalitySpans(samples, task, rates));
    const { embeds, targets } = this.sequences(samples, task, rates, true, spans);
    const lengths = embeds.map((e) => e.shape[0]);
    const L = Math.max(...lengths);
    const D = this.cfg.llm.dim;
    const padded = embeds.map((e) => (e.shape[0] < L ? tf.concat([e, tf.zeros([L - e.shape[0], D])], 0) : e));
    const y = new Int32Array(samples.length * L).fill(IGNORE);
    targets.forEach((t, b) => y.set(t, b * L));
    return { embeds: tf.stack(padded) as tf.Tensor3D, targets: y, lengths };
  }

  /**
   * trainInputs as one gather (the native backend's path; the same tensor and targets): every token
   * embedding of the batch in one lookup, stacked with the packed modality tokens and a zero row, and
   * the [B, L, dim] batch picked row by row from that table. The backward pass is one segment sum
   * instead of a split per concatenation.
   */
  private gatheredTrainInputs(samples: readonly AvsrSample[], task: Task, rates: Rates, spans: ModalitySpans): TrainInputs {
    const use = taskUses(task);
    const D = this.cfg.llm.dim;
    const pack = (list: tf.Tensor2D[] | undefined, packed: tf.Tensor2D | undefined) =>
      packed ?? (list ? (list.length === 1 ? list[0]! : (tf.concat(list, 0) as tf.Tensor2D)) : undefined);
    const packed = {
      audio: use.audio ? pack(spans.audio, spans.packed?.audio) : undefined,
      video: use.video ? pack(spans.video, spans.packed?.video) : undefined,
    };
    const spanLens = {
      audio: use.audio ? spans.audio!.map((t) => t.shape[0]) : [],
      video: use.video ? spans.video!.map((t) => t.shape[0]) : [],
    };
    // Every sample's rows as references into one table: token k of `ids`, or row r of a modality's
    // packed tokens; targets as in sequences() (position prefixLen-1+k predicts text[k]).
    const ids: number[] = [];
    type Ref = { kind: "tok" | "audio" | "video"; at: number };
    const rowsOf: Ref[][] = [];
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
        tokens([start], refs);
        for (let r = 0; r < spanLens[m][i]!; r++) refs.push({ kind: m, at: off[m] + r });
        off[m] += spanLens[m][i]!;
        tokens([end], refs);
      }
      tokens(this.promptIds[task], refs);
      const prefixLen = refs.length;
      if (!s.transcript) throw new Error("training sample without transcript");
      const text = [...s.transcript, EOS_ID];
      tokens(text, refs);
      const y = new Int32Array(refs.length).fill(IGNORE);
      text.forEach((tok, k) => (y[prefixLen - 1 + k] = tok));
      rowsOf.push(refs);
      targets.push(y);
    });
    const lengths = rowsOf.map((r) => r.length);
    const L = Math.max(...lengths);
    const B = samples.length;
    const base = { tok: 0, audio: ids.length, video: ids.length + (packed.audio?.shape[0] ?? 0) };
    const zeroRow = base.video + (packed.video?.shape[0] ?? 0);
    const idx = new Int32Array(B * L).fill(zeroRow); // padding: the zero row
    rowsOf.forEach((refs, b) => refs.forEach((r, p) => (idx[b * L + p] = base[r.kind] + r.at)));
    const parts: tf.Tensor2D[] = [this.llm.embedTokens(tf.tensor1d(Int32Array.from(ids), "int32")) as tf.Tensor2D];
    if (packed.audio) parts.push(packed.audio);
    if (packed.video) parts.push(packed.video);
    parts.push(tf.zeros([1, D]));
    const table = tf.concat(parts, 0) as tf.Tensor2D;
    const embeds = tf.reshape(gatherRows(table, tf.tensor1d(idx, "int32")), [B, L, D]) as tf.Tensor3D;
    const y = new Int32Array(B * L).fill(IGNORE);
    targets.forEach((t, b) => y.set(t, b * L));
    return { embeds, targets: y, lengths };
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
      const { embeds } = this.sequences(samples, task, rates, false);
      const L = Math.max(...embeds.map((e) => e.shape[0]));
      const D = this.cfg.llm.dim;
      const validFrom = embeds.map((e) => L - e.shape[0]);
      const padded = embeds.map((e) => (e.shape[0] < L ? tf.concat([tf.zeros([L - e.shape[0], D]), e], 0) : e));
      return { embeds: tf.stack(padded) as tf.Tensor3D, validFrom };
    });
  }

  /** Trainable parameters (projectors and LoRA adapters). */
  trainableCount(): number {
    return this.numParams(true);
  }
}
