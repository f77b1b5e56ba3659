/**
 * Making one synthetic utterance: espeak audio at the speaker's voice (rate jittered a little per
 * utterance), resampled to 16 kHz, levelled, padded with silence and cut to a whole number of 25 fps
 * video frames (640 samples each); phoneme, word and viseme timings on the 16 kHz clock; the render
 * parameters of its video. Written as audio/<id>.wav and align/<id>.json (the align file is written
 * last and marks the utterance as done).
 */
import { join } from "node:path";
import { writeFileAtomicSync } from "../util/atomic.js";
import { Rng } from "../util/rng.js";
import { resample } from "../audio/dsp.js";
import { SAMPLE_RATE, writeWav16 } from "../audio/wav.js";
import { drawRenderParams, FPS, type RenderParams } from "../video/render.js";
import { visemeTimeline, type Viseme } from "../video/visemes.js";
import type { CorpusConfig } from "./config.js";
import type { PlannedUtterance } from "./plan.js";
import type { Speaker } from "./speakers.js";
import type { EspeakSynth, VoiceParams } from "./tts.js";

export const SAMPLES_PER_FRAME = SAMPLE_RATE / FPS; // 640

/** Contents of align/<id>.json. Times are seconds on the audio clock. */
export interface AlignFile {
  id: string;
  text: string;
  speaker: string;
  sampleRate: number;
  fps: number;
  numSamples: number;
  numFrames: number;
  tts: VoiceParams;
  phonemes: Array<[string, number, number]>;
  words: Array<[string, number, number]>;
  visemes: Array<[Viseme, number, number]>;
  render: RenderParams;
  /** espeak symbols that had no viseme mapping (rendered as a neutral shape). */
  unknownPhonemes: string[];
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export function makeUtterance(
  synth: EspeakSynth,
  u: PlannedUtterance,
  speaker: Speaker,
  config: CorpusConfig,
): { audio: Float32Array; align: AlignFile } {
  const rng = new Rng(u.seed);
  const tts: VoiceParams = { ...speaker.tts, rate: Math.round(speaker.tts.rate * rng.uniform(0.93, 1.07)) };
  const syn = synth.synthesize(u.text, tts);
  const speech = syn.phonemes.filter((p) => p.symbol !== "");
  if (speech.length === 0) throw new Error(`${u.id}: espeak produced no phonemes for ${JSON.stringify(u.text)}`);
  const speechStart = speech[0]!.start;
  const speechEnd = speech.at(-1)!.end;

  // 22.05 kHz int16 -> 16 kHz float, keep only the speech span
  const raw = new Float32Array(syn.pcm.length);
  for (let i = 0; i < raw.length; i++) raw[i] = syn.pcm[i]! / 32768;
  const wave16 = resample(raw, syn.sampleRate, SAMPLE_RATE);
  const s0 = Math.floor(speechStart * SAMPLE_RATE);
  const s1 = Math.min(wave16.length, Math.ceil(speechEnd * SAMPLE_RATE));
  const lead = rng.uniform(config.padSeconds[0], config.padSeconds[1]);
  const tail = rng.uniform(config.padSeconds[0], config.padSeconds[1]);
  const leadN = Math.round(lead * SAMPLE_RATE);
  const wanted = leadN + (s1 - s0) + Math.round(tail * SAMPLE_RATE);
  const numFrames = Math.ceil(wanted / SAMPLES_PER_FRAME);
  const numSamples = numFrames * SAMPLES_PER_FRAME;
  const audio = new Float32Array(numSamples);
  audio.set(wave16.subarray(s0, s1), leadN);

  // level: RMS of the speech at -23 dBFS +- 3 dB, peaks kept below 0.95, then a faint noise floor
  let ss = 0;
  for (let i = leadN; i < leadN + (s1 - s0); i++) ss += audio[i]! * audio[i]!;
  const rms = Math.sqrt(ss / Math.max(1, s1 - s0));
  let gain = Math.pow(10, (-23 + rng.uniform(-3, 3)) / 20) / Math.max(rms, 1e-9);
  let peak = 0;
  for (let i = 0; i < audio.length; i++) peak = Math.max(peak, Math.abs(audio[i]!));
  gain = Math.min(gain, 0.95 / Math.max(peak, 1e-9));
  const floor = Math.pow(10, rng.uniform(-75, -65) / 20);
  for (let i = 0; i < audio.length; i++) audio[i] = audio[i]! * gain + floor * rng.normal();

  const shift = lead - s0 / SAMPLE_RATE;
  const dur = numSamples / SAMPLE_RATE;
  const at = (t: number) => r4(Math.min(dur, Math.max(0, t + shift)));
  const phonemes = speech.map((p) => [p.symbol, at(p.start), at(p.end)] as [string, number, number]);
  const words = syn.words.map((w) => [w.word, at(w.start), at(w.end)] as [string, number, number]);
  const unknown = new Set<string>();
  const vis = visemeTimeline(speech.map((p) => ({ symbol: p.symbol, start: at(p.start), end: at(p.end) })), unknown);
  // silence before and after, so the renderer sees the mouth at rest there
  const visemes: Array<[Viseme, number, number]> = [
    ["sil", 0, vis[0]!.start],
    ...vis.map((v) => [v.viseme, r4(v.start), r4(v.end)] as [Viseme, number, number]),
    ["sil", vis.at(-1)!.end, r4(dur)],
  ];
  const render = drawRenderParams(rng.fork("render"), speaker.appearance);
  return {
    audio,
    align: {
      id: u.id,
      text: u.text,
      speaker: u.speaker,
      sampleRate: SAMPLE_RATE,
      fps: FPS,
      numSamples,
      numFrames,
      tts,
      phonemes,
      words,
      visemes,
      render,
      unknownPhonemes: [...unknown].sort(),
    },
  };
}

export const audioPath = (id: string) => join("audio", `${id}.wav`);
export const alignPath = (id: string) => join("align", `${id}.json`);

/** Writes the WAV, then the align file (the done-marker), each atomically. */
export function writeUtterance(dir: string, audio: Float32Array, align: AlignFile): void {
  writeWav16(join(dir, audioPath(align.id)), audio);
  writeFileAtomicSync(join(dir, alignPath(align.id)), JSON.stringify(align));
}
