/**
 * npm run probe:search -- <results/runs/<run>/eval/<name>.json> [--limit N] [--show 10]
 *
 * Search errors or model errors (src/pipeline/search-errors.ts): for each utterance the evaluation got
 * wrong, the beam search's ranking score of the reference and of the hypothesis, with the evaluation's
 * own decoding settings. Prints the counts and the first few of each kind.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { searchErrors } from "../src/pipeline/search-errors.js";

const { values: v, positionals } = parseArgs({ allowPositionals: true, options: { limit: { type: "string" }, show: { type: "string", default: "10" } } });
if (positionals.length !== 1) throw new InputError("usage: npm run probe:search -- <eval json> [--limit N] [--show 10]");
const r = await searchErrors(positionals[0]!, { limit: v.limit ? Number(v.limit) : undefined });
const f = (x: { attention: number; scorers: number; joint: number }) => `joint ${x.joint.toFixed(2)} (attention ${x.attention.toFixed(1)}, scorers ${x.scorers.toFixed(1)})`;
for (const kind of [true, false]) {
  const rows = r.rows.filter((x) => x.searchError === kind).slice(0, Number(v.show));
  if (rows.length) console.log(kind ? "search errors (the reference scores higher):" : "model errors (the hypothesis scores higher):");
  for (const x of rows) console.log(`  ${x.id}\n    ref ${f(x.refScore)}: ${x.ref}\n    hyp ${f(x.hypScore)}: ${x.hyp}`);
}
const pct = (n: number) => (r.wrong ? ((100 * n) / r.wrong).toFixed(1) : "0.0");
console.log(`${r.evalJson}: ${r.wrong} wrong utterances: ${r.searchErrors} search errors (${pct(r.searchErrors)} %), ${r.modelErrors} model errors (${pct(r.modelErrors)} %)`);
