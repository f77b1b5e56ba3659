/**
 * The few building blocks every model file shares: a `Module` that owns named `tf.Variable`s and child
 * modules (so parameters, freezing and checkpoint names are explicit, as in torch's nn.Module), a
 * `Linear` layer, seeded initialisers, and dropout driven by the project's `Rng`.
 *
 * Conventions:
 * - A `Linear` weight is stored as [in, out] (y = x W + b), i.e. transposed with respect to PyTorch's
 *   [out, in]; a loader of PyTorch weights transposes.
 * - Parameter names are dotted paths (`layers.0.self_attn.q_proj.weight`), the keys of checkpoints.
 * - Freezing sets `tf.Variable.trainable = false`; training code differentiates only trainable ones.
 * - All randomness (initial values, dropout masks) comes from an `Rng`, so a seed fixes the weights.
 */
import * as tf from "@tensorflow/tfjs";
import { linear, nativeActive } from "../backend/native/ops.js";
import { Rng } from "../util/rng.js";

/** What a forward pass needs besides its inputs. */
export interface ForwardContext {
  /** LoRA adapters active in this forward pass (peft's "active adapters"); none when absent. */
  adapters?: readonly string[];
  /** Enables dropout. */
  training?: boolean;
  /** Draws dropout masks; required when training with dropout > 0. */
  rng?: Rng;
}

/** Anything that maps [..., in] to [..., out]: a `Linear`, or a LoRA wrapper around one. */
export interface LinearLike {
  readonly inDim: number;
  readonly outDim: number;
  apply(x: tf.Tensor, ctx?: ForwardContext): tf.Tensor;
}

export class Module {
  private readonly ownParams = new Map<string, tf.Variable>();
  private readonly childModules = new Map<string, Module>();

  /** Registers a parameter (takes ownership of `init`, which is disposed). */
  protected addParam(name: string, init: tf.Tensor, trainable = true): tf.Variable {
    if (this.ownParams.has(name) || this.childModules.has(name)) throw new Error(`duplicate name ${name}`);
    const v = tf.variable(init, trainable);
    init.dispose();
    this.ownParams.set(name, v);
    return v;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    if (this.ownParams.has(name) || this.childModules.has(name)) throw new Error(`duplicate name ${name}`);
    this.childModules.set(name, m);
    return m;
  }

  /** Replaces a child module (used to wrap a frozen linear layer with LoRA); returns the old one. */
  replaceModule(name: string, m: Module): Module {
    const old = this.childModules.get(name);
    if (!old) throw new Error(`no child module ${name}`);
    this.childModules.set(name, m);
    return old;
  }

  child(name: string): Module | undefined {
    return this.childModules.get(name);
  }

  /** Direct children with their names. */
  namedChildren(): Array<[string, Module]> {
    return [...this.childModules.entries()];
  }

  /** Every module in the tree (depth first, self first) with its dotted path. */
  namedModules(prefix = ""): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [n, m] of this.childModules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** Every parameter in the tree with its dotted name, in a stable order. */
  namedParameters(prefix = ""): Array<[string, tf.Variable]> {
    const out: Array<[string, tf.Variable]> = [];
    for (const [n, v] of this.ownParams) out.push([prefix ? `${prefix}.${n}` : n, v]);
    for (const [n, m] of this.childModules) out.push(...m.namedParameters(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  parameterMap(): Map<string, tf.Variable> {
    return new Map(this.namedParameters());
  }

  trainableParameters(): Array<[string, tf.Variable]> {
    return this.namedParameters().filter(([, v]) => v.trainable);
  }

  numParams(trainableOnly = false): number {
    return this.namedParameters()
      .filter(([, v]) => !trainableOnly || v.trainable)
      .reduce((s, [, v]) => s + v.size, 0);
  }

  /** Sets every parameter of the tree to frozen (trainable = false). */
  freeze(): this {
    for (const [, v] of this.namedParameters()) v.trainable = false;
    return this;
  }

  unfreeze(): this {
    for (const [, v] of this.namedParameters()) v.trainable = true;
    return this;
  }

  /** Copies values into parameters by name (shapes must match); unknown names throw unless `strict` is false. */
  loadParameters(values: Map<string, tf.Tensor> | Record<string, tf.Tensor>, strict = true): void {
    const map = values instanceof Map ? values : new Map(Object.entries(values));
    const own = this.parameterMap();
    for (const [name, t] of map) {
      const v = own.get(name);
      if (!v) {
        if (strict) throw new Error(`loadParameters: unknown parameter ${name}`);
        continue;
      }
      if (!tf.util.arraysEqual(v.shape, t.shape)) {
        throw new Error(`loadParameters: ${name} has shape [${t.shape}], expected [${v.shape}]`);
      }
      v.assign(t);
    }
  }

  dispose(): void {
    for (const [, v] of this.ownParams) v.dispose();
    for (const [, m] of this.childModules) m.dispose();
    this.ownParams.clear();
    this.childModules.clear();
  }
}

// ---- seeded initial values ----------------------------------------------------------------------

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function normalValues(rng: Rng, shape: readonly number[], std: number, mean = 0): tf.Tensor {
  const n = sizeOf(shape);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal(mean, std);
  return tf.tensor(a, [...shape], "float32");
}

export function uniformValues(rng: Rng, shape: readonly number[], bound: number): tf.Tensor {
  const n = sizeOf(shape);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform(-bound, bound);
  return tf.tensor(a, [...shape], "float32");
}

/** PyTorch's default for nn.Linear weights (kaiming_uniform with a = sqrt(5)): U(-1/sqrt(in), 1/sqrt(in)). */
export function kaimingUniformValues(rng: Rng, shape: readonly number[], fanIn: number): tf.Tensor {
  return uniformValues(rng, shape, 1 / Math.sqrt(fanIn));
}

// ---- layers -------------------------------------------------------------------------------------

/** Applies a matrix to the last axis of a tensor of any rank >= 2. */
export function matmulLast(x: tf.Tensor, w: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  const lead = x.shape.slice(0, -1);
  const inDim = x.shape[x.shape.length - 1]!;
  const y = tf.matMul(tf.reshape(x, [-1, inDim]) as tf.Tensor2D, w as tf.Tensor2D);
  return tf.reshape(y, [...lead, w.shape[1]!]);
}

export interface LinearOptions {
  bias?: boolean;
  /** Initial weight values; defaults to PyTorch's nn.Linear default (uniform ±1/sqrt(in)). */
  rng?: Rng;
  /** Normal(0, std) instead of the uniform default. */
  std?: number;
}

export class Linear extends Module implements LinearLike {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(
    readonly inDim: number,
    readonly outDim: number,
    opts: LinearOptions = {},
  ) {
    super();
    const rng = opts.rng;
    const w = !rng
      ? tf.zeros([inDim, outDim])
      : opts.std !== undefined
        ? normalValues(rng, [inDim, outDim], opts.std)
        : kaimingUniformValues(rng, [inDim, outDim], inDim);
    this.weight = this.addParam("weight", w);
    if (opts.bias) {
      this.bias = this.addParam(
        "bias",
        rng && opts.std === undefined ? kaimingUniformValues(rng, [outDim], inDim) : tf.zeros([outDim]),
      );
    }
  }

  apply(x: tf.Tensor, _ctx?: ForwardContext): tf.Tensor {
    if (nativeActive()) {
      // one fused kernel each way; a frozen layer's backward computes the input gradient only
      return linear(x, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | undefined, "linear", { frozen: this.frozen() });
    }
    const y = matmulLast(x, this.weight);
    return this.bias ? tf.add(y, this.bias) : y;
  }

  /** Weight and bias both frozen (trainable = false): nothing differentiates them. */
  frozen(): boolean {
    return !this.weight.trainable && (!this.bias || !this.bias.trainable);
  }
}

/**
 * Backends whose UnsortedSegmentSum (tf.gather's gradient) is a real kernel. The wasm backend has
 * none, and tfjs's cpu one loops over the segments (one mask, product and sum per table row), which
 * made a cpu training step 2.5x slower once the batch was built by one gather.
 */
const FAST_SEGMENT_SUM = new Set(["native", "tensorflow"]);

/**
 * Rows of a 2-D tensor picked by `ids` (tf.gather on axis 0). Its gradient is a segment sum of the
 * output gradient where the backend has a fast one (FAST_SEGMENT_SUM), else onehot(ids)ᵀ · dy
 * (embeddingLookup): the same numbers.
 */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (FAST_SEGMENT_SUM.has(tf.getBackend())) return tf.gather(table, ids) as tf.Tensor2D;
  return embeddingLookup(table, ids) as tf.Tensor2D;
}

/**
 * Rows of `table` [V, D] picked by integer `ids` (any shape) -> [...ids.shape, D]. Same as tf.gather,
 * with a gradient written as onehot(ids)^T · dy so it runs on every backend (the wasm backend has no
 * UnsortedSegmentSum kernel, which tf.gather's own gradient needs).
 */
export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const intIds = ids.dtype === "int32" ? ids : tf.cast(ids, "int32");
  const [V, D] = table.shape as [number, number];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [tbl, idx, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([idx]);
    return {
      value: tf.gather(tbl, idx),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const flat = tf.reshape(saved[0]!, [-1]);
        const oh = tf.oneHot(flat, V);
        const dT = tf.matMul(oh, tf.reshape(dy, [-1, D]) as tf.Tensor2D, true, false);
        return [dT, tf.zerosLike(saved[0]!)];
      },
    };
  });
  return f(table, intIds);
}

/** An ordered list of child modules named "0", "1", ... */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];
  push(m: M): M {
    this.addModule(String(this.items.length), m);
    this.items.push(m);
    return m;
  }
}

/** Child modules by name (projectors per modality and rate). */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly items = new Map<string, M>();
  set(name: string, m: M): M {
    this.addModule(name, m);
    this.items.set(name, m);
    return m;
  }
  get(name: string): M {
    const m = this.items.get(name);
    if (!m) throw new Error(`ModuleDict: no entry ${name} (have ${[...this.items.keys()].join(", ")})`);
    return m;
  }
}

/** Inverted dropout with a mask drawn from `ctx.rng` (identity unless training with rate > 0). */
export function dropout(x: tf.Tensor, rate: number, ctx?: ForwardContext): tf.Tensor {
  if (!ctx?.training || rate <= 0) return x;
  if (!ctx.rng) throw new Error("dropout: training with dropout needs ctx.rng");
  const seed = ctx.rng.nextUint32();
  return tf.dropout(x, rate, undefined, seed);
}

/** LayerNorm over the last axis (used by the encoders; the LLM uses RMSNorm). */
export class LayerNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.addParam("weight", tf.ones([dim]));
    this.bias = this.addParam("bias", tf.zeros([dim]));
  }
  apply(x: tf.Tensor): tf.Tensor {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, this.eps))), this.weight), this.bias);
  }
}

/**
 * tf.tidy for results that are plain objects holding tensors among other fields (e.g. a KV cache with
 * its length): every tensor reachable in the result is kept, the rest disposed.
 */
export function tidyKeep<T>(fn: () => T): T {
  return tf.tidy(() => fn() as unknown as tf.TensorContainer) as unknown as T;
}
