/**
 * Synthetic speakers: an espeak voice (accent) and variant (timbre), speaking rate, pitch and pitch
 * range, plus a visual appearance for the mouth renderer. Every speaker has a distinct
 * (voice, variant) pair, so test speakers are new voices, not new draws of a training voice.
 */
import { Rng } from "../util/rng.js";
import { drawAppearance, type SpeakerAppearance } from "../video/render.js";
import type { VoiceParams } from "./tts.js";

export const ENGLISH_VOICES = ["en-us", "en", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp", "en-us-nyc"];

/** espeak-ng variants that sound like ordinary (if robotic) talkers; the novelty ones are left out. */
export const VARIANTS = [
  "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
  "Andy", "Annie", "adam", "anika", "david", "edward", "ian", "john", "linda", "max", "michel", "paul",
  "robert", "steph", "travis", "zac", "belinda", "Alicia", "Michael", "shelby", "quincy",
];

export type SpeakerSplit = "train" | "test";

export interface Speaker {
  id: string;
  /** train speakers also speak the validation set; test speakers only the test set. */
  split: SpeakerSplit;
  tts: VoiceParams;
  appearance: SpeakerAppearance;
}

/**
 * Speakers spk000.. of a seed: `nTrain` training speakers, then `nTest` test speakers, then `nBank`
 * voice-bank speakers (split "train", for encoder pretraining only; CorpusConfig.voiceBank). Speaker i
 * depends only on (seed, i), so the first nTrain + nTest are the same whatever nBank is, and no bank
 * speaker shares a (voice, variant) pair with a training or test speaker.
 */
export function drawSpeakers(seed: number, nTrain: number, nTest: number, nBank = 0): Speaker[] {
  const rng = new Rng(seed).fork("speakers");
  const combos: Array<[string, string]> = [];
  for (const v of ENGLISH_VOICES) for (const x of VARIANTS) combos.push([v, x]);
  const n = nTrain + nTest + nBank;
  if (n > combos.length) throw new RangeError(`at most ${combos.length} distinct speakers, ${n} asked for (${nTrain} train + ${nTest} test + ${nBank} voice bank)`);
  rng.shuffle(combos);
  const out: Speaker[] = [];
  for (let i = 0; i < n; i++) {
    const [voice, variant] = combos[i]!;
    const r = rng.fork(i);
    out.push({
      id: `spk${String(i).padStart(3, "0")}`,
      split: i < nTrain || i >= nTrain + nTest ? "train" : "test",
      tts: {
        voice,
        variant,
        rate: Math.round(r.uniform(120, 170)),
        pitch: Math.round(r.uniform(30, 70)),
        range: Math.round(r.uniform(30, 80)),
      },
      appearance: drawAppearance(r.fork("appearance")),
    });
  }
  return out;
}
