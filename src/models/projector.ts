/**
 * Projectors from compressed encoder features to the LLM's embedding space: one 2-layer MLP per
 * modality and rate, Linear(in → hidden) → ReLU → Linear(hidden → LLM dim), as the paper
 * (hidden 2048 there). With "stack" compression the input width is r·encoderDim.
 *
 * (The reference code, in one branch, passes a LayerNorm as the `bias` argument of a Linear; that is a
 * bug, not a design, and is not reproduced: no LayerNorm here.)
 */
import * as tf from "@tensorflow/tfjs";
import { linear, nativeActive } from "../backend/native/ops.js";
import { Rng } from "../util/rng.js";
import { Linear, Module, ModuleDict } from "./nn.js";
import { CompressionMode, compressedDim } from "./compression.js";

export type Modality = "audio" | "video";

export class Projector extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(
    readonly inDim: number,
    readonly hiddenDim: number,
    readonly outDim: number,
    rng: Rng,
  ) {
    super();
    // PyTorch nn.Linear default initialisation (uniform ±1/sqrt(fan_in), weights and biases)
    this.fc1 = this.addModule("fc1", new Linear(inDim, hiddenDim, { bias: true, rng }));
    this.fc2 = this.addModule("fc2", new Linear(hiddenDim, outDim, { bias: true, rng }));
  }
  /**
   * fc2(relu(fc1(x))). On `native` fc1 + ReLU is one fused kernel; `inputIsData` (x is encoder
   * features, never differentiated) lets fc1's backward skip the input gradient.
   */
  apply(x: tf.Tensor, opts: { inputIsData?: boolean } = {}): tf.Tensor {
    if (nativeActive() && !this.fc1.frozen()) {
      const h = linear(x, this.fc1.weight as tf.Tensor2D, this.fc1.bias as tf.Tensor1D | undefined, "relu", { noInputGrad: opts.inputIsData });
      return this.fc2.apply(h);
    }
    return this.fc2.apply(tf.relu(this.fc1.apply(x)));
  }
}

export function projectorKey(modality: Modality, rate: number): string {
  return `${modality}_r${rate}`;
}

export interface ProjectorBankConfig {
  audioDim: number;
  videoDim: number;
  audioRates: readonly number[];
  videoRates: readonly number[];
  hiddenDim: number;
  llmDim: number;
  mode: CompressionMode;
}

/** One projector per modality and rate, named `audio_r4`, `video_r2`, ... */
export class ProjectorBank extends ModuleDict<Projector> {
  constructor(
    readonly cfg: ProjectorBankConfig,
    rng: Rng,
  ) {
    super();
    for (const r of cfg.audioRates) {
      this.set(projectorKey("audio", r), new Projector(compressedDim(cfg.audioDim, r, cfg.mode), cfg.hiddenDim, cfg.llmDim, rng.fork(`audio${r}`)));
    }
    for (const r of cfg.videoRates) {
      this.set(projectorKey("video", r), new Projector(compressedDim(cfg.videoDim, r, cfg.mode), cfg.hiddenDim, cfg.llmDim, rng.fork(`video${r}`)));
    }
  }
  of(modality: Modality, rate: number): Projector {
    return this.get(projectorKey(modality, rate));
  }
}
