/**
 * WAV files in and out (codec: npm @echogarden/wave-codec, strict mode: truncated or overflowing chunks
 * are errors). Reading checks the format against what the models expect (16 kHz mono) and either
 * repairs it, saying so, or throws an AudioFileError that names the file:
 *  - wrong sample rate: resampled (Speex) when `onWrongRate: "resample"` (default), else an error;
 *  - more than one channel: averaged to mono when `onMultiChannel: "downmix"` (default), else an error;
 *  - corrupt, truncated, empty or non-finite data: always an error.
 * Every repair is reported through `onRepair` (default: one line on stderr) and listed in `repairs`.
 */
import { readFileSync } from "node:fs";
import { decodeWaveToFloat32Channels, encodeWaveFromFloat32Channels } from "@echogarden/wave-codec";
import { writeFileAtomicSync } from "../util/atomic.js";
import { resample } from "./dsp.js";
import { InputError } from "../util/errors.js";

export const SAMPLE_RATE = 16000;

export class AudioFileError extends InputError {
  constructor(readonly path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "AudioFileError";
  }
}

export interface DecodedWav {
  channels: Float32Array[];
  sampleRate: number;
}

/** Decodes WAV bytes (any PCM/float format) to float channels; `name` is used in error messages. */
export function decodeWav(bytes: Uint8Array, name: string): DecodedWav {
  let raw;
  try {
    raw = decodeWaveToFloat32Channels(bytes, false, false);
  } catch (err) {
    throw new AudioFileError(name, `corrupt or truncated WAV (${(err as Error).message})`);
  }
  if (raw.audioChannels.length === 0 || raw.audioChannels[0]!.length === 0) {
    throw new AudioFileError(name, "WAV holds no samples");
  }
  return { channels: raw.audioChannels, sampleRate: raw.sampleRate };
}

export interface ReadAudioOptions {
  /** Rate the caller needs (default 16000). */
  targetRate?: number;
  onWrongRate?: "resample" | "error";
  onMultiChannel?: "downmix" | "error";
  /** Called once per repair with a message naming the file. Default: a line on stderr. */
  onRepair?: (message: string) => void;
}

export interface LoadedAudio {
  samples: Float32Array;
  sampleRate: number;
  /** Human-readable list of the repairs applied (empty for a conforming file). */
  repairs: string[];
}

/** Applies the rate/channel policy to decoded audio. Exported for the mp4 path, which decodes via ffmpeg. */
export function conformAudio(decoded: DecodedWav, name: string, opts: ReadAudioOptions = {}): LoadedAudio {
  const target = opts.targetRate ?? SAMPLE_RATE;
  const report = opts.onRepair ?? ((m: string) => process.stderr.write(`[audio repair] ${m}\n`));
  const repairs: string[] = [];
  let { channels } = decoded;
  if (channels.length > 1) {
    if (opts.onMultiChannel === "error") {
      throw new AudioFileError(name, `${channels.length} channels, expected mono`);
    }
    const mono = new Float32Array(channels[0]!.length);
    for (const ch of channels) for (let i = 0; i < mono.length; i++) mono[i]! += ch[i]! / channels.length;
    channels = [mono];
    repairs.push(`${name}: downmixed ${decoded.channels.length} channels to mono`);
  }
  let samples = channels[0]!;
  if (decoded.sampleRate !== target) {
    if (opts.onWrongRate === "error") {
      throw new AudioFileError(name, `sample rate ${decoded.sampleRate} Hz, expected ${target} Hz`);
    }
    samples = resample(samples, decoded.sampleRate, target);
    repairs.push(`${name}: resampled ${decoded.sampleRate} Hz -> ${target} Hz`);
  }
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i]!)) throw new AudioFileError(name, `non-finite sample at index ${i}`);
  }
  for (const r of repairs) report(r);
  return { samples, sampleRate: target, repairs };
}

/** Reads a WAV file as mono float audio at `targetRate` (see the policy at the top of this file). */
export function readWav(path: string, opts: ReadAudioOptions = {}): LoadedAudio {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new AudioFileError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return conformAudio(decodeWav(bytes, path), path, opts);
}

/** Encodes mono float audio ([-1, 1], clipped) as 16-bit PCM WAV bytes. */
export function encodeWav16(samples: Float32Array, sampleRate = SAMPLE_RATE): Uint8Array {
  return encodeWaveFromFloat32Channels([samples], sampleRate, 16);
}

/** Writes a 16-bit PCM WAV atomically (temp name + rename). */
export function writeWav16(path: string, samples: Float32Array, sampleRate = SAMPLE_RATE): void {
  writeFileAtomicSync(path, encodeWav16(samples, sampleRate));
}
