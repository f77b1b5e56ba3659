/**
 * npm run probe:aux-ctc -- --run <run id|dir> [--task asr|vsr|avsr] [--rates 4,2] [--split test|val]
 *                          [--limit 300] [--snr dB]
 *
 * A run's auxiliary CTC head (runs trained with --ctc-weight > 0; pipeline/model.ts) as a recogniser
 * on its own: greedy CTC over the projected tokens of one modality (audio for ASR and AVSR, video for
 * VSR; `--modality` to choose), no LLM. Its WER beside the LLM's shows what joint CTC/attention
 * decoding (`npm run eval -- ... --ctc-decode λ`) combines.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/index.js";
import { corpusWer } from "../src/eval/wer.js";
import { conditionName } from "../src/features/cache.js";
import { ctcGreedyDecode } from "../src/models/ctc.js";
import { taskUses } from "../src/models/avsr.js";
import type { Task } from "../src/models/lora.js";
import { parseRatePair } from "../src/pipeline/config.js";
import { disposeSamples, evalSamples, openEvalSet } from "../src/pipeline/data.js";
import { AvsrTrainModel, buildModel, readRunConfig, restoreTrained, runDirOf } from "../src/pipeline/model.js";
import { PAD_ID } from "../src/text/tokenizer.js";
import type { Split } from "../src/data/index.js";
import * as tf from "@tensorflow/tfjs";

const { values: v } = parseArgs({
  options: {
    run: { type: "string" },
    task: { type: "string", default: "asr" },
    rates: { type: "string" },
    modality: { type: "string" },
    split: { type: "string", default: "test" },
    limit: { type: "string", default: "300" },
    snr: { type: "string" },
  },
});
if (!v.run) throw new InputError("usage: --run <run id|dir> [--task asr|vsr|avsr] [--rates a,v] [--split test|val] [--limit N] [--snr dB]");
const task = v.task as Task;
if (!["asr", "vsr", "avsr"].includes(task)) throw new InputError(`--task must be asr, vsr or avsr, got ${v.task}`);
const use = taskUses(task);
const modality = (v.modality ?? (use.audio ? "audio" : "video")) as "audio" | "video";
if (modality !== "audio" && modality !== "video") throw new InputError(`--modality must be audio or video, got ${v.modality}`);
if (!use[modality]) throw new InputError(`${task} uses no ${modality}`);
await initBackend();
const dir = runDirOf(v.run);
const cfg = readRunConfig(dir);
const rates = v.rates ? parseRatePair(v.rates) : { audio: cfg.audioRates[0]!, video: cfg.videoRates[0]! };
const built = await buildModel(cfg);
restoreTrained(built.model, dir);
if (!(built.model instanceof AvsrTrainModel)) throw new Error("probe:aux-ctc: unexpected model type");
const model = built.model;
const snr = v.snr === undefined ? null : Number(v.snr);
const set = await openEvalSet(cfg.preset, v.split as Split, { audioCondition: conditionName(snr), needAudio: modality === "audio", needVideo: modality === "video", limit: Number(v.limit), ...built.inputs });
const pairs: { ref: string; hyp: string }[] = [];
for (let s = 0; s < set.utterances.length; s += 32) {
  const utts = set.utterances.slice(s, s + 32);
  const samples = evalSamples(set, utts);
  const lps = model.ctcLogProbs(samples, modality, rates[modality]);
  lps.forEach((lp, i) => {
    const ids = ctcGreedyDecode(tf.expandDims(lp, 0) as tf.Tensor3D, [lp.shape[0]], PAD_ID)[0]!;
    pairs.push({ ref: utts[i]!.text, hyp: built.tokenizer.decode(ids) });
  });
  tf.dispose(lps);
  disposeSamples(samples);
}
const w = corpusWer(pairs);
console.log(`${cfg.runId}: auxiliary CTC head, greedy, ${modality} at rate ${rates[modality]}, ${v.split} ${snr === null ? "clean" : `babble ${snr} dB`}, ${pairs.length} utterances: WER ${(100 * w.rate).toFixed(2)} %`);
console.log(`  e.g. ${JSON.stringify(pairs[0])}`);
