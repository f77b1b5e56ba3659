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
