/**
 * Builds the NoiseBank for a dataset: babble sources are training utterances only (speakers and
 * sentences disjoint from the test set), chosen deterministically from the seed.
 */
import { NoiseBank } from "../audio/noise.js";
import { Rng } from "../util/rng.js";
import type { AvDataset } from "./dataset.js";

export async function createNoiseBank(ds: AvDataset, opts: { sources?: number; seed?: number; musicDir?: string } = {}): Promise<NoiseBank> {
  const test = ds.utterances("test");
  const testSpeakers = new Set(test.map((u) => u.speaker));
  const testTexts = new Set(test.map((u) => u.text));
  const pool = ds.utterances("train").filter((u) => !testSpeakers.has(u.speaker) && !testTexts.has(u.text));
  const n = Math.min(opts.sources ?? 64, pool.length);
  if (n < 8) throw new Error(`${ds.name}: only ${pool.length} training utterances for babble, need at least 8`);
  const pick = new Rng(opts.seed ?? 0).fork("babble-sources").shuffle([...pool]).slice(0, n);
  const babbleSources = await Promise.all(pick.map((u) => ds.loadAudio(u.id)));
  return new NoiseBank({ babbleSources, musicDir: opts.musicDir });
}
