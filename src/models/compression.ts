/**
 * Token compression of frozen-encoder features over time, one setting per rate (the matryoshka rates:
 * audio {4, 16}, video {2, 5} by default).
 *
 * Modes:
 * - "avg-pooling": each output token is the mean of r consecutive frames (D unchanged).
 * - "stack": each output token concatenates r consecutive frames (D becomes r·D), as the reference's
 *   stack mode.
 *
 * Length rule (`tail`):
 * - "partial" (default): out length = ceil(T / r). The last window holds the T mod r leftover frames;
 *   avg-pooling averages just those, stack zero-pads them to r frames. Nothing of the input is lost and
 *   a short utterance (T < r) still gives one token.
 * - "drop": out length = floor(T / r), leftover frames dropped. This is what the reference does
 *   (nn.AvgPool1d(r) with its default stride r and no ceil_mode; its stack mode drops the remainder).
 */
import * as tf from "@tensorflow/tfjs";
import { nativeActive } from "../backend/native/ops.js";

export type CompressionMode = "avg-pooling" | "stack";
export type TailRule = "partial" | "drop";

export interface CompressionOptions {
  mode?: CompressionMode;
  tail?: TailRule;
}

export function compressedLength(T: number, rate: number, tail: TailRule = "partial"): number {
  if (!Number.isInteger(rate) || rate < 1) throw new Error(`rate must be a positive integer, got ${rate}`);
  return tail === "partial" ? Math.ceil(T / rate) : Math.floor(T / rate);
}

/** Output feature width of a mode. */
export function compressedDim(dim: number, rate: number, mode: CompressionMode = "avg-pooling"): number {
  return mode === "stack" ? dim * rate : dim;
}

/**
 * Compresses x [T, D] (one utterance) or [B, T, D] (equal-length batch) by `rate` over time.
 * Returns [N, D'] or [B, N, D'] with N = compressedLength(T, rate, tail) and D' = compressedDim.
 */
export function compress(x: tf.Tensor, rate: number, opts: CompressionOptions = {}): tf.Tensor {
  const mode = opts.mode ?? "avg-pooling";
  const tail = opts.tail ?? "partial";
  const batched = x.rank === 3;
  if (x.rank !== 2 && !batched) throw new Error(`compress: expected [T, D] or [B, T, D], got [${x.shape}]`);
  return tf.tidy(() => {
    const x3 = (batched ? x : tf.expandDims(x, 0)) as tf.Tensor3D;
    const [B, T, D] = x3.shape;
    const N = compressedLength(T, rate, tail);
    let y: tf.Tensor;
    if (N === 0) {
      y = tf.zeros([B, 0, compressedDim(D, rate, mode)]);
    } else {
      const full = N * rate;
      const used = tail === "drop" ? tf.slice(x3, [0, 0, 0], [B, full, D]) : full > T ? tf.concat([x3, tf.zeros([B, full - T, D])], 1) : x3;
      if (mode === "stack") {
        y = tf.reshape(used, [B, N, rate * D]);
      } else {
        const sums = tf.sum(tf.reshape(used, [B, N, rate, D]), 2);
        const counts = new Float32Array(N).fill(rate);
        if (tail === "partial" && full > T) counts[N - 1] = rate - (full - T);
        y = tf.div(sums, tf.tensor3d(counts, [1, N, 1]));
      }
    }
    return batched ? y : tf.squeeze(y, [0]);
  });
}

/**
 * Compresses each utterance of `xs` ([T_i, D] each) and concatenates the results along time:
 * [Σ N_i, D'], the same as tf.concat(xs.map((x) => compress(x, rate, opts))). On `native`,
 * avg-pooling of the whole batch is one segment sum and one division (a handful of kernels instead
 * of ~7 per utterance); the sums add the same frames in the same order.
 */
export function compressMany(xs: readonly tf.Tensor2D[], rate: number, opts: CompressionOptions = {}): tf.Tensor2D {
  const mode = opts.mode ?? "avg-pooling";
  const tail = opts.tail ?? "partial";
  if (xs.length === 0) throw new Error("compressMany: no inputs");
  const D = xs[0]!.shape[1];
  if (xs.some((x) => x.rank !== 2 || x.shape[1] !== D)) throw new Error("compressMany: expected [T_i, D] inputs of one width");
  if (mode !== "avg-pooling" || !nativeActive() || xs.some((x) => x.dtype !== "float32")) {
    return tf.tidy(() => {
      const parts = xs.map((x) => compress(x, rate, opts) as tf.Tensor2D);
      return parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor2D);
    });
  }
  const lens = xs.map((x) => compressedLength(x.shape[0], rate, tail));
  const total = lens.reduce((a, b) => a + b, 0);
  const frames = xs.reduce((a, x) => a + x.shape[0], 0);
  const ids = new Int32Array(frames);
  const counts = new Float32Array(total);
  let f = 0;
  let off = 0;
  xs.forEach((x, i) => {
    const T = x.shape[0];
    const N = lens[i]!;
    for (let t = 0; t < T; t++) ids[f++] = t < N * rate ? off + Math.floor(t / rate) : -1; // -1: dropped ("drop" tail)
    for (let n = 0; n < N; n++) counts[off + n] = Math.min(rate, T - n * rate);
    off += N;
  });
  return tf.tidy(() => {
    if (total === 0) return tf.zeros([0, D]) as tf.Tensor2D;
    const all = xs.length === 1 ? xs[0]! : tf.concat(xs as tf.Tensor2D[], 0);
    const sums = tf.unsortedSegmentSum(all, tf.tensor1d(ids, "int32"), total);
    return tf.div(sums, tf.tensor2d(counts, [total, 1])) as tf.Tensor2D;
  });
}
