/**
 * npm run probe:recitation -- --run <run id or dir> [--cell asr_4-0] [--limit 300] [--seed 0]
 *
 * Are a run's test hypotheses nearer to the sentences it was trained on than to unseen ones
 * (src/eval/recitation.ts)? Reads the hypotheses of one evaluated cell (<run>/eval/<cell>.csv, written
 * by `npm run eval`) and the corpus's transcripts. "nearer train" well above "nearer held-out" means
 * the model recites training sentences when unsure; about equal means it does not.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { openCorpus } from "../src/data/index.js";
import { recitationProbe } from "../src/eval/recitation.js";
import { readRunConfig, runDirOf } from "../src/pipeline/model.js";
import { readCsv } from "../src/report/csv.js";

const { values: v } = parseArgs({
  options: {
    run: { type: "string" },
    cell: { type: "string", default: "asr_4-0" },
    limit: { type: "string", default: "300" },
    seed: { type: "string", default: "0" },
  },
});
if (!v.run) throw new InputError("--run is required (a run id under results/runs/ or a run folder)");
const runDir = runDirOf(v.run);
const cfg = readRunConfig(runDir);
const rows = readCsv(join(runDir, "eval", `${v.cell}.csv`), { required: ["ref", "hyp"], typed: false }).slice(0, Number(v.limit));
const corpus = await openCorpus(cfg.preset);
const text = (split: "train" | "val" | "test") => corpus.utterances(split).map((u) => u.text);
const r = recitationProbe(rows.map((x) => ({ ref: String(x.ref ?? ""), hyp: String(x.hyp ?? "") })), text("train"), [...text("val"), ...text("test")], { seed: Number(v.seed) });
const f = (x: number) => x.toFixed(3);
console.log(`${v.run} ${v.cell}: ${r.utterances} hypotheses, pools of ${r.poolSize} distinct sentences each`);
console.log(`  mean distance to the nearest sentence: train ${f(r.meanNearestTrain)}, held-out ${f(r.meanNearestHeldOut)}`);
console.log(`  nearer a train sentence: ${r.nearerTrain}; nearer a held-out one: ${r.nearerHeldOut}; ties: ${r.utterances - r.nearerTrain - r.nearerHeldOut}`);
