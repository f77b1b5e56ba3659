/**
 * npm run probe:alignment -- --run <run id or dir> [--task asr] [--rates 4,2] [--split val] [--limit 100]
 *
 * Teacher-forced next-token accuracy of a trained run by transcript position (src/eval/position-accuracy.ts):
 * with the reference history, how often the model's top token is right for the 1st, 2nd, ... token.
 * Accuracy that falls with position means the model does not find the later words' audio/video tokens.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/index.js";
import { taskUses, type Task } from "../src/models/avsr.js";
import { disposeSamples, evalSamples, openEvalSet } from "../src/pipeline/data.js";
import { buildModel, readRunConfig, restoreTrained, runDirOf } from "../src/pipeline/model.js";
import { emptyPositionAccuracy, teacherForcedAccuracy } from "../src/eval/position-accuracy.js";
import type { Split } from "../src/data/plan.js";

const { values: v } = parseArgs({
  options: {
    run: { type: "string" },
    task: { type: "string" },
    rates: { type: "string" },
    split: { type: "string", default: "val" },
    limit: { type: "string", default: "100" },
    positions: { type: "string", default: "12" },
  },
});
if (!v.run) throw new InputError("--run is required (a run id under results/runs/ or a run folder)");
await initBackend();
const runDir = runDirOf(v.run);
const cfg = readRunConfig(runDir);
const task = (v.task ?? cfg.task ?? "asr") as Task;
const [a, vr] = (v.rates ?? `${cfg.audioRates[0]},${cfg.videoRates[0]}`).split(",").map(Number);
const rates = { audio: a!, video: vr! };
const built = await buildModel(cfg);
const step = restoreTrained(built.model, runDir);
const use = taskUses(task);
const set = await openEvalSet(cfg.preset, v.split as Split, { needAudio: use.audio, needVideo: use.video, limit: Number(v.limit), ...built.inputs });
const acc = emptyPositionAccuracy(Number(v.positions));
for (let i = 0; i < set.utterances.length; i += 16) {
  const utts = set.utterances.slice(i, i + 16);
  const samples = evalSamples(set, utts).map((s, k) => ({ ...s, transcript: built.tokenizer.encode(utts[k]!.text) }));
  teacherForcedAccuracy(built.model, samples, task, rates, acc);
  disposeSamples(samples);
}
const total = acc.hits.reduce((x, y) => x + y, 0) / acc.counts.reduce((x, y) => x + y, 0);
console.log(`${cfg.runId} (step ${step}), ${task}(${rates.audio},${rates.video}), ${set.utterances.length} ${v.split} utterances, teacher-forced next-token accuracy`);
console.log("position  " + acc.counts.map((_, k) => String(k === acc.counts.length - 1 ? `${k + 1}+` : k + 1).padStart(5)).join(""));
console.log("accuracy  " + acc.hits.map((h, k) => (acc.counts[k]! > 0 ? (h / acc.counts[k]!).toFixed(2) : "-").padStart(5)).join(""));
console.log("tokens    " + acc.counts.map((c) => String(c).padStart(5)).join(""));
console.log(`overall   ${total.toFixed(3)}`);
