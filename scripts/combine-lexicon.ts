/**
 * npm run combine:lexicon -- <results/runs/<run>/eval/<name>.json> [--weights 0,0.1,...,1] [--nbest N,M]
 *                             [--lm-weight 1] [--edit-cost 4] [--skip-cost 6]
 *
 * Hypothesis combination of an LLM evaluation with the frozen encoder's own lexicon recogniser
 * (src/pipeline/lexicon-combination.ts): per utterance, the LLM's hypothesis or the lexicon recogniser's,
 * whichever has the higher (1 − α)·(the LLM's joint score) + α·(the lexicon recogniser's score). Prints
 * both systems' WER, the better-of-two ceiling and the WER at each α; with one α, writes the choice as an
 * eval file beside the evaluation (`<name>_lexcomb<α>[_val].{csv,json}`), which `npm run compare` reads.
 * Choose α on a validation evaluation (`..._val.json`), then run that one α on the test evaluation.
 * `--nbest N,M` chooses among the LLM's N best hypotheses (the utterance decoded again with the evaluation's
 * beam; N ≤ its width) and the recogniser's M best word sequences instead of the two 1-best ones.
 */
import "../src/util/cli.js";
import { parseArgs } from "node:util";
import { combineWithLexicon, parseNBest } from "../src/pipeline/lexicon-combination.js";
import { InputError } from "../src/util/errors.js";

const { values: v, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    weights: { type: "string", default: "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1" },
    nbest: { type: "string", default: "1,1" },
    "lm-weight": { type: "string" },
    "edit-cost": { type: "string" },
    "skip-cost": { type: "string" },
  },
});
if (positionals.length !== 1 || !positionals[0]!.endsWith(".json")) throw new InputError("usage: npm run combine:lexicon -- <results/runs/<run>/eval/<name>.json> [--weights 0,0.5,1]");
const num = (flag: string, s?: string) => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n)) throw new InputError(`--${flag}: not a number: ${s}`);
  return n;
};
const weights = v.weights!.split(",").map((x) => num("weights", x)!);
const r = await combineWithLexicon(positionals[0]!, {
  weights,
  nBest: parseNBest(v.nbest!, "--nbest"),
  lexicon: Object.fromEntries(Object.entries({ lmWeight: num("lm-weight", v["lm-weight"]), editCost: num("edit-cost", v["edit-cost"]), skipCost: num("skip-cost", v["skip-cost"]) }).filter(([, x]) => x !== undefined)),
});
const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
console.log(`${r.evalJson}: ${r.utterances.length} utterances`);
console.log(`  LLM ${pct(r.llmWer)}, lexicon recogniser ${pct(r.lexWer)}, the better of the two per utterance ${pct(r.oracleWer)}`);
if (r.nBest.llm > 1 || r.nBest.lexicon > 1) console.log(`  N-best ${r.nBest.llm} (LLM) x ${r.nBest.lexicon} (recogniser): ${(r.utterances.reduce((a, u) => a + u.candidates.length, 0) / r.utterances.length).toFixed(1)} distinct candidates per utterance, the best of them ${pct(r.candidateOracleWer)}`);
for (const b of r.byWeight) console.log(`  α ${String(b.weight).padEnd(4)} WER ${pct(b.wer).padStart(8)}  CER ${pct(b.cer).padStart(8)}  (lexicon's hypothesis taken for ${b.lexChosen})`);
if (r.written) console.log(`  written: ${r.written.csv}`);
