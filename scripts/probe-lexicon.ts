/**
 * npm run probe:lexicon -- [--preset default] [--modality audio|video] [--split val|test] [--limit 300]
 *                          [--snr dB] [--lm-weight 1[,2..]] [--edit-cost 4[,..]] [--skip-cost 6] [--beam 16]
 *                          [--oracle] [--encoder DIR] [--out FILE.csv]
 *
 * A shipped encoder as a conventional recogniser (src/eval/lexicon-decode.ts): its greedy CTC string of
 * units (phonemes for audio, visemes for video) on the cached features, segmented into words with the
 * pronunciations of the training alignments and a word-bigram LM of the LMs' pretraining text
 * (data/<preset>/lm_text.txt). Prints the unit error rate and, for each (lm weight, edit cost) pair,
 * the WER; beside it, the encoder's own sub-word CTC head as a recogniser. Comma lists try each
 * combination (choose on val, report test). `--oracle` decodes the reference unit strings instead of the
 * encoder's (the ceiling of this decoder: what a perfect phone or viseme recogniser would give it).
 * `--encoder DIR` probes an exported encoder folder other than the shipped one, run on the corpus's
 * inputs (no feature cache, so slower). `--out FILE.csv` writes the lexicon decoder's hypotheses (one
 * lm weight and edit cost) in the columns of an eval file (id, speaker, ref, hyp, word_errors, ref_words),
 * so `npm run compare` sets it beside an LLM's evaluation of the same utterances.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/index.js";
import type { Split } from "../src/data/index.js";
import { lexiconDecode } from "../src/eval/lexicon-decode.js";
import { corpusWer, wordEdits } from "../src/eval/wer.js";
import { writeCsvSync } from "../src/report/csv.js";
import { conditionName, openFeatures } from "../src/features/cache.js";
import { ctcGreedyDecode } from "../src/models/ctc.js";
import { editDistance, greedyCtcLabels, openPretrainData, targetsOf } from "../src/pretrain/encoders/index.js";
import { openLexiconRecogniser } from "../src/pipeline/lexicon-recogniser.js";
import { BpeTokenizer } from "../src/text/tokenizer.js";
import { repoRoot } from "../src/util/paths.js";

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
    encoder: { type: "string" },
    out: { type: "string" },
  },
});
const split = v.split as Split;
if (split !== "val" && split !== "test") throw new InputError(`--split must be val or test, got ${v.split}`);
const modality = v.modality as "audio" | "video";
if (modality !== "audio" && modality !== "video") throw new InputError(`--modality must be audio or video, got ${v.modality}`);
if (modality === "video" && v.snr !== undefined) throw new InputError("--snr applies to audio only");
const list = (s: string, flag: string) =>
  s.split(",").map((x) => {
    const n = Number(x);
    if (!Number.isFinite(n)) throw new InputError(`${flag}: not a number: ${x}`);
    return n;
  });
if (v.out !== undefined && (!v.out.endsWith(".csv") || list(v["lm-weight"]!, "--lm-weight").length * list(v["edit-cost"]!, "--edit-cost").length !== 1)) {
  throw new InputError(`--out ${v.out}: give a .csv file and one --lm-weight and one --edit-cost (the hypotheses of one decoder)`);
}
await initBackend();
// the encoder, the training lexicon and the word bigram: the same recogniser the hypothesis combination uses
const rec = await openLexiconRecogniser(v.preset!, modality, { encoderDir: v.encoder });
const { corpus, encoder: enc, prons, lm } = rec;
const utts = corpus.utterances(split).slice(0, Number(v.limit));
const tokenizer = BpeTokenizer.fromJSON(readFileSync(join(repoRoot(), "checkpoints", "lm", v.preset!, "tokenizer.json"), "utf8"));
const snrDb = v.snr === undefined ? undefined : Number(v.snr);
const condition = conditionName(snrDb ?? null);

// greedy CTC of both heads: one utterance at a time on the cached features of the shipped encoder, or
// batched on the corpus's inputs for another encoder (--encoder)
function greedyOnCache(): { units: number[][]; subword: number[][] } {
  const feats = openFeatures(v.preset!, modality, enc.hash, split, condition);
  const units: number[][] = [];
  const subword: number[][] = [];
  for (const u of utts) {
    const f = feats.get(u.id);
    units.push(rec.greedyUnits(f));
    const head = enc.model.subwordHead;
    if (head) subword.push(tf.tidy(() => ctcGreedyDecode(head.apply(tf.tensor3d(f.data, [1, f.frames, f.dim])) as tf.Tensor3D, [f.frames])[0]!));
  }
  return { units, subword };
}
async function greedyOnInputs(): Promise<{ units: number[][]; subword: number[][] }> {
  // the probe reads val/test only, so an encoder pretrained with a voice bank does not need the bank
  const d = await openPretrainData(v.preset!, modality, { ...enc.model.spec, train: { ...enc.model.spec.train, extraTrain: undefined } });
  return {
    units: greedyCtcLabels(enc.model, enc.model.head, d, utts, { snrDb }),
    subword: enc.model.subwordHead ? greedyCtcLabels(enc.model, enc.model.subwordHead, d, utts, { snrDb }) : [],
  };
}
const greedy = v.encoder === undefined ? greedyOnCache() : await greedyOnInputs();
const phones: string[][] = [];
let phoneErrors = 0;
let phoneRefs = 0;
utts.forEach((u, i) => {
  const ref = targetsOf(corpus, u.id, enc.inventory);
  phoneErrors += editDistance(ref, greedy.units[i]!);
  phoneRefs += ref.length;
  phones.push(rec.unitNames(v.oracle ? ref : greedy.units[i]!));
});
const subword = greedy.subword.map((h) => tokenizer.decode(h.map((c) => c - 1)));
const pct = (x: number) => (100 * x).toFixed(1);
console.log(`${v.preset} ${split} ${condition}, ${utts.length} utterances, ${modality} encoder ${enc.dir}`);
console.log(`  ${enc.inventory.kind} error rate (greedy CTC): ${pct(phoneErrors / Math.max(1, phoneRefs))} %`);
if (v.oracle) console.log(`  --oracle: the lexicon decoder below reads the reference ${enc.inventory.kind}s, not the encoder's`);
console.log(`  lexicon: ${prons.size} words, ${[...prons.values()].reduce((a, p) => a + p.length, 0)} pronunciations (training alignments); LM: word bigram of ${rec.lmSentences} sentences`);
if (subword.length) console.log(`  sub-word CTC head, greedy: WER ${pct(corpusWer(utts.map((u, i) => ({ ref: u.text, hyp: subword[i]! }))).rate)} %`);
for (const lmWeight of list(v["lm-weight"]!, "--lm-weight")) {
  for (const editCost of list(v["edit-cost"]!, "--edit-cost")) {
    const t0 = Date.now();
    const hyps = phones.map((p) => lexiconDecode(p, prons, lm, { lmWeight, editCost, skipCost: Number(v["skip-cost"]), beam: Number(v.beam) }).join(" "));
    const r = corpusWer(utts.map((u, i) => ({ ref: u.text, hyp: hyps[i]! })));
    console.log(`  ${enc.inventory.kind}s + lexicon + bigram (lm weight ${lmWeight}, edit cost ${editCost}): WER ${pct(r.rate)} % (sub ${r.sub}, del ${r.del}, ins ${r.ins} of ${r.refLen} words; ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    if (v.out !== undefined) {
      const rows = utts.map((u, i) => {
        const e = wordEdits(u.text, hyps[i]!);
        return { id: u.id, speaker: u.speaker, ref: u.text, hyp: hyps[i]!, word_errors: e.errors, ref_words: e.refLen };
      });
      writeCsvSync(v.out, rows, ["id", "speaker", "ref", "hyp", "word_errors", "ref_words"]);
      console.log(`  hypotheses: ${v.out}`);
    }
  }
}
rec.dispose();
