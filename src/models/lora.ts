/**
 * LoRA in the style of peft's `tuners/lora`: a `LoraConfig`, a `LoraLinear` wrapper that keeps the
 * frozen base layer and holds adapters BY NAME, and an active-adapter set chosen per forward pass
 * (`ctx.adapters`). The three Omni-AVSR strategies are only choices of adapter names and active sets:
 *
 *   S  (Omni-LoRA-S):  adapters {shared};               active {shared}
 *   T  (Omni-LoRA-T):  adapters {asr, vsr, avsr};       active {task}
 *   ST (Omni-LoRA-ST): adapters {asr, vsr, avsr, shared}; active {task, shared}  (outputs summed)
 *
 * y = base(x) + Σ_{a ∈ active} scaling · (dropout(x) · A_a) · B_a,  scaling = alpha / r,
 * A_a: [in, r] (down), B_a: [r, out] (up). One side starts at zero so training starts from the base
 * model: by default B (peft's convention); `zeroInit: "down"` zeroes A instead, as the reference code
 * does (its `lora_down` is zero-initialised and `lora_up` kaiming-uniform).
 *
 * Note on the reference's numbers: its `--rank` is a reduction factor (bottleneck = hidden / rank) and
 * its scaling is alpha / rank; the paper's setting (--rank 32 --alpha 4 on a 2048-wide Llama) is a true
 * rank 64 with scaling 0.125. `loraConfigLikeReference` converts.
 */
import * as tf from "@tensorflow/tfjs";
import { loraLinear } from "../backend/native/ops.js";
import { Rng } from "../util/rng.js";
import { ForwardContext, kaimingUniformValues, Linear, LinearLike, Module, dropout, matmulLast } from "./nn.js";

export interface LoraConfig {
  /** Rank of each adapter. */
  r: number;
  /** scaling = alpha / r. */
  alpha: number;
  /** Names of the linear layers to wrap (last component of the module path), e.g. ["q_proj", "v_proj"]. */
  targets: string[];
  /** Dropout on the adapter input (training only). */
  dropout: number;
  /** Which factor starts at zero. */
  zeroInit?: "up" | "down";
}

export const DEFAULT_LORA: LoraConfig = { r: 8, alpha: 1, targets: ["q_proj", "v_proj"], dropout: 0, zeroInit: "up" };

/**
 * The reference's parameterisation: bottleneck = round(hidden / reduction), scaling = alpha / reduction.
 * E.g. (2048, 32, 4) -> r 64, scaling 0.125 (the paper's Llama 3.2-1B setting).
 */
export function loraConfigLikeReference(hidden: number, reduction = 32, alphaRef = 4, targets = ["q_proj", "v_proj"]): LoraConfig {
  const r = Math.max(1, Math.round(hidden / reduction));
  return { r, alpha: (r * alphaRef) / reduction, targets, dropout: 0, zeroInit: "down" };
}

export class LoraAdapter extends Module {
  readonly down: tf.Variable;
  readonly up: tf.Variable;
  constructor(inDim: number, outDim: number, readonly cfg: LoraConfig, rng: Rng) {
    super();
    const zeroUp = (cfg.zeroInit ?? "up") === "up";
    // kaiming_uniform(a = sqrt(5)) on the non-zero factor, as peft and the reference do
    this.down = this.addParam("down", zeroUp ? kaimingUniformValues(rng, [inDim, cfg.r], inDim) : tf.zeros([inDim, cfg.r]));
    this.up = this.addParam("up", zeroUp ? tf.zeros([cfg.r, outDim]) : kaimingUniformValues(rng, [cfg.r, outDim], cfg.r));
  }
  get scaling(): number {
    return this.cfg.alpha / this.cfg.r;
  }
  /** The dense update scaling · A·B [in, out]. */
  delta(): tf.Tensor2D {
    return tf.mul(tf.matMul(this.down as tf.Tensor2D, this.up as tf.Tensor2D), this.scaling);
  }
}

export class LoraLinear extends Module implements LinearLike {
  readonly inDim: number;
  readonly outDim: number;
  readonly adapters = new Map<string, LoraAdapter>();

  constructor(readonly base: Linear) {
    super();
    this.inDim = base.inDim;
    this.outDim = base.outDim;
    this.addModule("base", base);
    base.freeze();
  }

  addAdapter(name: string, cfg: LoraConfig, rng: Rng): LoraAdapter {
    if (this.adapters.has(name)) throw new Error(`adapter ${name} exists`);
    const a = this.addModule(`lora_${name}`, new LoraAdapter(this.inDim, this.outDim, cfg, rng));
    this.adapters.set(name, a);
    return a;
  }

  apply(x: tf.Tensor, ctx?: ForwardContext): tf.Tensor {
    // adapters live on the targets only; other layers ignore the name
    const active = (ctx?.adapters ?? []).map((n) => this.adapters.get(n)).filter((a): a is LoraAdapter => a !== undefined);
    const first = active[0];
    let y: tf.Tensor;
    let rest = active;
    if (first && !this.base.bias && !(ctx?.training && first.cfg.dropout > 0)) {
      // base + the first adapter as one op (one fused kernel each way on `native`; the frozen base
      // weight gets no gradient there), the same sum as below
      y = loraLinear(x, this.base.weight as tf.Tensor2D, first.down as tf.Tensor2D, first.up as tf.Tensor2D, first.scaling, { frozen: !this.base.weight.trainable });
      rest = active.slice(1);
    } else {
      y = this.base.apply(x, ctx);
    }
    for (const a of rest) {
      const h = dropout(x, a.cfg.dropout, ctx);
      y = tf.add(y, tf.mul(matmulLast(matmulLast(h, a.down), a.up), a.scaling));
    }
    return y;
  }

  /** Adds adapter `name`'s update to the base weight (W += scaling·A·B) and zeroes the adapter's up factor, so the layer's output is unchanged. */
  merge(name: string): void {
    const a = this.adapters.get(name);
    if (!a) throw new Error(`no adapter ${name}`);
    tf.tidy(() => {
      this.base.weight.assign(tf.add(this.base.weight, a.delta()));
      a.up.assign(tf.zerosLike(a.up));
    });
  }
}

export type LoraStrategy = "S" | "T" | "ST";
export type Task = "asr" | "vsr" | "avsr";
export const TASKS: readonly Task[] = ["asr", "vsr", "avsr"];
export const SHARED = "shared";

/** Adapter names a strategy creates. */
export function adapterNames(strategy: LoraStrategy): string[] {
  switch (strategy) {
    case "S":
      return [SHARED];
    case "T":
      return [...TASKS];
    case "ST":
      return [...TASKS, SHARED];
  }
}

/** The active adapters of one forward pass for a task. */
export function activeAdapters(strategy: LoraStrategy, task: Task): string[] {
  switch (strategy) {
    case "S":
      return [SHARED];
    case "T":
      return [task];
    case "ST":
      return [task, SHARED];
  }
}

/**
 * Wraps every linear layer of `model` whose name is in `cfg.targets` with a `LoraLinear` holding the
 * named adapters (peft's inject_adapter). The base layers are frozen. Returns the wrappers by path.
 */
export function injectLora(model: Module, cfg: LoraConfig, names: readonly string[], rng: Rng): Map<string, LoraLinear> {
  const wrapped = new Map<string, LoraLinear>();
  for (const [path, m] of model.namedModules()) {
    for (const [childName, child] of m.namedChildren()) {
      if (!cfg.targets.includes(childName) || !(child instanceof Linear)) continue;
      const w = new LoraLinear(child);
      for (const n of names) w.addAdapter(n, cfg, rng.fork(`${path}.${childName}.${n}`));
      m.replaceModule(childName, w);
      wrapped.set(path ? `${path}.${childName}` : childName, w);
    }
  }
  if (wrapped.size === 0) throw new Error(`injectLora: no linear layer named ${cfg.targets.join("/")}`);
  return wrapped;
}

/** Trainable LoRA parameters: nAdapters · Σ_wrapped r·(in + out). */
export function loraParamCount(layers: ReadonlyArray<{ inDim: number; outDim: number }>, r: number, nAdapters: number): number {
  return nAdapters * layers.reduce((s, l) => s + r * (l.inDim + l.outDim), 0);
}

/**
 * The same count for a Llama config with targets among q_proj/k_proj/v_proj/o_proj:
 * per layer r·(dim + nHeads·hd) for q/o, r·(dim + nKvHeads·hd) for k/v; times nLayers and nAdapters
 * (S: 1, T: 3, ST: 4).
 */
export function llmLoraParamCount(
  c: { dim: number; nLayers: number; nHeads: number; nKvHeads: number },
  cfg: Pick<LoraConfig, "r" | "targets">,
  strategy: LoraStrategy,
): number {
  const hd = c.dim / c.nHeads;
  const width: Record<string, number> = { q_proj: c.nHeads * hd, o_proj: c.nHeads * hd, k_proj: c.nKvHeads * hd, v_proj: c.nKvHeads * hd };
  let perLayer = 0;
  for (const t of cfg.targets) {
    const w = width[t];
    if (w === undefined) throw new Error(`llmLoraParamCount: unsupported target ${t}`);
    perLayer += cfg.r * (c.dim + w);
  }
  return adapterNames(strategy).length * c.nLayers * perLayer;
}
