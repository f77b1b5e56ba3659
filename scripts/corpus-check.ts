/**
 * Checks a generated corpus: `tsx scripts/corpus-check.ts [--preset default] [--n 200] [--size 44]`
 * Prints the AV sync (correlation of pixel mouth opening with audio energy by lag, pooled over test
 * utterances), the render and feature-extraction speed, and the corpus stats that the closing note reports.
 */
import "../src/util/cli.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { logMel } from "../src/audio/features.js";
import { openCorpus } from "../src/data/index.js";
import { folderBytes } from "../src/data/generate.js";
import { audioEnvelope, laggedCorrelation, mouthOpeningFromFrames } from "../src/data/sync.js";

const { values } = parseArgs({ options: { preset: { type: "string", default: "default" }, n: { type: "string", default: "200" }, size: { type: "string", default: "44" } } });
const ds = await openCorpus(values.preset!);
const size = Number(values.size);
const test = ds.utterances("test").slice(0, Number(values.n));
let renderMs = 0;
let melMs = 0;
const series = test.map((u) => {
  const audio = ds.loadAudioSync(u.id);
  let t = performance.now();
  const video = ds.loadVideoSync(u.id, { size });
  renderMs += performance.now() - t;
  t = performance.now();
  logMel(audio);
  melMs += performance.now() - t;
  return { video: mouthOpeningFromFrames(video), audio: audioEnvelope(audio, video.frames) };
});
const byLag = laggedCorrelation(series, 5);
const best = byLag.reduce((a, b) => (b.r > a.r ? b : a));
console.log(`AV sync over ${test.length} test utterances (${size}x${size}): best lag ${best.lag} frames (${best.lag * 40} ms), r = ${best.r.toFixed(3)}`);
console.log("  r by lag (frames): " + byLag.map((b) => `${b.lag}:${b.r.toFixed(3)}`).join(" "));
const t88 = performance.now();
for (const u of test.slice(0, 20)) ds.loadVideoSync(u.id, { size: 88 });
console.log(`render: ${(renderMs / test.length).toFixed(1)} ms/utt at ${size}px, ${((performance.now() - t88) / 20).toFixed(1)} ms/utt at 88px; log-mel ${(melMs / test.length).toFixed(1)} ms/utt`);
const stats = JSON.parse(readFileSync(join(ds.dir, "stats.json"), "utf8"));
console.log(`hours ${stats.hours.total}, utterances ${JSON.stringify(stats.utterances)}, disk ${(folderBytes(ds.dir) / 2 ** 20).toFixed(1)} MiB`);
console.log(`homophenes: ${(100 * stats.homophenes.homopheneShare).toFixed(1)}% of ${stats.homophenes.words} test word types share their viseme sequence, ${(100 * stats.homophenes.homophoneShare).toFixed(1)}% their pronunciation`);
