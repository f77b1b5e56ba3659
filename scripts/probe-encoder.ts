/**
 * npm run probe:encoder -- [--preset default] [--modality audio|video] [--encoder DIR] [--split test|val]
 *                          [--limit N] [--snr dB]
 *
 * A frozen encoder's greedy-CTC unit error rate (PER for audio, viseme error rate for video) on a split,
 * overall and per speaker, computed from the corpus (no feature cache, so any exported encoder folder can
 * be compared with the shipped one: `--encoder .scratch/x/audio`). Val holds the training speakers,
 * test unseen ones: the per-speaker rows show whether errors come from a few voices.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/index.js";
import type { Split, Utterance } from "../src/data/index.js";
import { evaluateCtc, evaluateSubwordCtc, loadEncoder, openPretrainData, type EncoderModality } from "../src/pretrain/encoders/index.js";

const { values: v } = parseArgs({
  options: {
    preset: { type: "string", default: "default" },
    modality: { type: "string", default: "audio" },
    encoder: { type: "string" },
    split: { type: "string", default: "test" },
    limit: { type: "string", default: "0" },
    snr: { type: "string" },
  },
});
const modality = v.modality as EncoderModality;
if (modality !== "audio" && modality !== "video") throw new InputError(`--modality must be audio or video, got ${v.modality}`);
const split = v.split as Split;
if (split !== "val" && split !== "test" && split !== "train") throw new InputError(`--split must be train, val or test, got ${v.split}`);
const snrDb = v.snr === undefined ? undefined : Number(v.snr);
if (snrDb !== undefined && (modality !== "audio" || !Number.isFinite(snrDb))) throw new InputError(`--snr takes a number of dB and applies to audio only, got ${v.snr}`);
await initBackend();
const enc = loadEncoder(v.preset!, modality, v.encoder);
// the probe scores val or test only, so an encoder pretrained with a voice bank (train.extraTrain) does
// not need the bank on disk: it is left out
const d = await openPretrainData(v.preset!, modality, { ...enc.model.spec, train: { ...enc.model.spec.train, extraTrain: undefined } });
const limit = Number(v.limit);
const utts = d.ds.utterances(split).slice(0, limit > 0 ? limit : undefined);
const bySpeaker = new Map<string, Utterance[]>();
for (const u of utts) bySpeaker.set(u.speaker, [...(bySpeaker.get(u.speaker) ?? []), u]);
const voices = new Map(d.ds.speakers.map((s) => [s.id, `${s.tts.voice}/${s.tts.variant}`]));
const pct = (x: number) => (100 * x).toFixed(1).padStart(5);
const subword = Boolean(enc.model.subwordHead && d.tokenizer);
let errs = 0;
let refs = 0;
let wordErrs = 0;
let refWords = 0;
const rows: string[] = [];
for (const [spk, us] of [...bySpeaker].sort(([a], [b]) => a.localeCompare(b))) {
  const s = evaluateCtc(enc.model, d, us, { snrDb });
  errs += s.errorRate * s.refUnits;
  refs += s.refUnits;
  let row = `  ${spk}  ${(voices.get(spk) ?? "?").padEnd(28)} ${String(us.length).padStart(4)} utts  ${pct(s.errorRate)} %`;
  if (subword) {
    const w = evaluateSubwordCtc(enc.model, d, us, { snrDb });
    wordErrs += w.errors;
    refWords += w.refLen;
    row += `  ${pct(w.rate)} %`;
  }
  rows.push(row);
}
console.log(`${enc.dir} (${enc.hash}), ${v.preset} ${split}${snrDb === undefined ? "" : ` babble ${snrDb} dB`}, ${utts.length} utterances`);
console.log(`  ${enc.inventory.kind} error rate (greedy CTC): ${pct(errs / Math.max(1, refs))} % over ${bySpeaker.size} speakers`);
if (subword) console.log(`  sub-word CTC head, greedy: WER ${pct(wordErrs / Math.max(1, refWords))} %`);
console.log(`  per speaker: ${enc.inventory.kind} error rate${subword ? ", sub-word WER" : ""}`);
for (const r of rows) console.log(r);
