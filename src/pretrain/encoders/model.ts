/**
 * The encoder being pretrained: an audio or video encoder with its CTC heads (CtcEncoder), its forward
 * pass on a padded batch, and the features of each input.
 */
import * as tf from "@tensorflow/tfjs";
import { AudioEncoder, CtcHead, VideoEncoder } from "../../models/encoders.js";
import { Module } from "../../models/nn.js";
import { Rng } from "../../util/rng.js";
import { WHISPER_MEL } from "../../audio/features.js";
import { FPS } from "../../video/render.js";
import { padBatch, type EncoderInput, type EncoderModality, type UnitInventory } from "../encoder-data.js";
import type { EncoderSpec } from "./config.js";

export type AnyEncoder = AudioEncoder | VideoEncoder;

/** The encoder plus its CTC head, named `encoder.*` and `ctc_head.*` in checkpoints. */
export class CtcEncoder extends Module {
  readonly encoder: AnyEncoder;
  readonly head: CtcHead;
  constructor(readonly spec: EncoderSpec, readonly inventory: UnitInventory, rng: Rng, readonly subwordVocab = 0) {
    super();
    this.encoder = this.addModule(
      "encoder",
      spec.modality === "audio" ? new AudioEncoder(spec.audio!, rng.fork("audio")) : new VideoEncoder(spec.video!, rng.fork("video")),
    );
    const dim = spec.modality === "audio" ? spec.audio!.dim : spec.video!.dim;
    this.head = this.addModule("ctc_head", new CtcHead(dim, inventory.units.length + 1, rng.fork("head")));
    if ((spec.train.frameCeWeight ?? 0) > 0) this.frameHead = this.addModule("frame_head", new CtcHead(dim, inventory.units.length + 1, rng.fork("frame-head")));
    if (subwordVocab > 0) {
      this.subwordHead = this.addModule("subword_head", new CtcHead(dim, subwordVocab + 1, rng.fork("subword-head")));
      if ((spec.train.subword?.frameCeWeight ?? 0) > 0) this.subwordFrameHead = this.addModule("subword_frame_head", new CtcHead(dim, subwordVocab + 1, rng.fork("subword-frame-head")));
    }
  }
  readonly frameHead?: CtcHead;
  readonly subwordHead?: CtcHead;
  readonly subwordFrameHead?: CtcHead;
}

/** Input width per frame (80 mel bins, or S·S pixels). */
export function inputWidth(spec: EncoderSpec): number {
  return spec.modality === "audio" ? spec.audio!.nMels : spec.videoSize * spec.videoSize;
}

/** Runs the encoder on a padded batch. Call inside tf.tidy. */
export function encoderForward(enc: AnyEncoder, spec: EncoderSpec, items: readonly EncoderInput[]): { features: tf.Tensor3D; lengths: number[] } {
  const { data, T, lengths } = padBatch(items, inputWidth(spec));
  if (enc instanceof AudioEncoder) return enc.apply(tf.tensor3d(data, [items.length, T, spec.audio!.nMels]), lengths);
  const S = spec.videoSize;
  return enc.apply(tf.tensor4d(data, [items.length, T, S, S]), lengths);
}

/** Output frames per input frames (audio: stride 2; video: 1). */
/**
 * Output frame rate of each encoder, frames per second: audio = the log-mel rate (16 kHz / 160-sample
 * hop = 100 /s) halved by the stride-2 stem (AudioEncoder.outputLength) = 50; video = the corpus's 25 fps.
 */
export const ENCODER_FPS: Readonly<Record<EncoderModality, number>> = { audio: WHISPER_MEL.sampleRate / WHISPER_MEL.hop / 2, video: FPS };

export function outputFrames(spec: EncoderSpec, inputFrames: number): number {
  return spec.modality === "audio" ? AudioEncoder.outputLength(inputFrames) : inputFrames;
}

/** Features of each input as its own row-major [T', dim] array (padding removed). */
export function encodeInputs(enc: AnyEncoder, spec: EncoderSpec, items: readonly EncoderInput[]): Float32Array[] {
  const out = tf.tidy(() => encoderForward(enc, spec, items).features);
  const [, T, D] = out.shape;
  const all = out.dataSync() as Float32Array;
  out.dispose();
  return items.map((x, b) => all.slice(b * T * D, (b * T + outputFrames(spec, x.frames)) * D));
}
