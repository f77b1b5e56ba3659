/**
 * npm run train -- --method <omni-s|omni-t|omni-st|llama-avsr|llama-mtsk|llama-mt> --preset <smoke|default>
 *                  [--task asr|vsr|avsr] [--rates a,v] [--audio-rates 4,16] [--video-rates 2,5] [--seed N]
 *                  [--lm tiny|small|base] [--lm-source auto|pretrained|random] [--lambdas 1,1.5,1]
 *                  [--steps N] [--batch N] [--lr X] [--run-id ID] [--out DIR]
 *                  [--lora-r N] [--lora-alpha X] [--lora-targets q_proj,v_proj,...] [--ctc-weight X]
 *                  [--lora-dropout X] [--train-limit N] [--no-noise-aug] [--audio-source encoder|oracle]
 *                  [--audio-input features|ctc-embed] [--video-input features|ctc-embed] [--splice N] [--video-restyle] [--video-restyle-variants K]
 *                  [--time-mask audio|video|both]
 *                  [--compression avg-pooling|stack]
 * Trains one model into results/runs/<run-id>/ (config.json, metrics.csv, val.csv, checkpoints/,
 * summary.json); resumes an interrupted run. See src/pipeline/train.ts.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { parseRatePair, type TrainParams } from "../src/pipeline/config.js";
import { trainRun } from "../src/pipeline/train.js";
import type { Method } from "../src/train/methods.js";
import type { Task } from "../src/models/lora.js";
import type { LlmSize } from "../src/models/llm.js";

const { values: v } = parseArgs({
  options: {
    method: { type: "string" },
    preset: { type: "string", default: "default" },
    task: { type: "string" },
    rates: { type: "string" },
    "audio-rates": { type: "string" },
    "video-rates": { type: "string" },
    seed: { type: "string" },
    lm: { type: "string" },
    "lm-source": { type: "string" },
    lambdas: { type: "string" },
    steps: { type: "string" },
    batch: { type: "string" },
    lr: { type: "string" },
    "run-id": { type: "string" },
    out: { type: "string" },
    "lora-r": { type: "string" },
    "lora-alpha": { type: "string" },
    "lora-targets": { type: "string" },
    "ctc-weight": { type: "string" },
    "audio-input": { type: "string" },
    "video-input": { type: "string" },
    splice: { type: "string" },
    "video-restyle": { type: "boolean", default: false },
    "video-restyle-variants": { type: "string" },
    "time-mask": { type: "string" },
    compression: { type: "string" },
    "lora-dropout": { type: "string" },
    "train-limit": { type: "string" },
    "no-noise-aug": { type: "boolean", default: false },
    "audio-source": { type: "string" },
  },
});
if (!v.method) throw new InputError("--method is required (omni-s | omni-t | omni-st | llama-avsr | llama-mtsk | llama-mt)");
const nums = (s: string) => s.split(",").map(Number);
const p: TrainParams = { method: v.method as Method, preset: v.preset! };
if (v.task) p.task = v.task as Task;
if (v.rates) {
  const r = parseRatePair(v.rates);
  p.audioRates = [r.audio];
  p.videoRates = [r.video || 2];
  if (!v.rates.includes(",")) throw new InputError("--rates expects a,v");
}
if (v["audio-rates"]) p.audioRates = nums(v["audio-rates"]);
if (v["video-rates"]) p.videoRates = nums(v["video-rates"]);
if (v.seed) p.seed = Number(v.seed);
if (v.lm) p.lm = v.lm as LlmSize;
if (v["lm-source"]) p.lmSource = v["lm-source"] as TrainParams["lmSource"];
if (v.lambdas) p.lambdas = nums(v.lambdas) as [number, number, number];
if (v.steps) p.steps = Number(v.steps);
if (v.batch) p.batchSize = Number(v.batch);
if (v.lr) p.lr = Number(v.lr);
if (v["run-id"]) p.runId = v["run-id"];
if (v["lora-r"]) p.loraR = Number(v["lora-r"]);
if (v["lora-alpha"]) p.loraAlpha = Number(v["lora-alpha"]);
if (v["lora-targets"]) p.loraTargets = v["lora-targets"].split(",").map((t) => t.trim());
if (v["lora-dropout"]) p.loraDropout = Number(v["lora-dropout"]);
if (v["train-limit"]) p.trainLimit = Number(v["train-limit"]);
if (v["ctc-weight"]) p.ctcWeight = Number(v["ctc-weight"]);
if (v["no-noise-aug"]) p.noiseAug = false;
if (v["audio-source"]) p.audioSource = v["audio-source"] as TrainParams["audioSource"];
if (v["audio-input"]) p.audioInput = v["audio-input"] as TrainParams["audioInput"];
if (v["video-input"]) p.videoInput = v["video-input"] as TrainParams["videoInput"];
if (v.splice) p.splice = Number(v.splice);
if (v["video-restyle"]) p.videoRestyle = true;
if (v["video-restyle-variants"]) {
  p.videoRestyle = true; // the count implies the option
  p.videoRestyleVariants = Number(v["video-restyle-variants"]);
}
if (v["time-mask"]) p.timeMask = v["time-mask"] as TrainParams["timeMask"];
if (v.compression) p.compression = v.compression as TrainParams["compression"];
const s = await trainRun(p, v.out);
console.log(JSON.stringify({ runId: s.runId, runDir: s.runDir, trainSeconds: s.trainSeconds, tokensPerSecond: Math.round(s.tokensPerSecond), val: s.val.map((r) => ({ task: r.task, rates: r.rates, wer: r.wer })) }));
