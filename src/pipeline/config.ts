/**
 * Training-run configuration: what `npm run train` and the experiment runner pass (`TrainParams`,
 * plain JSON), the presets that fill in the rest, and the resolved `RunConfig` saved as the run's
 * config.json.
 *
 * Presets (sized for the 2-core machine; numbers measured and reported in the README of the run
 * folder's summary.json):
 * - smoke: a few steps on the smoke corpus, a random-init or smoke LM: seconds, for tests.
 * - default: batches of 16 utterances, 4,000 steps (eight passes over the 8,000 training utterances).
 *   With the fused native kernels a Llama-AVSR ASR step (tiny LM, LoRA rank 32 on all linears) takes
 *   ~0.07 s on one core (scripts/bench.ts); 4,000 steps took 592 s beside one other job. An Omni-AVSR
 *   step is three passes. Steps are what learning needs here (README, "Status"): on oracle input a
 *   Llama-AVSR ASR model reached 42 / 16 / 4.8 / 4.2 % WER at steps 500 / 1,000 / 1,500 / 2,000, but on
 *   the encoder's features it kept improving: 66.5 % after a 2,000-step run, 57.6 % after a 4,000-step
 *   one (56.9 % at step 3,000). (Earlier settings: 200, then 2,000 steps.) The tiny LM is the default:
 *   the small one costs ~2x per step. Validation WER (greedy, `valLimit` val utterances, every task at
 *   the method's first rate pair) is computed at the end of each epoch (500 steps) and at the last step.
 *
 * Method hyper-parameters follow the paper where they make sense at this scale: AdamW betas (0.9, 0.98),
 * weight decay 0.1, warmup + cosine, clipping at 10, λ = (1, 1.5, 1), babble at SNR from {-5, 0, 5, 10,
 * 15, 20 dB, clean} per sample. Learning rate and LoRA are set for the small LMs: the paper adapts Q and
 * V of a 1-8 B LLM, but on the tiny LM LoRA rank 8 on q_proj/v_proj left it too little room. Llama-AVSR
 * ASR(4), 2,000 steps, greedy val WER at steps 500 / 1,000 / 1,500 / 2,000: 89.1 / 84.2 / 77.9 / 78.1 %
 * with rank 8 on q/v, 84.4 / 70.6 / 69.3 / 66.5 % with rank 32 on all seven linear layers (the default
 * since; ~1.35x the step time). Without babble augmentation the q/v rank-8 run reached 66.6 % on clean
 * validation, but the paper's recipe augments and the noise sweep needs it.
 */
import type { CompressionMode } from "../models/compression.js";
import type { LlmSize } from "../models/llm.js";
import type { Task } from "../models/lora.js";
import { DEFAULT_LAMBDAS, METHODS, type Method } from "../train/methods.js";
import { TIME_MASK_TARGETS, type TimeMaskTarget } from "./time-mask.js";
import { InputError } from "../util/errors.js";

export type LmSource = "pretrained" | "random" | "auto";
export type AudioSource = "encoder" | "oracle";
/** "features": the cached encoder outputs as they are; "ctc-embed": with the LM embedding of the encoder's sub-word CTC posteriors appended (pipeline/ctc-embed.ts). */
export type AudioInput = "features" | "ctc-embed";
/** The same choice for the video features: "ctc-embed" appends the LM embedding of the video encoder's sub-word CTC posteriors. */
export type VideoInput = "features" | "ctc-embed";

/** What a caller gives (CLI flags or a job's params). Everything but method and preset is optional. */
export interface TrainParams {
  method: Method;
  preset: string;
  task?: Task;
  audioRates?: number[];
  videoRates?: number[];
  seed?: number;
  lm?: LlmSize;
  lmSource?: LmSource;
  lambdas?: [number, number, number];
  steps?: number;
  batchSize?: number;
  lr?: number;
  warmupSteps?: number;
  loraR?: number;
  loraAlpha?: number;
  loraTargets?: string[];
  /** Dropout on the LoRA input (peft's lora_dropout); 0 (the presets) leaves it out of config.json. */
  loraDropout?: number;
  ctcWeight?: number;
  /** Where the audio features come from: the cached frozen encoder (default) or the oracle (diagnostic). */
  audioSource?: AudioSource;
  /** How the audio features enter the projector: as cached (default) or with CTC-posterior embeddings. */
  audioInput?: AudioInput;
  /** How the video features enter the projector: as cached (default) or with CTC-posterior embeddings. */
  videoInput?: VideoInput;
  /** Spliced text-injection samples added to every batch (pipeline/splice.ts); 0 (the presets): none. */
  splice?: number;
  /** Each sample's video drawn from the clean clip and its cached restyled renders (new virtual faces; features/cache.ts). */
  videoRestyle?: boolean;
  /** With videoRestyle: draw from the first K restyled renders only (restyle0 .. restyle<K-1>); absent: every complete one cached. */
  videoRestyleVariants?: number;
  /** Spans of the cached audio / video frames zeroed in training samples (pipeline/time-mask.ts); absent (the presets): none. */
  timeMask?: TimeMaskTarget;
  /** Token compression (models/compression.ts): "avg-pooling" (the presets, the paper's) or "stack". */
  compression?: CompressionMode;
  projectorHidden?: number;
  /** Training utterances used (0 = all). */
  trainLimit?: number;
  valLimit?: number;
  /** Babble augmentation (cached variants). */
  noiseAug?: boolean;
  /** Override the run id (folder name under results/runs/). */
  runId?: string;
}

export interface TrainPreset {
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  clipNorm: number;
  lm: LlmSize;
  lmSource: LmSource;
  loraR: number;
  loraAlpha: number;
  /** Linear layers of the LM that get adapters (last path component: q_proj, k_proj, ..., down_proj). */
  loraTargets: string[];
  /** Weight of the auxiliary CTC loss on the projected tokens (0 = off, the paper's objective). */
  ctcWeight: number;
  /** "encoder": cached frozen-encoder outputs; "oracle": pipeline/oracle.ts (a diagnostic). */
  audioSource: AudioSource;
  projectorHidden: number;
  trainLimit: number;
  valLimit: number;
  valMaxNewTokens: number;
  noiseAug: boolean;
  checkpointEvery: number;
  audioRates: number[];
  videoRates: number[];
}

/** Every linear layer of a Llama block: where the presets put LoRA adapters (see the header). */
export const ALL_LINEARS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

export const TRAIN_PRESETS: Record<string, TrainPreset> = {
  smoke: {
    steps: 6,
    batchSize: 4,
    lr: 3e-3,
    warmupSteps: 1,
    weightDecay: 0.1,
    clipNorm: 10,
    lm: "tiny",
    lmSource: "auto",
    loraR: 4,
    loraAlpha: 4,
    loraTargets: ALL_LINEARS,
    ctcWeight: 0,
    audioSource: "encoder",
    projectorHidden: 64,
    trainLimit: 0,
    valLimit: 4,
    valMaxNewTokens: 8,
    noiseAug: true,
    checkpointEvery: 3,
    audioRates: [4, 16],
    videoRates: [2, 5],
  },
  default: {
    steps: 4000,
    batchSize: 16,
    lr: 3e-3,
    warmupSteps: 20,
    weightDecay: 0.1,
    clipNorm: 10,
    lm: "tiny",
    lmSource: "auto",
    loraR: 32,
    loraAlpha: 32,
    loraTargets: ALL_LINEARS,
    ctcWeight: 0,
    audioSource: "encoder",
    projectorHidden: 256,
    trainLimit: 0,
    valLimit: 100,
    valMaxNewTokens: 32,
    noiseAug: true,
    checkpointEvery: 50,
    audioRates: [4, 16],
    videoRates: [2, 5],
  },
};

/** Everything that decides a run (saved as config.json under `run`). */
export interface RunConfig extends TrainPreset {
  runId: string;
  /** Present only when > 0, so the run folders of the presets keep their config.json. */
  loraDropout?: number;
  /** Present only when "ctc-embed" (pipeline/ctc-embed.ts), for the same reason; absent = "features". */
  audioInput?: "ctc-embed";
  /** The same for the video encoder's sub-word CTC head; absent = "features". */
  videoInput?: "ctc-embed";
  /** Present only when > 0 (pipeline/splice.ts), for the same reason. */
  splice?: number;
  /** Present only when true (restyled training video, features/cache.ts `restyle<k>`), for the same reason. */
  videoRestyle?: true;
  /** Present only when set (then the run id says `-vrestyle<K>`), for the same reason. */
  videoRestyleVariants?: number;
  /** Present only when set (pipeline/time-mask.ts), for the same reason. */
  timeMask?: TimeMaskTarget;
  /** Present only when "stack" (models/compression.ts), for the same reason; absent = "avg-pooling". */
  compression?: "stack";
  preset: string;
  method: Method;
  task?: Task;
  seed: number;
  lambdas: [number, number, number];
}

function listId(xs: readonly number[]): string {
  return xs.join("_");
}

/** The default run id: <preset>-<method>[-<task>]-a<rates>-v<rates>-<lm>[-l<λ>]-s<seed>. */
export function defaultRunId(c: Omit<RunConfig, "runId">): string {
  const lam = c.lambdas.join("_") === DEFAULT_LAMBDAS.join("_") ? "" : `-l${listId(c.lambdas)}`;
  // settings off their preset value show in the id, so a variant never resumes another's folder
  const preset = TRAIN_PRESETS[c.preset];
  const lora = preset && c.loraTargets.join(",") === preset.loraTargets.join(",") && c.loraR === preset.loraR ? "" : `-lora${c.loraR}${c.loraTargets.map((t) => t[0]).join("")}`;
  const ctc = c.ctcWeight > 0 ? `-ctc${c.ctcWeight}` : "";
  const drop = c.loraDropout ? `-drop${c.loraDropout}` : "";
  const limit = preset && c.trainLimit !== preset.trainLimit ? `-n${c.trainLimit}` : "";
  const oracle = c.audioSource === "oracle" ? "-oracle" : "";
  const input = (c.audioInput === "ctc-embed" ? "-ctcemb" : "") + (c.videoInput === "ctc-embed" ? "-vctcemb" : "");
  const splice = c.splice ? `-splice${c.splice}` : "";
  const restyle = c.videoRestyle ? `-vrestyle${c.videoRestyleVariants ?? ""}` : "";
  const tmask = c.timeMask ? `-tmask${{ audio: "a", video: "v", both: "av" }[c.timeMask]}` : "";
  const stack = c.compression === "stack" ? "-stack" : "";
  return `${c.preset}-${c.method}${c.task ? `-${c.task}` : ""}-a${listId(c.audioRates)}-v${listId(c.videoRates)}-${c.lm}${lam}${lora}${drop}${stack}${ctc}${input}${splice}${restyle}${tmask}${limit}${oracle}-s${c.seed}`;
}

/** Fills a run's config from its preset; checks the method's needs (task, single rates). */
export function resolveRunConfig(p: TrainParams): RunConfig {
  if (!(METHODS as readonly string[]).includes(p.method)) throw new InputError(`unknown method ${p.method} (known: ${METHODS.join(", ")})`);
  const preset = TRAIN_PRESETS[p.preset];
  if (!preset) throw new InputError(`unknown training preset ${p.preset} (known: ${Object.keys(TRAIN_PRESETS).join(", ")})`);
  const single = p.method === "llama-avsr" || p.method === "llama-mtsk";
  if (single && !p.task) throw new InputError(`${p.method} trains one task: give --task asr|vsr|avsr`);
  if (!single && p.task) throw new InputError(`${p.method} is multi-task: --task does not apply`);
  const fixedRate = p.method === "llama-avsr" || p.method === "llama-mt";
  const audioRates = p.audioRates ?? (fixedRate ? [preset.audioRates[0]!] : preset.audioRates);
  const videoRates = p.videoRates ?? (fixedRate ? [preset.videoRates[0]!] : preset.videoRates);
  if (fixedRate && (audioRates.length !== 1 || videoRates.length !== 1)) throw new InputError(`${p.method} trains one rate pair: give --rates a,v`);
  const pick = <K extends keyof TrainPreset>(k: K, v: TrainPreset[K] | undefined): TrainPreset[K] => (v === undefined ? preset[k] : v);
  const c: Omit<RunConfig, "runId"> = {
    ...preset,
    preset: p.preset,
    method: p.method,
    task: p.task,
    seed: p.seed ?? 0,
    lambdas: p.lambdas ?? DEFAULT_LAMBDAS,
    audioRates,
    videoRates,
    lm: pick("lm", p.lm),
    lmSource: pick("lmSource", p.lmSource),
    steps: pick("steps", p.steps),
    batchSize: pick("batchSize", p.batchSize),
    lr: pick("lr", p.lr),
    warmupSteps: pick("warmupSteps", p.warmupSteps),
    loraR: pick("loraR", p.loraR),
    loraAlpha: pick("loraAlpha", p.loraAlpha),
    loraTargets: pick("loraTargets", p.loraTargets),
    ctcWeight: pick("ctcWeight", p.ctcWeight),
    audioSource: pick("audioSource", p.audioSource),
    projectorHidden: pick("projectorHidden", p.projectorHidden),
    trainLimit: pick("trainLimit", p.trainLimit),
    valLimit: pick("valLimit", p.valLimit),
    noiseAug: pick("noiseAug", p.noiseAug),
  };
  if (p.loraDropout !== undefined && !(p.loraDropout >= 0 && p.loraDropout < 1)) throw new InputError(`loraDropout must be in [0, 1), got ${p.loraDropout}`);
  if (p.loraDropout) c.loraDropout = p.loraDropout;
  if (p.audioInput !== undefined && p.audioInput !== "features" && p.audioInput !== "ctc-embed") throw new InputError(`audioInput must be features or ctc-embed, got ${JSON.stringify(p.audioInput)}`);
  if (p.audioInput === "ctc-embed") {
    if (p.audioSource === "oracle") throw new InputError("audioInput ctc-embed needs the encoder's features, not the oracle");
    c.audioInput = "ctc-embed";
  }
  if (p.videoInput !== undefined && p.videoInput !== "features" && p.videoInput !== "ctc-embed") throw new InputError(`videoInput must be features or ctc-embed, got ${JSON.stringify(p.videoInput)}`);
  if (p.videoInput === "ctc-embed") c.videoInput = "ctc-embed";
  if (p.splice !== undefined && !(Number.isInteger(p.splice) && p.splice >= 0)) throw new InputError(`splice must be a whole number of samples per batch, got ${JSON.stringify(p.splice)}`);
  if (p.splice) {
    if (c.audioSource === "oracle") throw new InputError("splice cuts the encoder's cached features, not the oracle");
    c.splice = p.splice;
  }
  if (p.videoRestyle) c.videoRestyle = true;
  if (p.videoRestyleVariants !== undefined) {
    if (!(Number.isInteger(p.videoRestyleVariants) && p.videoRestyleVariants >= 1)) throw new InputError(`videoRestyleVariants must be a whole number >= 1, got ${JSON.stringify(p.videoRestyleVariants)}`);
    if (!p.videoRestyle) throw new InputError("videoRestyleVariants applies with videoRestyle only");
    c.videoRestyleVariants = p.videoRestyleVariants;
  }
  if (p.timeMask !== undefined && !TIME_MASK_TARGETS.includes(p.timeMask)) throw new InputError(`timeMask must be one of ${TIME_MASK_TARGETS.join(", ")}, got ${JSON.stringify(p.timeMask)}`);
  if (p.timeMask) {
    if (p.timeMask === "audio" && c.audioSource === "oracle") throw new InputError("timeMask audio masks the encoder's cached features, not the oracle");
    c.timeMask = p.timeMask;
  }
  if (p.compression !== undefined && p.compression !== "avg-pooling" && p.compression !== "stack") throw new InputError(`compression must be avg-pooling or stack, got ${JSON.stringify(p.compression)}`);
  if (p.compression === "stack") c.compression = "stack";
  if (c.audioSource !== "encoder" && c.audioSource !== "oracle") throw new InputError(`audioSource must be encoder or oracle, got ${JSON.stringify(c.audioSource)}`);
  if (c.checkpointEvery > c.steps) c.checkpointEvery = c.steps;
  return { ...c, runId: p.runId ?? defaultRunId(c) };
}

/** Parses "4,2" (one audio and one video rate) or "4" (audio only) into rate lists. */
export function parseRatePair(s: string): { audio: number; video: number } {
  const [a, v] = s.split(",").map((x) => Number(x.trim()));
  if (!Number.isInteger(a) || (v !== undefined && !Number.isInteger(v))) throw new InputError(`--rates expects "a,v" (integers), got ${JSON.stringify(s)}`);
  return { audio: a!, video: v ?? 0 };
}
