/**
 * A Llama-architecture decoder, read top to bottom like nanoGPT's model.py: the config, RMSNorm,
 * rotary position embeddings, causal self-attention (optional grouped-query attention, KV cache),
 * the SwiGLU MLP, the block, the model, and weight initialisation in one place.
 *
 * Parameter names follow Hugging Face's Llama (`embed_tokens`, `layers.i.self_attn.q_proj`,
 * `layers.i.mlp.gate_proj`, `layers.i.input_layernorm`, `norm`, `lm_head`) so LoRA targets read as in
 * the paper (q_proj, v_proj). Linear weights are [in, out] (see nn.ts).
 *
 * The forward pass accepts token ids or input embeddings (so projected audio/video tokens can be
 * spliced into the sequence), an optional KV cache (decoding), and per-row `validFrom` offsets for
 * left-padded batches: row b's keys before validFrom[b] are masked and its positions start at 0 there,
 * so a left-padded batch computes exactly what each row would compute alone.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.js";
import { attention, rmsNorm, rope, softmaxCrossEntropy, swiglu } from "../backend/native/ops.js";
import { ForwardContext, embeddingLookup, Linear, LinearLike, Module, ModuleList, normalValues } from "./nn.js";

// ---- config -------------------------------------------------------------------------------------

export interface LlmConfig {
  vocabSize: number;
  /** Model width (hidden size). */
  dim: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads; < nHeads gives grouped-query attention (must divide nHeads). */
  nKvHeads: number;
  /** SwiGLU hidden width. */
  ffnDim: number;
  /** Longest sequence the rotary tables cover. */
  maxSeqLen: number;
  ropeTheta: number;
  normEps: number;
  /** lm_head shares the embedding matrix (as Llama 3.2 1B does). */
  tieEmbeddings: boolean;
}

export type LlmSize = "tiny" | "small" | "base";

/**
 * Three sizes spanning about 10x in parameters (see `llmParamCount`; with a 1,024-token vocabulary and
 * tied embeddings: tiny 403,104, small 1,404,320, base 4,689,152; without the embedding matrix
 * 304,800 / 1,240,480 / 4,427,008).
 */
export const LLM_SIZES: Record<LlmSize, Omit<LlmConfig, "vocabSize">> = {
  tiny: { dim: 96, nLayers: 3, nHeads: 4, nKvHeads: 2, ffnDim: 256, maxSeqLen: 512, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true },
  small: { dim: 160, nLayers: 4, nHeads: 5, nKvHeads: 5, ffnDim: 432, maxSeqLen: 512, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true },
  base: { dim: 256, nLayers: 6, nHeads: 8, nKvHeads: 4, ffnDim: 704, maxSeqLen: 512, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true },
};

export function llmConfig(size: LlmSize, vocabSize: number, overrides: Partial<LlmConfig> = {}): LlmConfig {
  return { ...LLM_SIZES[size], vocabSize, ...overrides };
}

export function headDim(c: LlmConfig): number {
  return c.dim / c.nHeads;
}

/** Closed-form parameter count (checked against the built model in the tests). */
export function llmParamCount(c: LlmConfig): number {
  const hd = headDim(c);
  const attn = c.dim * c.nHeads * hd * 2 + c.dim * c.nKvHeads * hd * 2;
  const mlp = 3 * c.dim * c.ffnDim;
  const norms = 2 * c.dim;
  const emb = c.vocabSize * c.dim * (c.tieEmbeddings ? 1 : 2);
  return c.nLayers * (attn + mlp + norms) + c.dim + emb;
}

function validateConfig(c: LlmConfig): void {
  if (c.dim % c.nHeads !== 0) throw new Error(`dim ${c.dim} not divisible by nHeads ${c.nHeads}`);
  if (c.nHeads % c.nKvHeads !== 0) throw new Error(`nHeads ${c.nHeads} not divisible by nKvHeads ${c.nKvHeads}`);
  if (headDim(c) % 2 !== 0) throw new Error(`head dim ${headDim(c)} must be even for RoPE`);
}

// ---- RMSNorm ------------------------------------------------------------------------------------

export class RMSNorm extends Module {
  readonly weight: tf.Variable;
  constructor(
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.addParam("weight", tf.ones([dim]));
  }
  /** x · rsqrt(mean(x²) + eps) · weight over the last axis (one fused kernel on `native`). */
  apply(x: tf.Tensor): tf.Tensor {
    return rmsNorm(x, this.weight, this.eps, { frozen: !this.weight.trainable });
  }
}

// ---- rotary position embeddings -----------------------------------------------------------------

/** cos/sin tables [maxSeqLen, headDim/2] with inverse frequencies theta^(-2i/headDim). */
export function ropeTables(hd: number, maxSeqLen: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = hd / 2;
  const cos = new Float32Array(maxSeqLen * half);
  const sin = new Float32Array(maxSeqLen * half);
  for (let p = 0; p < maxSeqLen; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * Math.pow(theta, (-2 * i) / hd);
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/**
 * Rotates x [B, H, T, hd] by angles whose cos/sin are [B, 1, T, hd/2], in the "rotate half" layout of
 * Hugging Face Llama: pairs are (x[i], x[i + hd/2]). (The attention layer rotates its [B, T, H, hd]
 * projections with ops.rope directly, before any transpose.)
 */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(rope(tf.transpose(x, [0, 2, 1, 3]) as tf.Tensor4D, cos, sin), [0, 2, 1, 3]) as tf.Tensor4D);
}

/** Positions [B, T] of new tokens: start + t, shifted to start at 0 from each row's validFrom. */
export function positionIds(batch: number, len: number, start: number, validFrom?: readonly number[]): Int32Array {
  const out = new Int32Array(batch * len);
  for (let b = 0; b < batch; b++) {
    const off = validFrom ? validFrom[b]! : 0;
    for (let t = 0; t < len; t++) out[b * len + t] = Math.max(0, start + t - off);
  }
  return out;
}

/**
 * Additive attention mask [B or 1, 1, T, past + T]: 0 where query t (absolute index past + t) may see
 * key j (j <= past + t and j >= validFrom[b]), a large negative number elsewhere.
 */
export function attentionMask(batch: number, len: number, past: number, validFrom?: readonly number[]): tf.Tensor4D {
  const rows = validFrom ? batch : 1;
  const tk = past + len;
  const m = new Float32Array(rows * len * tk);
  for (let b = 0; b < rows; b++) {
    const off = validFrom ? validFrom[b]! : 0;
    for (let t = 0; t < len; t++) {
      const q = past + t;
      for (let j = 0; j < tk; j++) m[(b * len + t) * tk + j] = j <= q && j >= off ? 0 : -1e9;
    }
  }
  return tf.tensor4d(m, [rows, 1, len, tk]);
}

// ---- attention ----------------------------------------------------------------------------------

export interface LayerCache {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
}

/**
 * Keys and values of every layer for the tokens seen so far: [B, nKvHeads, length, headDim] each.
 * A plain object, so `tf.tidy` can return it and `tf.dispose` can free it.
 */
export interface KVCache {
  layers: LayerCache[];
  /** Tokens already in the cache (the absolute index of the next token). */
  length: number;
  /** Per-row first valid key index (left padding), or null when no row is padded. */
  validFrom: number[] | null;
}

export function disposeCache(cache: KVCache | undefined): void {
  if (cache) for (const l of cache.layers) tf.dispose([l.k, l.v]);
}

/** Reorders/duplicates the rows of a cache (beam search); returns a new cache, the old one is kept. */
export function selectCacheRows(cache: KVCache, rows: readonly number[]): KVCache {
  const idx = tf.tensor1d(Int32Array.from(rows), "int32");
  const layers = cache.layers.map((l) => ({ k: tf.gather(l.k, idx) as tf.Tensor4D, v: tf.gather(l.v, idx) as tf.Tensor4D }));
  idx.dispose();
  return { layers, length: cache.length, validFrom: cache.validFrom ? rows.map((r) => cache.validFrom![r]!) : null };
}

export class Attention extends Module {
  readonly hd: number;
  constructor(readonly c: LlmConfig) {
    super();
    this.hd = headDim(c);
    this.addModule("q_proj", new Linear(c.dim, c.nHeads * this.hd));
    this.addModule("k_proj", new Linear(c.dim, c.nKvHeads * this.hd));
    this.addModule("v_proj", new Linear(c.dim, c.nKvHeads * this.hd));
    this.addModule("o_proj", new Linear(c.nHeads * this.hd, c.dim));
  }

  private proj(name: string): LinearLike {
    return this.child(name) as unknown as LinearLike;
  }

  /**
   * x [B, T, dim]; cos/sin [B or 1, 1, T, hd/2]; mask [B or 1, 1, T, past + T] (attentionMask), or
   * null for the plain causal mask (query t sees keys j <= past + t: what attentionMask gives without
   * validFrom, applied by the attention op without a mask tensor); past keys/values optional.
   * Returns the output and, when `keepKv` (default) or with `past`, this layer's full keys/values
   * (past + new, [B, nKvHeads, past + T, hd]) for a KV cache.
   *
   * The projections are rotated (RoPE) and attended in the [B, T, heads, hd] layout a reshape gives,
   * with grouped-query attention done by the attention op itself (no transposes, no repeated keys;
   * one fused kernel each on `native`). With a cache the keys/values are kept [B, heads, T, hd].
   */
  apply(
    x: tf.Tensor3D,
    cos: tf.Tensor,
    sin: tf.Tensor,
    mask: tf.Tensor4D | null,
    past: LayerCache | undefined,
    ctx?: ForwardContext,
    keepKv = true,
  ): { out: tf.Tensor3D; k?: tf.Tensor4D; v?: tf.Tensor4D } {
    const [B, T] = x.shape;
    const masking = mask ? { mask } : { causal: true };
    const { nHeads, nKvHeads } = this.c;
    const hd = this.hd;
    const heads = (t: tf.Tensor, h: number) => tf.reshape(t, [B, T, h, hd]) as tf.Tensor4D;
    const q = rope(heads(this.proj("q_proj").apply(x, ctx), nHeads), cos, sin);
    const k = rope(heads(this.proj("k_proj").apply(x, ctx), nKvHeads), cos, sin);
    const v = heads(this.proj("v_proj").apply(x, ctx), nKvHeads);
    const toHeadsFirst = (t: tf.Tensor4D) => tf.transpose(t, [0, 2, 1, 3]) as tf.Tensor4D;
    let y: tf.Tensor4D; // [B, T, nHeads, hd]
    let kAll: tf.Tensor4D | undefined;
    let vAll: tf.Tensor4D | undefined;
    if (past) {
      kAll = tf.concat([past.k, toHeadsFirst(k)], 2) as tf.Tensor4D;
      vAll = tf.concat([past.v, toHeadsFirst(v)], 2) as tf.Tensor4D;
      y = toHeadsFirst(attention(toHeadsFirst(q), kAll, vAll, { ...masking, scale: 1 / Math.sqrt(hd) }));
    } else {
      y = attention(q, k, v, { ...masking, scale: 1 / Math.sqrt(hd), layout: "BTHD" });
      if (keepKv) {
        kAll = toHeadsFirst(k);
        vAll = toHeadsFirst(v);
      }
    }
    const merged = tf.reshape(y, [B, T, nHeads * hd]);
    const out = this.proj("o_proj").apply(merged, ctx) as tf.Tensor3D;
    return { out, k: kAll, v: vAll };
  }
}

// ---- SwiGLU MLP ---------------------------------------------------------------------------------

export class Mlp extends Module {
  constructor(readonly c: LlmConfig) {
    super();
    this.addModule("gate_proj", new Linear(c.dim, c.ffnDim));
    this.addModule("up_proj", new Linear(c.dim, c.ffnDim));
    this.addModule("down_proj", new Linear(c.ffnDim, c.dim));
  }
  apply(x: tf.Tensor, ctx?: ForwardContext): tf.Tensor {
    const p = (n: string) => this.child(n) as unknown as LinearLike;
    // silu(gate) · up, one fused kernel on `native`
    return p("down_proj").apply(swiglu(p("gate_proj").apply(x, ctx), p("up_proj").apply(x, ctx)), ctx);
  }
}

// ---- block --------------------------------------------------------------------------------------

export class Block extends Module {
  readonly attn: Attention;
  readonly mlp: Mlp;
  readonly ln1: RMSNorm;
  readonly ln2: RMSNorm;
  constructor(c: LlmConfig) {
    super();
    this.ln1 = this.addModule("input_layernorm", new RMSNorm(c.dim, c.normEps));
    this.attn = this.addModule("self_attn", new Attention(c));
    this.ln2 = this.addModule("post_attention_layernorm", new RMSNorm(c.dim, c.normEps));
    this.mlp = this.addModule("mlp", new Mlp(c));
  }
  apply(
    x: tf.Tensor3D,
    cos: tf.Tensor,
    sin: tf.Tensor,
    mask: tf.Tensor4D | null,
    past: LayerCache | undefined,
    ctx?: ForwardContext,
    keepKv = true,
  ): { out: tf.Tensor3D; k?: tf.Tensor4D; v?: tf.Tensor4D } {
    const a = this.attn.apply(this.ln1.apply(x) as tf.Tensor3D, cos, sin, mask, past, ctx, keepKv);
    const h = tf.add(x, a.out) as tf.Tensor3D;
    const out = tf.add(h, this.mlp.apply(this.ln2.apply(h), ctx)) as tf.Tensor3D;
    return { out, k: a.k, v: a.v };
  }
}

// ---- the model ----------------------------------------------------------------------------------

export interface LlmInput {
  /** Token ids [B, T] (int32). */
  ids?: tf.Tensor2D;
  /** Input embeddings [B, T, dim]; used instead of ids when given. */
  embeds?: tf.Tensor3D;
}

export interface LlmForwardOptions {
  /** Past keys/values; when given (even empty, see `emptyCache`), the result carries the grown cache. */
  cache?: KVCache;
  /**
   * Per-row first valid index for left-padded input; with a cache, the cache's own validFrom wins.
   */
  validFrom?: readonly number[];
  ctx?: ForwardContext;
  /** Which logits to compute: every position (default), only the last, or none (hidden states only). */
  logits?: "all" | "last" | "none";
}

export interface LlmOutput {
  /** [B, T, vocab] ("all") or [B, 1, vocab] ("last"). */
  logits?: tf.Tensor3D;
  /** Final normalised hidden states [B, T, dim]. */
  hidden: tf.Tensor3D;
  cache?: KVCache;
}

export function emptyCache(validFrom?: readonly number[]): KVCache {
  return { layers: [], length: 0, validFrom: validFrom ? [...validFrom] : null };
}

export class Llm extends Module {
  readonly blocks: Block[] = [];
  readonly embed: tf.Variable;
  readonly norm: RMSNorm;
  readonly lmHead?: tf.Variable;
  private readonly cosTable: tf.Tensor2D;
  private readonly sinTable: tf.Tensor2D;

  constructor(
    readonly config: LlmConfig,
    rng?: Rng,
  ) {
    super();
    validateConfig(config);
    const c = config;
    this.embed = this.addParam("embed_tokens.weight", tf.zeros([c.vocabSize, c.dim]));
    const layers = this.addModule("layers", new ModuleList<Block>());
    for (let i = 0; i < c.nLayers; i++) this.blocks.push(layers.push(new Block(c)));
    this.norm = this.addModule("norm", new RMSNorm(c.dim, c.normEps));
    if (!c.tieEmbeddings) this.lmHead = this.addParam("lm_head.weight", tf.zeros([c.dim, c.vocabSize]));
    const { cos, sin } = ropeTables(headDim(c), c.maxSeqLen, c.ropeTheta);
    this.cosTable = tf.tensor2d(cos, [c.maxSeqLen, headDim(c) / 2]);
    this.sinTable = tf.tensor2d(sin, [c.maxSeqLen, headDim(c) / 2]);
    if (rng) initLlmWeights(this, rng);
  }

  /** Embeddings [.., dim] of token ids. */
  embedTokens(ids: tf.Tensor): tf.Tensor {
    return embeddingLookup(this.embed, ids);
  }

  forward(input: LlmInput, opts: LlmForwardOptions = {}): LlmOutput {
    const x0 = input.embeds ?? (input.ids ? (this.embedTokens(input.ids) as tf.Tensor3D) : undefined);
    if (!x0) throw new Error("Llm.forward: give ids or embeds");
    const [B, T] = x0.shape;
    const past = opts.cache;
    const start = past ? past.length : 0;
    const validFrom = past ? (past.validFrom ?? undefined) : opts.validFrom;
    if (start + T > this.config.maxSeqLen) {
      throw new Error(`sequence length ${start + T} exceeds maxSeqLen ${this.config.maxSeqLen}`);
    }
    const pos = tf.tensor2d(positionIds(B, T, start, validFrom), [B, T], "int32");
    const hd2 = headDim(this.config) / 2;
    const cos = tf.reshape(tf.gather(this.cosTable, pos), [B, 1, T, hd2]);
    const sin = tf.reshape(tf.gather(this.sinTable, pos), [B, 1, T, hd2]);
    // without left padding the mask is plain causal: no mask tensor (the attention op masks exactly)
    const mask = validFrom ? attentionMask(B, T, start, validFrom) : null;
    let x: tf.Tensor3D = x0;
    const layers: LayerCache[] = [];
    this.blocks.forEach((blk, i) => {
      const r = blk.apply(x, cos, sin, mask, past?.layers[i], opts.ctx, past !== undefined);
      x = r.out;
      if (past) layers.push({ k: r.k!, v: r.v! });
    });
    const hidden = this.norm.apply(x) as tf.Tensor3D;
    let logits: tf.Tensor3D | undefined;
    const which = opts.logits ?? "all";
    if (which !== "none") {
      const h = which === "last" ? (tf.slice(hidden, [0, T - 1, 0], [B, 1, -1]) as tf.Tensor3D) : hidden;
      logits = this.logitsOf(h);
    }
    const out: LlmOutput = { hidden, logits };
    if (past) out.cache = { layers, length: start + T, validFrom: validFrom ? [...validFrom] : null };
    return out;
  }

  /** Vocabulary logits of hidden states [B, T, dim]. */
  logitsOf(h: tf.Tensor3D): tf.Tensor3D {
    const [B, T, D] = h.shape;
    const flat = tf.reshape(h, [B * T, D]) as tf.Tensor2D;
    const l = this.lmHead ? tf.matMul(flat, this.lmHead as tf.Tensor2D) : tf.matMul(flat, this.embed as tf.Tensor2D, false, true);
    return tf.reshape(l, [B, T, this.config.vocabSize]) as tf.Tensor3D;
  }

  override dispose(): void {
    super.dispose();
    tf.dispose([this.cosTable, this.sinTable]);
  }
}

/**
 * Weight initialisation, in one place (GPT-2/nanoGPT scheme): every matrix N(0, 0.02), the two
 * projections that write into the residual stream (o_proj, down_proj) N(0, 0.02/sqrt(2·nLayers)),
 * norms 1. Values come from `rng`, so a seed fixes the model.
 */
export function initLlmWeights(model: Llm, rng: Rng, std = 0.02): void {
  const residualStd = std / Math.sqrt(2 * model.config.nLayers);
  for (const [name, v] of model.namedParameters()) {
    let t: tf.Tensor;
    if (name.endsWith("layernorm.weight") || name === "norm.weight") t = tf.ones(v.shape);
    else if (name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight")) t = normalValues(rng, v.shape, residualStd);
    else t = normalValues(rng, v.shape, std);
    v.assign(t);
    t.dispose();
  }
}

// ---- losses -------------------------------------------------------------------------------------

/** Marks a position that contributes no loss. */
export const IGNORE = -1;

/**
 * Mean next-token cross-entropy over the positions whose target is not IGNORE (as Hugging Face's
 * loss with ignore_index): logits [B, T, V], targets [B, T] already aligned (targets[t] is the token
 * that logits[t] should predict). Returns a scalar; 0 when no position counts.
 */
export function maskedCrossEntropy(logits: tf.Tensor3D, targets: Int32Array | readonly number[]): tf.Scalar {
  const [B, T, V] = logits.shape;
  if (targets.length !== B * T) throw new Error(`targets length ${targets.length} != ${B * T}`);
  const mask = new Float32Array(B * T);
  const safe = new Int32Array(B * T);
  let count = 0;
  for (let i = 0; i < B * T; i++) {
    const t = targets[i]!;
    if (t !== IGNORE) {
      if (t < 0 || t >= V) throw new Error(`target ${t} out of range [0, ${V})`);
      mask[i] = 1;
      safe[i] = t;
      count++;
    }
  }
  // logSoftmax · oneHot, masked mean (one fused kernel each way on `native`)
  return tf.tidy(() => softmaxCrossEntropy(tf.reshape(logits, [B * T, V]) as tf.Tensor2D, safe, mask, Math.max(1, count)));
}

/** Next-token targets for plain LM training: targets[t] = ids[t+1], IGNORE at the end and on `pad`. */
export function nextTokenTargets(ids: readonly number[][], pad: number): { ids: Int32Array; targets: Int32Array; B: number; T: number } {
  const B = ids.length;
  const T = Math.max(...ids.map((r) => r.length));
  const x = new Int32Array(B * T).fill(pad);
  const y = new Int32Array(B * T).fill(IGNORE);
  ids.forEach((row, b) => {
    row.forEach((tok, t) => {
      x[b * T + t] = tok;
      if (t + 1 < row.length) y[b * T + t] = row[t + 1]!;
    });
  });
  return { ids: x, targets: y, B, T };
}

/** Language-model loss of token rows (right-padded internally). */
export function lmLoss(model: Llm, rows: readonly number[][], pad: number, ctx?: ForwardContext): tf.Scalar {
  const { ids, targets, B, T } = nextTokenTargets(rows, pad);
  return tf.tidy(() => {
    const out = model.forward({ ids: tf.tensor2d(ids, [B, T], "int32") }, { ctx });
    return maskedCrossEntropy(out.logits!, targets);
  });
}
