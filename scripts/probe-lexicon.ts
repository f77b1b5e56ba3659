/**
 * npm run probe:lexicon -- [--preset default] [--modality audio|video] [--split val|test] [--limit 300]
 *                          [--snr dB] [--lm-weight 1[,2..]] [--edit-cost 4[,..]] [--skip-cost 6] [--beam 16]
 *                          [--oracle]
 *
 * A shipped encoder as a conventional recogniser (src/eval/lexicon-decode.ts): its greedy CTC string of
 * units (phonemes for audio, visemes for video) on the cached features, segmented into words with the
 * pronunciations of the training alignments and a word-bigram LM of the LMs' pretraining text
 * (data/<preset>/lm_text.txt). Prints the unit error rate and, for each (lm weight, edit cost) pair,
 * the WER; beside it, the encoder's own sub-word CTC head as a recogniser. Comma lists try each
 * combination (choose on val, report test). `--oracle` decodes the reference unit strings instead of the
 * encoder's (the ceiling of this decoder: what a perfect phone or viseme recogniser would give it).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/index.js";
import { openCorpus, type Split } from "../src/data/index.js";
import { BigramLm } from "../src/eval/bigram-lm.js";
import { lexiconDecode, pronunciationsOf } from "../src/eval/lexicon-decode.js";
import { corpusWer, words } from "../src/eval/wer.js";
import { conditionName, openFeatures } from "../src/features/cache.js";
import { ctcGreedyDecode } from "../src/models/ctc.js";
import { editDistance, loadEncoder, targetsOf } from "../src/pretrain/encoders/index.js";
import { BpeTokenizer } from "../src/text/tokenizer.js";
import { unitsOfAlignment } from "../src/pipeline/lexicon-scoring.js";
import { dataDir, repoRoot } from "../src/util/paths.js";

const { values: v } = parseArgs({
  options: {
    preset: { type: "string", default: "default" },
    modality: { type: "string", default: "audio" },
    split: { type: "string", default: "val" },
    limit: { type: "string", default: "300" },
    snr: { type: "string" },
    "lm-weight": { type: "string", default: "1" },
    "edit-cost": { type: "string", default: "4" },
    "skip-cost": { type: "string", default: "6" },
    beam: { type: "string", default: "16" },
    oracle: { type: "boolean", default: false },
  },
});
const split = v.split as Split;
if (split !== "val" && split !== "test") throw new Error(`--split must be val or test, got ${v.split}`);
const modality = v.modality as "audio" | "video";
if (modality !== "audio" && modality !== "video") throw new Error(`--modality must be audio or video, got ${v.modality}`);
if (modality === "video" && v.snr !== undefined) throw new Error("--snr applies to audio only");
const list = (s: string, flag: string) =>
  s.split(",").map((x) => {
    const n = Number(x);
    if (!Number.isFinite(n)) throw new Error(`${flag}: not a number: ${x}`);
    return n;
  });
await initBackend();
const corpus = await openCorpus(v.preset!);
const utts = corpus.utterances(split).slice(0, Number(v.limit));
const enc = loadEncoder(v.preset!, modality);
const condition = conditionName(v.snr === undefined ? null : Number(v.snr));
const feats = openFeatures(v.preset!, modality, enc.hash, split, condition);
const tokenizer = BpeTokenizer.fromJSON(readFileSync(join(repoRoot(), "checkpoints", "lm", v.preset!, "tokenizer.json"), "utf8"));

// greedy CTC of both heads, one utterance at a time (cached features, no padding)
const phones: string[][] = [];
const subword: string[] = [];
let phoneErrors = 0;
let phoneRefs = 0;
for (const u of utts) {
  const f = feats.get(u.id);
  const x = tf.tensor3d(f.data, [1, f.frames, f.dim]);
  const [ph] = ctcGreedyDecode(tf.tidy(() => enc.model.head.apply(x)), [f.frames]);
  const ref = targetsOf(corpus, u.id, enc.inventory);
  phones.push((v.oracle ? ref : ph!).map((c) => enc.inventory.units[c - 1]!));
  phoneErrors += editDistance(ref, ph!);
  phoneRefs += ref.length;
  if (enc.model.subwordHead) subword.push(tokenizer.decode(ctcGreedyDecode(tf.tidy(() => enc.model.subwordHead!.apply(x)), [f.frames])[0]!.map((c) => c - 1)));
  x.dispose();
}
const prons = pronunciationsOf(corpus.utterances("train").map((u) => unitsOfAlignment(corpus, u.id, modality)));
const lmText = readFileSync(join(dataDir(v.preset!), "lm_text.txt"), "utf8").split("\n").filter(Boolean).map(words);
const lm = BigramLm.fit(lmText);
const pct = (x: number) => (100 * x).toFixed(1);
console.log(`${v.preset} ${split} ${condition}, ${utts.length} utterances, ${modality} encoder ${enc.dir}`);
console.log(`  ${enc.inventory.kind} error rate (greedy CTC): ${pct(phoneErrors / Math.max(1, phoneRefs))} %`);
if (v.oracle) console.log(`  --oracle: the lexicon decoder below reads the reference ${enc.inventory.kind}s, not the encoder's`);
console.log(`  lexicon: ${prons.size} words, ${[...prons.values()].reduce((a, p) => a + p.length, 0)} pronunciations (training alignments); LM: word bigram of ${lmText.length} sentences`);
if (subword.length) console.log(`  sub-word CTC head, greedy: WER ${pct(corpusWer(utts.map((u, i) => ({ ref: u.text, hyp: subword[i]! }))).rate)} %`);
for (const lmWeight of list(v["lm-weight"]!, "--lm-weight")) {
  for (const editCost of list(v["edit-cost"]!, "--edit-cost")) {
    const t0 = Date.now();
    const hyps = phones.map((p) => lexiconDecode(p, prons, lm, { lmWeight, editCost, skipCost: Number(v["skip-cost"]), beam: Number(v.beam) }).join(" "));
    const r = corpusWer(utts.map((u, i) => ({ ref: u.text, hyp: hyps[i]! })));
    console.log(`  ${enc.inventory.kind}s + lexicon + bigram (lm weight ${lmWeight}, edit cost ${editCost}): WER ${pct(r.rate)} % (sub ${r.sub}, del ${r.del}, ins ${r.ins} of ${r.refLen} words; ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
}
