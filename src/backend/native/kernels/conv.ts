/**
 * Convolutions (channels-last only) through the addon's im2col + GEMM: Conv2D, FusedConv2D, Conv3D
 * and their input/filter gradients. conv1d in tfjs is a Conv2D with height 1, so it is covered too.
 * NCHW data and depthwise convolutions fall back to the cpu kernels.
 */
import * as tf from "@tensorflow/tfjs";
import { type KernelContext, type KernelResult, type NativeKernel, f32, newF32, output, sizeOf } from "./common.js";
import { UNARY } from "./elementwise.js";

type ConvInfo = tf.backend_util.Conv2DInfo | tf.backend_util.Conv3DInfo;

/** The 21-int geometry native/src/conv.cc reads (2-D convolutions have depth 1). */
function geometry(info: ConvInfo): Int32Array {
  const i3 = info as tf.backend_util.Conv3DInfo;
  const is3d = "inDepth" in info;
  return Int32Array.from([
    info.batchSize, is3d ? i3.inDepth : 1, info.inHeight, info.inWidth, info.inChannels,
    is3d ? i3.filterDepth : 1, info.filterHeight, info.filterWidth,
    is3d ? i3.outDepth : 1, info.outHeight, info.outWidth, info.outChannels,
    is3d ? i3.strideDepth : 1, info.strideHeight, info.strideWidth,
    is3d ? i3.dilationDepth : 1, info.dilationHeight, info.dilationWidth,
    is3d ? i3.padInfo.front : 0, info.padInfo.top, info.padInfo.left,
  ]);
}

function channelsLast(attrs: tf.NamedAttrMap): boolean {
  const f = (attrs.dataFormat as string | undefined) ?? "NHWC";
  return f === "NHWC" || f === "NDHWC" || f === "channelsLast";
}

type Attr = tf.NamedAttrMap;
const info2d = (xShape: number[], fShape: number[], a: Attr, dilations: number | [number, number]) =>
  tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], fShape as [number, number, number, number],
    a.strides as [number, number], dilations, a.pad as "same", a.dimRoundingMode as "round" | undefined, false, "channelsLast",
  );
const info3d = (xShape: number[], fShape: number[], a: Attr, dilations: number | [number, number, number]) =>
  tf.backend_util.computeConv3DInfo(
    xShape as [number, number, number, number, number], fShape as [number, number, number, number, number],
    a.strides as [number, number, number], dilations, a.pad as "same",
  );

function forward(ctx: KernelContext, info: ConvInfo): tf.TensorInfo | null {
  const xv = f32(ctx.backend, ctx.inputs.x), wv = f32(ctx.backend, ctx.inputs.filter);
  if (!xv || !wv) return null;
  const out = newF32(ctx.backend, sizeOf(info.outShape));
  ctx.addon.conv(xv, wv, out, geometry(info));
  return output(ctx.backend, info.outShape.slice(), out);
}

function gradInput(ctx: KernelContext, info: ConvInfo): KernelResult | null {
  const dyv = f32(ctx.backend, ctx.inputs.dy), wv = f32(ctx.backend, ctx.inputs.filter);
  if (!dyv || !wv) return null;
  const dx = newF32(ctx.backend, sizeOf(info.inShape));
  ctx.addon.convGradInput(dyv, wv, dx, geometry(info));
  return output(ctx.backend, info.inShape.slice(), dx);
}

function gradFilter(ctx: KernelContext, info: ConvInfo, filterShape: number[]): KernelResult | null {
  const xv = f32(ctx.backend, ctx.inputs.x), dyv = f32(ctx.backend, ctx.inputs.dy);
  if (!xv || !dyv) return null;
  const dw = newF32(ctx.backend, sizeOf(filterShape));
  ctx.addon.convGradFilter(xv, dyv, dw, geometry(info));
  return output(ctx.backend, filterShape.slice(), dw);
}

const FUSED_ACT: Record<string, number> = {
  relu: UNARY.Relu, relu6: UNARY.Relu6, leakyrelu: UNARY.LeakyRelu, sigmoid: UNARY.Sigmoid, elu: UNARY.Elu,
};

function fusedConv2d(ctx: KernelContext): KernelResult | null {
  const { attrs, inputs } = ctx;
  const activation = (attrs.activation as string | undefined) ?? "linear";
  if (!channelsLast(attrs) || inputs.preluActivationWeights) return null;
  if (activation !== "linear" && !(activation in FUSED_ACT)) return null;
  const bias = inputs.bias ? f32(ctx.backend, inputs.bias) : null;
  const info = info2d(inputs.x!.shape, inputs.filter!.shape, attrs, attrs.dilations as [number, number]);
  if (inputs.bias && (!bias || (bias.length !== info.outChannels && bias.length !== 1))) return null;
  const y = forward(ctx, info);
  if (!y) return null;
  const yv = ctx.backend.data.get(y.dataId).values as Float32Array;
  if (bias && yv.length > 0) {
    // In place: y[p, c] += bias[c] (or the one bias value everywhere).
    const rows = yv.length / info.outChannels;
    const perChannel = bias.length === info.outChannels;
    ctx.addon.binary(0, yv, bias, yv, Int32Array.from([rows, info.outChannels]), Int32Array.from([info.outChannels, 1]),
      Int32Array.from([0, perChannel ? 1 : 0]));
  }
  if (activation !== "linear") ctx.addon.unary(FUSED_ACT[activation]!, yv, yv, Number(attrs.leakyreluAlpha ?? 0.2), 0);
  return y;
}

export const convKernels: Record<string, NativeKernel> = {
  Conv2D: (ctx) =>
    channelsLast(ctx.attrs)
      ? forward(ctx, info2d(ctx.inputs.x!.shape, ctx.inputs.filter!.shape, ctx.attrs, ctx.attrs.dilations as [number, number]))
      : null,
  FusedConv2D: fusedConv2d,
  Conv2DBackpropInput: (ctx) =>
    channelsLast(ctx.attrs)
      ? gradInput(ctx, info2d(ctx.attrs.inputShape as number[], ctx.inputs.filter!.shape, ctx.attrs, 1))
      : null,
  Conv2DBackpropFilter: (ctx) =>
    channelsLast(ctx.attrs)
      ? gradFilter(ctx, info2d(ctx.inputs.x!.shape, ctx.attrs.filterShape as number[], ctx.attrs, 1), ctx.attrs.filterShape as number[])
      : null,
  Conv3D: (ctx) =>
    channelsLast(ctx.attrs)
      ? forward(ctx, info3d(ctx.inputs.x!.shape, ctx.inputs.filter!.shape, ctx.attrs, ctx.attrs.dilations as [number, number, number]))
      : null,
  Conv3DBackpropInputV2: (ctx) =>
    gradInput(ctx, info3d(ctx.attrs.inputShape as number[], ctx.inputs.filter!.shape, ctx.attrs, 1)),
  Conv3DBackpropFilterV2: (ctx) =>
    gradFilter(ctx, info3d(ctx.inputs.x!.shape, ctx.attrs.filterShape as number[], ctx.attrs, 1), ctx.attrs.filterShape as number[]),
};
