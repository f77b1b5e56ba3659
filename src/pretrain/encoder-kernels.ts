/**
 * A faster MaxPoolGrad for the cpu-family backends (cpu, native), installed by encoder pretraining.
 *
 * Why: the video encoder's 3×3/2 max-pool after the front-end. The stock tfjs cpu MaxPoolGrad (which
 * the native backend inherits; the addon has no pooling kernels) took 10.5 s of a 10.8 s training step
 * of the video encoder (batch 8 × 60 frames at 32×32, profiled with tf.profile). This version scatters
 * each output gradient to its window's first maximum (the same tie rule as the stock kernel: strict
 * `>` in row-major window order, padding excluded) and is checked against the stock kernel in
 * test/pretrain/encoders.test.ts. It belongs in the native backend; until it is there, this override
 * is installed only by processes that train encoders.
 */
import * as tf from "@tensorflow/tfjs";

interface CpuLikeBackend {
  data: { get(id: unknown): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
}

function maxPoolGradKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: "valid" | "same" | number;
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
  const b = backend as CpuLikeBackend;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const x = b.data.get(input.dataId).values;
  const g = b.data.get(dy.dataId).values;
  const [N, H, W, C] = input.shape as [number, number, number, number];
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const out = new Float32Array(N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sh - top;
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * sw - left;
        const gOff = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < fh; i++) {
            const h = h0 + i;
            if (h < 0 || h >= H) continue;
            for (let j = 0; j < fw; j++) {
              const w = w0 + j;
              if (w < 0 || w >= W) continue;
              const p = ((n * H + h) * W + w) * C + c;
              if (x[p]! > best) {
                best = x[p]!;
                at = p;
              }
            }
          }
          if (at >= 0) out[at]! += g[gOff + c]!;
        }
      }
    }
  }
  return b.makeTensorInfo([N, H, W, C], "float32", out);
}

/** Replaces MaxPoolGrad on the active backend when it is cpu or native; returns whether it did. */
export function installFastMaxPoolGrad(): boolean {
  const backendName = tf.getBackend();
  if (backendName !== "cpu" && backendName !== "native") return false;
  if (tf.getKernel("MaxPoolGrad", backendName)) tf.unregisterKernel("MaxPoolGrad", backendName);
  tf.registerKernel({ kernelName: "MaxPoolGrad", backendName, kernelFunc: maxPoolGradKernel as unknown as tf.KernelFunc });
  return true;
}
