/**
 * Every kernel the native backend overrides, against the stock cpu kernel on seeded random inputs:
 * empty, scalar, size-1, odd and large shapes, broadcasting, transposes, batch dims.
 *
 * Tolerances (|native - cpu| <= atol + rtol |cpu|):
 *   exact-arithmetic ops (add, mul, max, transpose, gather, compare, ...)   atol 0, rtol 1e-6
 *   transcendental unary ops (exp, tanh, erf, ...)                         atol 1e-6, rtol 2e-6
 *   reductions and softmax                                                 atol 1e-6, rtol 1e-5
 *   matmul (float32 dot products, OpenBLAS order vs JS order)             atol 1e-5, rtol 1e-4
 *   convolutions                                                           atol 1e-5, rtol 1e-4
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { REQUIRE_NATIVE, compareBackends, nativeAvailability, rand, randInt, type Tolerance } from "./harness.js";

const EXACT: Tolerance = { atol: 0, rtol: 1e-6 };
const TRANSCENDENTAL: Tolerance = { atol: 1e-6, rtol: 2e-6 };
const REDUCTION: Tolerance = { atol: 1e-6, rtol: 1e-5 };
const MATMUL: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const CONV: Tolerance = { atol: 1e-5, rtol: 1e-4 };

const avail = await nativeAvailability();

describe("native kernels vs cpu", () => {
  if (!avail.ok) {
    it(`native backend not available (${avail.reason})`, () => {
      assert.ok(!REQUIRE_NATIVE, `OMNI_REQUIRE_NATIVE=1 but the native backend did not load: ${avail.reason}`);
      assert.match(avail.reason, /addon not built|failed to load|stale/);
    });
    return;
  }

  it("loads and names itself", () => {
    assert.match(avail.reason, /^native addon \(OpenBLAS/);
  });

  const binaryShapes: Array<[number[], number[]]> = [
    [[], []], [[0], [0]], [[1], [1]], [[5], [5]], [[7], []], [[], [6]], [[3, 1], [1, 4]], [[2, 3, 4], [4]],
    [[2, 3, 4], [3, 1]], [[7, 1, 5], [1, 6, 1]], [[2, 1, 3, 1, 2], [1, 4, 1, 5, 1]], [[0, 3], [1, 3]],
    [[300, 257], [257]], [[33, 65], [33, 65]], [[4, 1], [4, 9]],
  ];
  const binaryOps: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, string, Tolerance]> = [
    ["add", tf.add, "Add", EXACT], ["sub", tf.sub, "Sub", EXACT], ["mul", tf.mul, "Multiply", EXACT],
    ["div", tf.div, "RealDiv", EXACT], ["maximum", tf.maximum, "Maximum", EXACT], ["minimum", tf.minimum, "Minimum", EXACT],
    ["squaredDifference", tf.squaredDifference, "SquaredDifference", EXACT], ["pow", tf.pow, "Pow", TRANSCENDENTAL],
  ];
  for (const [name, op, kernel, tol] of binaryOps) {
    it(`${name} with broadcasting`, async () => {
      for (const [sa, sb] of binaryShapes) {
        const lo = name === "pow" ? 0.1 : -2;
        await compareBackends(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`,
          () => op(rand(`${name}a${sa}`, sa, lo, 2), rand(`${name}b${sb}`, sb, name === "div" ? 0.5 : -2, 2)), tol,
          { served: sa.length + sb.length > 0 && [...sa, ...sb].every((d) => d > 0) ? [kernel] : [] });
      }
    });
  }

  it("comparisons with broadcasting (bool outputs)", async () => {
    const ops: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [
      ["Equal", tf.equal], ["NotEqual", tf.notEqual], ["Less", tf.less], ["LessEqual", tf.lessEqual],
      ["Greater", tf.greater], ["GreaterEqual", tf.greaterEqual],
    ];
    for (const [kernel, op] of ops) {
      for (const [sa, sb] of binaryShapes.slice(0, 10)) {
        // Rounded values so that equality happens.
        await compareBackends(`${kernel} ${sa} ${sb}`, () => op(tf.round(rand(`c${sa}`, sa, -2, 2)), tf.round(rand(`d${sb}`, sb, -2, 2))), EXACT);
      }
    }
  });

  it("binary ops on special values (NaN, infinities, signed zeros)", async () => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 3.5];
    const a = () => tf.tensor(special.flatMap((x) => special.map(() => x)), [special.length, special.length]);
    const b = () => tf.tensor(special, [special.length]);
    for (const op of [tf.add, tf.sub, tf.mul, tf.div, tf.maximum, tf.minimum, tf.squaredDifference, tf.pow]) {
      await compareBackends(`${op.name} special`, () => op(a(), b()), EXACT);
    }
  });

  const unaryOps: Array<[string, (x: tf.Tensor) => tf.Tensor, [number, number], Tolerance]> = [
    ["Exp", tf.exp, [-5, 5], TRANSCENDENTAL], ["Log", tf.log, [0.01, 10], TRANSCENDENTAL],
    ["Sqrt", tf.sqrt, [0, 10], EXACT], ["Rsqrt", tf.rsqrt, [0.01, 10], TRANSCENDENTAL],
    ["Neg", tf.neg, [-3, 3], EXACT], ["Abs", tf.abs, [-3, 3], EXACT], ["Square", tf.square, [-3, 3], EXACT],
    ["Reciprocal", tf.reciprocal, [0.1, 3], EXACT], ["Tanh", tf.tanh, [-4, 4], TRANSCENDENTAL],
    ["Sigmoid", tf.sigmoid, [-8, 8], TRANSCENDENTAL], ["Relu", tf.relu, [-3, 3], EXACT],
    ["Relu6", tf.relu6, [-3, 9], EXACT], ["LeakyRelu", (x) => tf.leakyRelu(x, 0.3), [-3, 3], EXACT],
    ["Elu", tf.elu, [-3, 3], TRANSCENDENTAL], ["Step", (x) => tf.step(x, 0.25), [-3, 3], EXACT],
    ["Softplus", tf.softplus, [-20, 20], TRANSCENDENTAL], ["Erf", tf.erf, [-3, 3], { atol: 2e-6, rtol: 2e-6 }],
    ["Sin", tf.sin, [-6, 6], TRANSCENDENTAL], ["Cos", tf.cos, [-6, 6], TRANSCENDENTAL],
    ["ClipByValue", (x) => tf.clipByValue(x, -0.5, 0.7), [-2, 2], EXACT], ["Sign", tf.sign, [-2, 2], EXACT],
    ["Log1p", tf.log1p, [-0.9, 5], TRANSCENDENTAL], ["Expm1", tf.expm1, [-3, 3], TRANSCENDENTAL],
    ["Floor", tf.floor, [-3, 3], EXACT], ["Ceil", tf.ceil, [-3, 3], EXACT], ["Selu", tf.selu, [-3, 3], TRANSCENDENTAL],
  ];
  for (const [kernel, op, [lo, hi], tol] of unaryOps) {
    it(`${kernel}`, async () => {
      for (const shape of [[], [0], [1], [7], [3, 5], [2, 3, 257]]) {
        await compareBackends(`${kernel} ${shape}`, () => op(rand(`${kernel}${shape}`, shape, lo, hi)), tol,
          { served: shape.every((d) => d > 0) ? [kernel] : [] });
      }
      // NaN and infinities behave as in the cpu kernel.
      await compareBackends(`${kernel} special`, () => op(tf.tensor([NaN, Infinity, -Infinity, 0, -0])), tol);
    });
  }

  it("AddN", async () => {
    await compareBackends("addN", () => tf.addN([rand(1, [3, 33]), rand(2, [3, 33]), rand(3, [3, 33])]), EXACT, { served: ["AddN"] });
    await compareBackends("addN one", () => tf.addN([rand(4, [5])]), EXACT);
  });

  const reduceShapes: Array<[number[], Array<number | number[] | undefined>]> = [
    [[], [undefined]], [[1], [0, undefined]], [[7], [0, -1]], [[3, 5], [0, 1, -1, [0, 1], undefined]],
    [[2, 3, 4], [0, 1, 2, [0, 1], [1, 2], [0, 2], undefined]], [[2, 3, 4, 5], [[0, 2], [1, 3], [0, 1, 3], 3]],
    [[0, 4], [0, 1]], [[40, 513], [1, 0]],
  ];
  const reductions: Array<[string, (x: tf.Tensor, axis: number | number[] | undefined, keep: boolean) => tf.Tensor]> = [
    ["Sum", (x, a, k) => tf.sum(x, a, k)], ["Mean", (x, a, k) => tf.mean(x, a, k)], ["Max", (x, a, k) => tf.max(x, a, k)],
    ["Min", (x, a, k) => tf.min(x, a, k)], ["Prod", (x, a, k) => tf.prod(x, a, k)],
  ];
  for (const [kernel, op] of reductions) {
    it(`${kernel} over axes, keepDims`, async () => {
      for (const [shape, axes] of reduceShapes) {
        for (const axis of axes) {
          for (const keep of [false, true]) {
            // Prod of many values in [0.9, 1.1] stays in range.
            const [lo, hi] = kernel === "Prod" ? [0.9, 1.1] : [-2, 2];
            await compareBackends(`${kernel} ${shape} axis ${JSON.stringify(axis)} keep ${keep}`,
              () => op(rand(`${kernel}${shape}`, shape, lo, hi), axis, keep), REDUCTION);
          }
        }
      }
    });
  }

  it("ArgMax / ArgMin", async () => {
    for (const [shape, axis] of [[[7], 0], [[3, 5], 0], [[3, 5], 1], [[2, 3, 4], 1], [[2, 3, 4], -1]] as Array<[number[], number]>) {
      await compareBackends(`argMax ${shape} ${axis}`, () => tf.argMax(rand(`am${shape}`, shape), axis), EXACT, { served: ["ArgMax"] });
      await compareBackends(`argMin ${shape} ${axis}`, () => tf.argMin(rand(`an${shape}`, shape), axis), EXACT, { served: ["ArgMin"] });
    }
  });

  it("Softmax and logSoftmax (last axis)", async () => {
    for (const shape of [[1], [5], [3, 7], [2, 3, 129], [0, 5]]) {
      await compareBackends(`softmax ${shape}`, () => tf.softmax(rand(`sm${shape}`, shape, -10, 10)), REDUCTION);
      await compareBackends(`logSoftmax ${shape}`, () => tf.logSoftmax(rand(`lsm${shape}`, shape, -10, 10)), REDUCTION);
    }
  });

  it("Transpose, any rank and permutation", async () => {
    const cases: Array<[number[], number[]]> = [
      [[5], [0]], [[3, 4], [1, 0]], [[3, 4], [0, 1]], [[257, 129], [1, 0]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4], [0, 2, 1]],
      [[2, 3, 4, 5], [0, 2, 1, 3]], [[2, 3, 4, 5], [3, 2, 1, 0]], [[2, 1, 3, 1, 4], [4, 2, 0, 3, 1]], [[0, 3], [1, 0]],
      [[16, 64, 3, 4, 32], [2, 0, 3, 1, 4]],
    ];
    for (const [shape, perm] of cases) {
      await compareBackends(`transpose ${shape} ${perm}`, () => tf.transpose(rand(`t${shape}`, shape), perm), EXACT,
        { served: shape.every((d) => d > 0) && perm.some((p, i) => p !== i) ? ["Transpose"] : [] });
    }
  });

  it("GatherV2 and UnsortedSegmentSum", async () => {
    await compareBackends("gather rows", () => tf.gather(rand("g", [10, 6]), randInt("gi", [7], 0, 10)), EXACT, { served: ["GatherV2"] });
    await compareBackends("gather axis 1", () => tf.gather(rand("g2", [3, 10, 4]), randInt("gi2", [2, 5], 0, 10), 1), EXACT);
    await compareBackends("gather empty", () => tf.gather(rand("g3", [4, 3]), tf.tensor1d([], "int32")), EXACT);
    await compareBackends("segment sum", () => tf.unsortedSegmentSum(rand("s", [12, 5]), randInt("si", [12], 0, 4) as tf.Tensor1D, 4), REDUCTION,
      { served: ["UnsortedSegmentSum"] });
    await compareBackends("segment sum 1-d", () => tf.unsortedSegmentSum(rand("s1", [9]), randInt("si1", [9], 0, 3) as tf.Tensor1D, 3), REDUCTION);
  });

  it("Slice (strided), Concat and Pack on any axis", async () => {
    const slices: Array<[number[], number[], number[]]> = [
      [[4, 6], [1, 2], [2, 3]], [[2, 3, 8], [0, 0, 4], [2, 3, 4]], [[2, 3, 8], [1, 1, 0], [1, 2, 8]],
      [[3, 4, 5, 6], [1, 0, 2, 1], [2, 4, 3, 5]], [[5, 7], [0, 3], [5, 0]], [[6], [2], [3]],
    ];
    for (const [shape, begin, size] of slices) {
      await compareBackends(`slice ${shape} ${begin} ${size}`, () => tf.slice(rand(`sl${shape}`, shape), begin, size), EXACT,
        { served: size.every((d) => d > 0) && shape.length > 1 && begin[begin.length - 1]! > 0 ? ["Slice"] : [] });
    }
    for (const axis of [0, 1, 2, -1]) {
      await compareBackends(`concat axis ${axis}`, () => tf.concat([rand("c1", [2, 3, 4]), rand("c2", [2, 3, 4]), rand("c3", [2, 3, 4])], axis), EXACT, { served: ["Concat"] });
      await compareBackends(`stack axis ${axis}`, () => tf.stack([rand("s1", [2, 3, 4]), rand("s2", [2, 3, 4])], axis), EXACT, { served: ["Pack"] });
    }
    await compareBackends("concat uneven", () => tf.concat([rand("u1", [2, 1, 4]), rand("u2", [2, 5, 4]), tf.zeros([2, 0, 4])], 1), EXACT);
    // RoPE's rotate-half: slice the last axis in two, swap, concatenate.
    await compareBackends("rotate half", () => {
      const x = rand("rh", [2, 5, 3, 8]);
      return tf.concat([tf.neg(tf.slice(x, [0, 0, 0, 4], [-1, -1, -1, 4])), tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 4])], -1);
    }, EXACT, { served: ["Slice", "Concat"] });
  });

  it("gather rejects out-of-range indices", async () => {
    await tf.setBackend("native");
    assert.throws(() => tf.tidy(() => tf.gather(rand("g", [4, 2]), tf.tensor1d([0, 4], "int32")).dataSync()), /index 4/);
  });

  it("BatchMatMul: transposes, batch dims, empty and large", async () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[1, 1], [1, 1], false, false], [[3, 4], [4, 5], false, false], [[4, 3], [4, 5], true, false],
      [[3, 4], [5, 4], false, true], [[4, 3], [5, 4], true, true], [[2, 3, 4], [2, 4, 5], false, false],
      [[2, 3, 4], [4, 5], false, false], [[3, 4], [2, 3, 5], true, false], [[2, 4, 3], [1, 5, 4], true, true],
      [[2, 2, 3, 4], [2, 2, 4, 1], false, false], [[0, 3], [3, 4], false, false], [[3, 0], [0, 4], false, false],
      [[2, 0, 4], [2, 4, 3], false, false], [[300, 257], [257, 130], false, false], [[64, 300], [129, 300], false, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      await compareBackends(`matMul ${sa} ${sb} ${ta} ${tb}`, () => tf.matMul(rand(`ma${sa}`, sa), rand(`mb${sb}`, sb), ta, tb), MATMUL);
    }
  });

  it("BatchMatMul: general batch broadcasting (against tiled cpu inputs)", async () => {
    const a = () => rand("bb_a", [2, 1, 3, 4]);
    const b = () => rand("bb_b", [1, 5, 4, 6]);
    await compareBackends("matMul broadcast", () => tf.matMul(a(), b()), MATMUL, {
      served: ["BatchMatMul"],
      reference: () => tf.matMul(tf.tile(a(), [1, 5, 1, 1]), tf.tile(b(), [2, 1, 1, 1])),
    });
  });

  it("_FusedMatMul: bias and activations", async () => {
    for (const activation of ["linear", "relu", "relu6", "leakyrelu", "sigmoid", "elu"] as const) {
      for (const [sa, sb, bias] of [[[5, 7], [7, 3], [3]], [[2, 5, 7], [7, 9], [1, 9]], [[6, 4], [4, 2], []]] as Array<[number[], number[], number[]]>) {
        await compareBackends(`fused matMul ${activation} ${sa} ${sb} bias ${bias}`,
          () => tf.fused.matMul({ a: rand(`fa${sa}`, sa), b: rand(`fb${sb}`, sb), bias: rand(`fbias${bias}`, bias), activation, leakyreluAlpha: 0.1 }),
          MATMUL, { served: ["_FusedMatMul"] });
      }
    }
    await compareBackends("fused matMul transposed", () => tf.fused.matMul({ a: rand(1, [7, 5]), b: rand(2, [3, 7]), transposeA: true, transposeB: true, bias: rand(3, [3]) }), MATMUL);
  });

  it("Conv2D (conv1d, strides, padding, dilation) and FusedConv2D", async () => {
    const cases: Array<[number[], number[], [number, number], "same" | "valid", [number, number]]> = [
      [[1, 5, 5, 1], [3, 3, 1, 1], [1, 1], "valid", [1, 1]], [[2, 9, 8, 3], [3, 3, 3, 4], [1, 1], "same", [1, 1]],
      [[2, 9, 8, 3], [3, 2, 3, 5], [2, 2], "same", [1, 1]], [[1, 11, 10, 2], [3, 3, 2, 3], [1, 1], "valid", [2, 2]],
      [[3, 6, 6, 4], [1, 1, 4, 8], [1, 1], "valid", [1, 1]], [[1, 7, 7, 2], [5, 5, 2, 2], [3, 3], "same", [1, 1]],
    ];
    for (const [xs, fs, strides, pad, dil] of cases) {
      await compareBackends(`conv2d ${xs} ${fs} ${strides} ${pad} ${dil}`,
        () => tf.conv2d(rand(`cx${xs}`, xs) as tf.Tensor4D, rand(`cf${fs}`, fs) as tf.Tensor4D, strides, pad, "NHWC", dil), CONV,
        { served: ["Conv2D"] });
    }
    await compareBackends("conv1d", () => tf.conv1d(rand("c1x", [2, 20, 3]) as tf.Tensor3D, rand("c1f", [5, 3, 4]) as tf.Tensor3D, 2, "same"), CONV);
    await compareBackends("fused conv2d relu",
      () => tf.fused.conv2d({ x: rand("fx", [2, 8, 8, 3]) as tf.Tensor4D, filter: rand("ff", [3, 3, 3, 4]) as tf.Tensor4D, strides: 1, pad: "same", bias: rand("fb", [4]), activation: "relu" }),
      CONV, { served: ["FusedConv2D"] });
  });

  it("Conv3D", async () => {
    await compareBackends("conv3d same", () => tf.conv3d(rand("c3x", [2, 5, 6, 6, 2]) as tf.Tensor5D, rand("c3f", [3, 3, 3, 2, 4]) as tf.Tensor5D, [1, 2, 2], "same"), CONV, { served: ["Conv3D"] });
    await compareBackends("conv3d valid", () => tf.conv3d(rand("c3x2", [1, 4, 5, 5, 3]) as tf.Tensor5D, rand("c3f2", [2, 3, 3, 3, 2]) as tf.Tensor5D, 1, "valid"), CONV);
  });
});
