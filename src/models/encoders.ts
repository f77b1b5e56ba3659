/**
 * Small audio and video encoders with the shapes of the paper's (Whisper's conv stem + transformer;
 * AV-HuBERT's 3D-conv + ResNet front-end + transformer), pretrained by the project on its corpus with
 * a CTC head, then frozen and cached.
 *
 * AudioEncoder: log-mel [B, T, 80] at 100 frames/s -> conv1d(k3) GELU -> conv1d(k3, stride 2) GELU
 *   -> + sinusoidal positions -> pre-LN transformer blocks -> LayerNorm: [B, ceil(T/2), dim] at 50/s.
 * VideoEncoder: grayscale frames [B, T, H, W] at 25 fps -> 3D-conv front-end (kernel kt×7×7, stride
 *   1×2×2; written as a conv2d over the kt-frame window stacked as channels, which is the same
 *   operation) ReLU, max-pool 3×3/2 -> per-frame 2D residual trunk (basic blocks, stride 2 between
 *   stages) -> global average pool -> Linear -> + positions -> transformer blocks -> LayerNorm:
 *   [B, T, dim] at 25/s.
 * Both accept per-row lengths (frames) so padded batches attend only to real frames; the attention
 * projections are named q_proj/k_proj/v_proj/o_proj so LoRA can target the video encoder's Q and V as
 * the reference does.
 *
 * Convolution gradients need the Conv2DBackpropFilter kernel, which the wasm backend lacks: pretrain
 * encoders on the native or cpu backend.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.js";
import { ForwardContext, LayerNorm, Linear, LinearLike, Module, ModuleDict, ModuleList, kaimingUniformValues } from "./nn.js";

export function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c))));
}

export function sinusoidalPositions(len: number, dim: number): tf.Tensor2D {
  const a = new Float32Array(len * dim);
  for (let p = 0; p < len; p++) {
    for (let i = 0; i < dim / 2; i++) {
      const f = p / Math.pow(10000, (2 * i) / dim);
      a[p * dim + 2 * i] = Math.sin(f);
      a[p * dim + 2 * i + 1] = Math.cos(f);
    }
  }
  return tf.tensor2d(a, [len, dim]);
}

/** Additive key-padding mask [B, 1, 1, T] (0 for real frames, -1e9 for padding). */
export function keyPaddingMask(B: number, T: number, lengths?: readonly number[]): tf.Tensor4D {
  const m = new Float32Array(B * T);
  if (lengths) lengths.forEach((L, b) => m.fill(-1e9, b * T + Math.min(L, T), (b + 1) * T));
  return tf.tensor4d(m, [B, 1, 1, T]);
}

export interface TransformerConfig {
  dim: number;
  nLayers: number;
  nHeads: number;
  ffnDim: number;
}

/** Pre-LN bidirectional transformer block (Whisper / AV-HuBERT style), GELU MLP. */
export class EncoderBlock extends Module {
  readonly ln1: LayerNorm;
  readonly ln2: LayerNorm;
  constructor(readonly c: TransformerConfig, rng: Rng) {
    super();
    const lin = (i: number, o: number, name: string) => this.addModule(name, new Linear(i, o, { rng: rng.fork(name), bias: true }));
    this.ln1 = this.addModule("ln1", new LayerNorm(c.dim));
    const attn = this.addModule("self_attn", new ModuleDict<Linear>());
    for (const n of ["q_proj", "k_proj", "v_proj", "o_proj"]) attn.set(n, new Linear(c.dim, c.dim, { rng: rng.fork(n), bias: true }));
    this.ln2 = this.addModule("ln2", new LayerNorm(c.dim));
    lin(c.dim, c.ffnDim, "fc1");
    lin(c.ffnDim, c.dim, "fc2");
  }
  /** Looks layers up by path at call time, so a LoRA wrapper that replaced one is used. */
  private lin(path: string): LinearLike {
    let m: Module | undefined = this;
    for (const p of path.split(".")) m = m?.child(p);
    if (!m) throw new Error(`no layer ${path}`);
    return m as unknown as LinearLike;
  }
  apply(x: tf.Tensor3D, mask: tf.Tensor4D, ctx?: ForwardContext): tf.Tensor3D {
    const [B, T, D] = x.shape;
    const H = this.c.nHeads;
    const hd = D / H;
    const h = this.ln1.apply(x);
    const heads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, H, hd]), [0, 2, 1, 3]);
    const q = heads(this.lin("self_attn.q_proj").apply(h, ctx));
    const k = heads(this.lin("self_attn.k_proj").apply(h, ctx));
    const v = heads(this.lin("self_attn.v_proj").apply(h, ctx));
    const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hd)), mask), -1);
    const y = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B, T, D]);
    const x1 = tf.add(x, this.lin("self_attn.o_proj").apply(y, ctx));
    const m = this.lin("fc2").apply(gelu(this.lin("fc1").apply(this.ln2.apply(x1), ctx)), ctx);
    return tf.add(x1, m) as tf.Tensor3D;
  }
}

class Transformer extends Module {
  readonly blocks: EncoderBlock[] = [];
  readonly lnPost: LayerNorm;
  constructor(c: TransformerConfig, rng: Rng) {
    super();
    const list = this.addModule("layers", new ModuleList<EncoderBlock>());
    for (let i = 0; i < c.nLayers; i++) this.blocks.push(list.push(new EncoderBlock(c, rng.fork(`layer${i}`))));
    this.lnPost = this.addModule("ln_post", new LayerNorm(c.dim));
  }
  apply(x: tf.Tensor3D, lengths: readonly number[] | undefined, ctx?: ForwardContext): tf.Tensor3D {
    const [B, T, D] = x.shape;
    const mask = keyPaddingMask(B, T, lengths);
    let h = tf.add(x, tf.expandDims(sinusoidalPositions(T, D), 0)) as tf.Tensor3D;
    for (const b of this.blocks) h = b.apply(h, mask, ctx);
    return this.lnPost.apply(h) as tf.Tensor3D;
  }
}

/** A convolution kernel as a parameter, kaiming-uniform initialised from `rng`. */
class Conv extends Module {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(shape: number[], fanIn: number, rng: Rng) {
    super();
    this.w = this.addParam("weight", kaimingUniformValues(rng, shape, fanIn));
    this.b = this.addParam("bias", tf.zeros([shape[shape.length - 1]!]));
  }
}

// ---- audio ----------------------------------------------------------------------------------------

export interface AudioEncoderConfig extends TransformerConfig {
  nMels: number;
}

export const DEFAULT_AUDIO_ENCODER: AudioEncoderConfig = { nMels: 80, dim: 128, nLayers: 4, nHeads: 4, ffnDim: 512 };

export interface EncoderOutput {
  features: tf.Tensor3D;
  /** Valid output frames per row. */
  lengths: number[];
}

export class AudioEncoder extends Module {
  readonly conv1: Conv;
  readonly conv2: Conv;
  readonly transformer: Transformer;
  constructor(readonly cfg: AudioEncoderConfig, rng: Rng) {
    super();
    this.conv1 = this.addModule("conv1", new Conv([3, cfg.nMels, cfg.dim], 3 * cfg.nMels, rng.fork("conv1")));
    this.conv2 = this.addModule("conv2", new Conv([3, cfg.dim, cfg.dim], 3 * cfg.dim, rng.fork("conv2")));
    this.transformer = this.addModule("transformer", new Transformer(cfg, rng.fork("transformer")));
  }
  /** Output frames of an input of T frames: ceil(T / 2) (stride 2, "same" padding). */
  static outputLength(T: number): number {
    return Math.ceil(T / 2);
  }
  /** mel [B, T, nMels] (100 frames/s) -> [B, ceil(T/2), dim] (50 frames/s). */
  apply(mel: tf.Tensor3D, lengths?: readonly number[], ctx?: ForwardContext): EncoderOutput {
    const [B, T] = mel.shape;
    let h1 = gelu(tf.add(tf.conv1d(mel, this.conv1.w as tf.Tensor3D, 1, "same"), this.conv1.b));
    if (lengths) {
      // zero the first conv's output past each row's length, so the stride-2 conv sees what it would
      // see on the unpadded utterance ("same" zero padding): padded rows then equal rows alone
      const m = new Float32Array(B * T);
      lengths.forEach((L, b) => m.fill(1, b * T, b * T + Math.min(L, T)));
      h1 = tf.mul(h1, tf.tensor3d(m, [B, T, 1]));
    }
    const h2 = gelu(tf.add(tf.conv1d(h1 as tf.Tensor3D, this.conv2.w as tf.Tensor3D, 2, "same"), this.conv2.b)) as tf.Tensor3D;
    const outLens = (lengths ?? new Array<number>(B).fill(T)).map(AudioEncoder.outputLength);
    return { features: this.transformer.apply(h2, outLens, ctx), lengths: outLens };
  }
}

// ---- video ----------------------------------------------------------------------------------------

export interface VideoEncoderConfig extends TransformerConfig {
  /** Frames in the 3D-conv window (odd). */
  temporalKernel: number;
  /** Channels of the front-end and of each residual stage. */
  channels: number[];
  /** Basic blocks per stage. */
  blocksPerStage: number;
}

export const DEFAULT_VIDEO_ENCODER: VideoEncoderConfig = { temporalKernel: 5, channels: [16, 32, 64], blocksPerStage: 1, dim: 128, nLayers: 4, nHeads: 4, ffnDim: 512 };

class BasicBlock extends Module {
  readonly c1: Conv;
  readonly c2: Conv;
  readonly down?: Conv;
  constructor(cin: number, cout: number, readonly stride: number, rng: Rng) {
    super();
    this.c1 = this.addModule("conv1", new Conv([3, 3, cin, cout], 9 * cin, rng.fork("c1")));
    this.c2 = this.addModule("conv2", new Conv([3, 3, cout, cout], 9 * cout, rng.fork("c2")));
    if (stride !== 1 || cin !== cout) this.down = this.addModule("downsample", new Conv([1, 1, cin, cout], cin, rng.fork("down")));
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const s = this.stride;
    const h = tf.relu(tf.add(tf.conv2d(x, this.c1.w as tf.Tensor4D, s, "same"), this.c1.b)) as tf.Tensor4D;
    const y = tf.add(tf.conv2d(h, this.c2.w as tf.Tensor4D, 1, "same"), this.c2.b);
    const skip = this.down ? tf.add(tf.conv2d(x, this.down.w as tf.Tensor4D, s, "same"), this.down.b) : x;
    return tf.relu(tf.add(y, skip)) as tf.Tensor4D;
  }
}

export class VideoEncoder extends Module {
  readonly front: Conv;
  readonly stages: BasicBlock[] = [];
  readonly proj: Linear;
  readonly transformer: Transformer;
  constructor(readonly cfg: VideoEncoderConfig, rng: Rng) {
    super();
    const kt = cfg.temporalKernel;
    if (kt % 2 !== 1) throw new Error("temporalKernel must be odd");
    const c0 = cfg.channels[0]!;
    this.front = this.addModule("frontend3d", new Conv([7, 7, kt, c0], 49 * kt, rng.fork("front")));
    const trunk = this.addModule("trunk", new ModuleList<BasicBlock>());
    let cin = c0;
    cfg.channels.forEach((cout, i) => {
      for (let j = 0; j < cfg.blocksPerStage; j++) {
        this.stages.push(trunk.push(new BasicBlock(cin, cout, i > 0 && j === 0 ? 2 : 1, rng.fork(`s${i}b${j}`))));
        cin = cout;
      }
    });
    this.proj = this.addModule("proj", new Linear(cin, cfg.dim, { rng: rng.fork("proj"), bias: true }));
    this.transformer = this.addModule("transformer", new Transformer(cfg, rng.fork("transformer")));
  }
  /** frames [B, T, H, W] (25 fps, grayscale, normalised) -> [B, T, dim]. */
  apply(frames: tf.Tensor4D, lengths?: readonly number[], ctx?: ForwardContext): EncoderOutput {
    const [B, T, H, W] = frames.shape;
    const kt = this.cfg.temporalKernel;
    const half = (kt - 1) / 2;
    // 3D conv over (time, H, W) with temporal stride 1 and zero padding = conv2d over the stacked window
    const padded = tf.pad(frames, [[0, 0], [half, half], [0, 0], [0, 0]]);
    const windows = tf.stack(Array.from({ length: kt }, (_, k) => tf.slice(padded, [0, k, 0, 0], [B, T, H, W])), 4); // [B, T, H, W, kt]
    const x = tf.reshape(windows, [B * T, H, W, kt]) as tf.Tensor4D;
    let h = tf.relu(tf.add(tf.conv2d(x, this.front.w as tf.Tensor4D, 2, "same"), this.front.b)) as tf.Tensor4D;
    h = tf.maxPool(h, 3, 2, "same");
    for (const blk of this.stages) h = blk.apply(h);
    const pooled = tf.mean(h, [1, 2]); // [B*T, C]
    const feats = tf.reshape(this.proj.apply(pooled), [B, T, this.cfg.dim]) as tf.Tensor3D;
    const lens = lengths ? [...lengths] : new Array<number>(B).fill(T);
    return { features: this.transformer.apply(feats, lens, ctx), lengths: lens };
  }
}

/** A linear CTC head over encoder features (class 0 is the blank). */
export class CtcHead extends Module {
  readonly out: Linear;
  constructor(dim: number, nClasses: number, rng: Rng) {
    super();
    this.out = this.addModule("out", new Linear(dim, nClasses, { rng, std: 0.02, bias: true }));
  }
  apply(features: tf.Tensor3D): tf.Tensor3D {
    return this.out.apply(features) as tf.Tensor3D;
  }
}

