/**
 * npm run compare -- <A.csv> <B.csv> [--samples 10000] [--seed 0] [--by-speaker]
 *
 * Compares two eval files (the per-utterance CSVs `npm run eval` writes: id, speaker, ref, hyp,
 * word_errors, ref_words) of the same utterances with a paired bootstrap (src/eval/bootstrap.ts): both
 * corpus WERs, B - A with its 95 % interval, how often B is better over the resamples, and the WER of
 * taking the better of the two hypotheses per utterance (src/eval/bootstrap.ts oracleOfTwo).
 * `--by-speaker` adds each speaker's WER in A and B.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { oracleOfTwo, pairedBootstrap, type UttErrors } from "../src/eval/bootstrap.js";
import { CsvError, readCsv } from "../src/report/csv.js";

const { values: v, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    samples: { type: "string", default: "10000" },
    seed: { type: "string", default: "0" },
    "by-speaker": { type: "boolean", default: false },
  },
});
if (positionals.length !== 2) throw new InputError("usage: npm run compare -- <A.csv> <B.csv> [--samples N] [--seed N] [--by-speaker]");
const [fileA, fileB] = positionals as [string, string];
type Utt = UttErrors & { id: string; speaker: string };
const load = (file: string): Utt[] =>
  readCsv(file, { required: ["id", "word_errors", "ref_words"] }).map((r, i) => {
    const errors = Number(r.word_errors);
    const refWords = Number(r.ref_words);
    if (!Number.isFinite(errors) || !Number.isFinite(refWords)) throw new CsvError(file, `data row ${i + 1}: word_errors / ref_words are not numbers`);
    return { id: String(r.id), speaker: String(r.speaker ?? ""), errors, refWords };
  });
const a = load(fileA);
const byId = new Map(load(fileB).map((u) => [u.id, u]));
if (byId.size !== a.length) throw new CsvError(fileB, `${byId.size} utterances, ${fileA} has ${a.length}: compare evals of the same utterances`);
const b = a.map((u) => {
  const x = byId.get(u.id);
  if (!x) throw new CsvError(fileB, `no row for utterance ${u.id} of ${fileA}`);
  return x;
});
const r = pairedBootstrap(a, b, { samples: Number(v.samples), seed: Number(v.seed) });
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const signed = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(2)}`;
console.log(`A ${fileA}: WER ${pct(r.werA)}`);
console.log(`B ${fileB}: WER ${pct(r.werB)}`);
console.log(
  `B - A: ${signed(r.delta)} points, ${Math.round(100 * r.level)} % interval [${signed(r.ci[0])}, ${signed(r.ci[1])}]; ` +
    `B better in ${(100 * r.pBetter).toFixed(1)} % of ${r.samples} paired resamples of ${r.utterances} utterances`,
);
console.log(`the better of A and B per utterance (the ceiling of picking one whole hypothesis): WER ${pct(oracleOfTwo(a, b))}`);
if (v["by-speaker"]) {
  const speakers = [...new Set(a.map((u) => u.speaker))].sort();
  for (const s of speakers) {
    const w = (xs: Utt[]) => xs.filter((u) => u.speaker === s).reduce((t, u) => [t[0]! + u.errors, t[1]! + u.refWords], [0, 0]);
    const [ea, na] = w(a);
    const [eb] = w(b);
    console.log(`  ${s.padEnd(8)} ${String(na).padStart(5)} words  A ${pct(ea! / na!).padStart(8)}  B ${pct(eb! / na!).padStart(8)}`);
  }
}
