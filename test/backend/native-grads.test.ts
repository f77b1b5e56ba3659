/**
 * Gradients through tfjs autodiff on `native` against `cpu`: the backward kernels (matmul with
 * transposes, broadcast reductions, softmax, conv input/filter gradients, gather/segment sum, ...)
 * run natively while the gradient definitions stay tfjs' own.
 * Tolerance: atol 1e-5, rtol 1e-4 (float32 sums in a different order).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { REQUIRE_NATIVE, compareBackends, nativeAvailability, rand, randInt, type Tolerance } from "./harness.js";

const GRAD: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const avail = await nativeAvailability();

describe("gradients on native vs cpu", () => {
  if (!avail.ok) {
    it(`native backend not available (${avail.reason})`, () => {
      assert.ok(!REQUIRE_NATIVE, `OMNI_REQUIRE_NATIVE=1 but the native backend did not load: ${avail.reason}`);
    });
    return;
  }

  // (tfjs' own BatchMatMul gradient does not reduce broadcast batch dims, so batches are equal here.)
  it("matmul with transposes and batch dims", async () => {
    for (const [sa, sb, ta, tb] of [
      [[3, 4], [4, 5], false, false], [[4, 3], [5, 4], true, true], [[2, 3, 4], [2, 4, 5], false, false], [[2, 3, 4], [2, 5, 4], false, true],
    ] as Array<[number[], number[], boolean, boolean]>) {
      await compareBackends(`grad matMul ${sa} ${sb}`, () => {
        const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b, ta, tb)));
        return tf.grads(f)([rand(`a${sa}`, sa), rand(`b${sb}`, sb)]);
      }, GRAD, { served: ["BatchMatMul"] });
    }
  });

  // Under a gradient tape tfjs fuses only linear activations (others run as separate ops).
  it("fused matmul with bias (linear and relu)", async () => {
    for (const activation of ["linear", "relu"] as const) {
      await compareBackends(`grad fused matMul ${activation}`, () => {
        const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
          tf.sum(tf.square(tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation })));
        return tf.grads(f)([rand("fa", [6, 5]), rand("fb", [5, 7]), rand("fbias", [7])]);
      }, GRAD, { served: activation === "linear" ? ["_FusedMatMul", "BatchMatMul"] : ["BatchMatMul", "Relu"] });
    }
  });

  it("broadcasting elementwise ops reduce their gradients", async () => {
    await compareBackends("grad broadcast", () => {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(tf.div(tf.mul(tf.add(a, b), tf.sub(a, c)), tf.add(tf.exp(b), 1)));
      return tf.grads(f)([rand("ba", [3, 4, 5]), rand("bb", [4, 1]), rand("bc", [5])]);
    }, GRAD, { served: ["Add", "Multiply", "Sum"] });
  });

  it("softmax, logSoftmax, max, mean, tanh, sigmoid", async () => {
    await compareBackends("grad softmax chain", () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => {
        const s = tf.softmax(tf.mul(x, w));
        const l = tf.logSoftmax(tf.tanh(x));
        return tf.add(tf.sum(tf.mul(s, tf.sigmoid(x))), tf.add(tf.mean(l), tf.sum(tf.max(x, 1))));
      };
      return tf.grads(f)([rand("sx", [4, 9]), rand("sw", [9])]);
    }, GRAD, { served: ["Softmax", "Max"] });
  });

  it("transpose, gather (embedding) and unsorted segment sum", async () => {
    await compareBackends("grad gather", () => {
      const ids = randInt("ids", [2, 6], 0, 10);
      const f = (table: tf.Tensor) => tf.sum(tf.square(tf.transpose(tf.gather(table, ids), [1, 0, 2])));
      return tf.grads(f)([rand("table", [10, 4])]);
    }, GRAD, { served: ["GatherV2", "UnsortedSegmentSum", "Transpose"] });
  });

  it("slice, concat and stack", async () => {
    await compareBackends("grad slice concat stack", () => {
      const f = (x: tf.Tensor, y: tf.Tensor) => {
        const halves = tf.concat([tf.slice(x, [0, 0, 4], [-1, -1, 4]), tf.slice(x, [0, 0, 0], [-1, -1, 4])], -1);
        return tf.sum(tf.mul(tf.stack([halves, y], 1), rand("w", [2, 2, 3, 8])));
      };
      return tf.grads(f)([rand("x", [2, 3, 8]), rand("y", [2, 3, 8])]);
    }, GRAD, { served: ["Slice", "Concat", "Pack"] });
  });

  it("conv2d, conv1d and conv3d input and filter gradients", async () => {
    await compareBackends("grad conv2d", () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, [2, 1], "same")));
      return tf.grads(f)([rand("cx", [2, 7, 6, 3]), rand("cw", [3, 3, 3, 4])]);
    }, GRAD, { served: ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"] });
    await compareBackends("grad conv1d", () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv1d(x as tf.Tensor3D, w as tf.Tensor3D, 1, "valid")));
      return tf.grads(f)([rand("c1x", [2, 12, 3]), rand("c1w", [3, 3, 5])]);
    }, GRAD);
    await compareBackends("grad fused conv2d", () => {
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: "valid", bias: b }));
      return tf.grads(f)([rand("fcx", [1, 6, 6, 2]), rand("fcw", [3, 3, 2, 3]), rand("fcb", [3])]);
    }, GRAD, { served: ["FusedConv2D"] });
    await compareBackends("grad conv3d", () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv3d(x as tf.Tensor5D, w as tf.Tensor5D, [1, 2, 2], "same")));
      return tf.grads(f)([rand("c3x", [1, 4, 6, 6, 2]), rand("c3w", [3, 3, 3, 2, 3])]);
    }, GRAD, { served: ["Conv3D", "Conv3DBackpropInputV2", "Conv3DBackpropFilterV2"] });
  });
});
