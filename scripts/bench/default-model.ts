/**
 * The project's default model training step, for the benchmark: the run that `npm run train --
 * --preset default --method llama-avsr --task asr` trains (Llama-AVSR, ASR, audio rate 4, the tiny LM:
 * dim 96, 3 layers, 4 heads / 2 KV heads, SwiGLU 256, vocabulary 1,024, tied embeddings; LoRA r 8,
 * alpha 8 on q_proj and v_proj; projector 128 -> 256 -> 96; batch 16), built and stepped by the library
 * itself: `resolveRunConfig` + `buildModel` (src/pipeline) give the `AvsrTrainModel` the training run
 * uses (an `AvsrModel` whose loss applies the LM head only at the transcript+EOS positions), and
 * `trainStep` (src/train/trainer.ts) does the step: loss, gradients of the trainable parameters
 * (projectors + LoRA), clipping at the run's clipNorm, AdamW (0.9, 0.98, wd 0.1) at the warmup-cosine
 * learning rate. The LM is randomly initialised (lmSource "random"; the weights do not change the
 * timing, and the step-0 loss is then ~ln(vocab)).
 *
 * Inputs are synthetic and deterministic (`defaultBatchSpec`): per utterance T ~ U{100..150} frames of
 * 128-dim audio features (2-3 s at 50 frames/s, ~32 tokens after rate-4 pooling) and a transcript of
 * 8..12 random sub-word ids. scripts/bench/default_step.py is the same step in PyTorch and takes the
 * same spec (shapes, prompt ids, transcripts, hyper-parameters), so both stacks do the same arithmetic.
 *
 *   tsx scripts/bench/default-model.ts [native|wasm|cpu|torch] [steps] [--lora R:TARGETS]
 *     quick check: losses and ms per step; --lora 8:q_proj,v_proj overrides the preset's LoRA (rank,
 *     alpha = rank, target layers) to compare configurations.
 */
import * as tf from "@tensorflow/tfjs";
import { taskUses, type AvsrModel, type AvsrSample } from "../../src/models/avsr.js";
import { buildModel } from "../../src/pipeline/model.js";
import { resolveRunConfig, type RunConfig } from "../../src/pipeline/config.js";
import { AUDIO_END_ID, AUDIO_START_ID, BOS_ID, EOS_ID, SPECIAL_TOKENS } from "../../src/text/tokenizer.js";
import { planStep, type MethodConfig } from "../../src/train/methods.js";
import { AdamW, PAPER_ADAMW, cosineLr } from "../../src/train/optim.js";
import { trainStep } from "../../src/train/trainer.js";
import { Rng } from "../../src/util/rng.js";

/** The default preset's Llama-AVSR ASR run at audio rate 4 (the run results/runs/default-llama-avsr-asr-a4-v2-tiny-s0 trained), with a random LM. */
export function defaultRunConfig(lora?: LoraOverride): RunConfig {
  const o = lora ? { loraR: lora.r, loraAlpha: lora.alpha ?? lora.r, loraTargets: lora.targets } : {};
  return resolveRunConfig({ method: "llama-avsr", preset: "default", task: "asr", lmSource: "random", ...o });
}

/** LoRA settings other than the preset's (rank, alpha (default: rank), target layers). */
export interface LoraOverride {
  r: number;
  alpha?: number;
  targets: string[];
}

/** "8:q_proj,v_proj" -> { r: 8, targets: [q_proj, v_proj] }. */
export function parseLoraOverride(s: string): LoraOverride {
  const [r, t] = s.split(":");
  if (!r || !t || !Number.isInteger(Number(r))) throw new Error(`--lora expects RANK:TARGET,TARGET..., got ${s}`);
  return { r: Number(r), targets: t.split(",") };
}

/** Everything the two implementations share: shapes, token ids, hyper-parameters (JSON for default_step.py). */
export interface DefaultBatchSpec {
  batch: number;
  /** Audio frames per utterance. */
  frames: number[];
  /** Transcript token ids per utterance (no BOS/EOS). */
  transcripts: number[][];
  /** The ASR prompt, tokenised. */
  promptIds: number[];
  special: { bos: number; eos: number; audioStart: number; audioEnd: number };
  audioDim: number;
  rate: number;
  projectorHidden: number;
  /** A second projector (video, rate videoRate) that ASR does not use: present and trainable in both, never updated. */
  videoDim: number;
  llm: { dim: number; nLayers: number; nHeads: number; nKvHeads: number; ffnDim: number; vocabSize: number; ropeTheta: number; normEps: number; maxSeqLen: number };
  lora: { r: number; alpha: number; targets: string[] };
  adamw: { beta1: number; beta2: number; eps: number; weightDecay: number };
  schedule: { baseLr: number; warmupSteps: number; totalSteps: number };
  clipNorm: number;
  seed: number;
}

export interface DefaultModelStep {
  /** One training step (forward, backward, clip, AdamW); returns the loss before the update. */
  step(): number;
  dispose(): void;
  readonly spec: DefaultBatchSpec;
  /** The model and its inputs (for checks against default_step.py). */
  readonly model: AvsrModel;
  readonly samples: readonly AvsrSample[];
  /** Positions the LM processes per step, padding excluded: prefix (BOS, audio span, prompt) + transcript + EOS. */
  readonly tokensPerStep: number;
  /** Positions that carry a loss (transcript + EOS). */
  readonly scoredTokensPerStep: number;
  readonly trainableParams: number;
}

/** Sequence positions of a spec: Σ (1 + 1 + ceil(T/rate) + 1 + |prompt| + |transcript| + 1). */
export function specTokens(s: DefaultBatchSpec): { total: number; scored: number } {
  let total = 0;
  let scored = 0;
  s.frames.forEach((T, i) => {
    const text = s.transcripts[i]!.length + 1;
    total += 3 + Math.ceil(T / s.rate) + s.promptIds.length + text;
    scored += text;
  });
  return { total, scored };
}

/**
 * Builds the default model on the active backend with synthetic inputs. `seed` fixes the weights,
 * feature values, lengths and transcripts.
 */
export async function createDefaultModelStep(opts: { seed?: number; lora?: LoraOverride } = {}): Promise<DefaultModelStep> {
  const run = defaultRunConfig(opts.lora);
  const { model } = await buildModel(run);
  const cfg = model.cfg;
  const task = run.task!;
  if (!taskUses(task).audio || taskUses(task).video) throw new Error("default-model bench expects the ASR task");
  const rate = run.audioRates[0]!;
  const rng = new Rng(opts.seed ?? 1234).fork("default-model-bench");
  const B = run.batchSize;
  const firstText = SPECIAL_TOKENS.length; // sub-word ids start after the special tokens
  const frames = Array.from({ length: B }, () => rng.int(100, 151));
  const transcripts = Array.from({ length: B }, () => Array.from({ length: rng.int(8, 13) }, () => rng.int(firstText, cfg.llm.vocabSize)));
  const spec: DefaultBatchSpec = {
    batch: B,
    frames,
    transcripts,
    promptIds: [...model.promptIds[task]],
    special: { bos: BOS_ID, eos: EOS_ID, audioStart: AUDIO_START_ID, audioEnd: AUDIO_END_ID },
    audioDim: cfg.audioDim,
    rate,
    projectorHidden: cfg.projectorHidden,
    videoDim: cfg.videoDim,
    llm: { dim: cfg.llm.dim, nLayers: cfg.llm.nLayers, nHeads: cfg.llm.nHeads, nKvHeads: cfg.llm.nKvHeads, ffnDim: cfg.llm.ffnDim, vocabSize: cfg.llm.vocabSize, ropeTheta: cfg.llm.ropeTheta, normEps: cfg.llm.normEps, maxSeqLen: cfg.llm.maxSeqLen },
    lora: { r: cfg.lora.r, alpha: cfg.lora.alpha, targets: [...cfg.lora.targets] },
    adamw: { ...PAPER_ADAMW, weightDecay: run.weightDecay },
    schedule: { baseLr: run.lr, warmupSteps: run.warmupSteps, totalSteps: run.steps },
    clipNorm: run.clipNorm,
    seed: opts.seed ?? 1234,
  };
  const samples: AvsrSample[] = frames.map((T, i) => {
    const a = new Float32Array(T * cfg.audioDim);
    for (let k = 0; k < a.length; k++) a[k] = rng.normal();
    return { audio: tf.tensor2d(a, [T, cfg.audioDim]), transcript: transcripts[i]! };
  });
  // the optimizer and the plan exactly as src/pipeline/train.ts sets them up for the Trainer
  const opt = new AdamW(spec.adamw);
  const method: MethodConfig = { method: run.method, audioRates: run.audioRates, videoRates: run.videoRates, lambdas: run.lambdas, task };
  const plan = planStep(method);
  const { total, scored } = specTokens(spec);
  return {
    spec,
    model,
    samples,
    tokensPerStep: total,
    scoredTokensPerStep: scored,
    trainableParams: model.trainableCount(),
    step(): number {
      return trainStep(model, opt, samples, plan, cosineLr(opt.t + 1, spec.schedule), run.clipNorm).loss;
    },
    dispose(): void {
      opt.dispose();
      tf.dispose(samples.map((s) => s.audio!));
      model.dispose();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--lora");
  const lora = at >= 0 ? parseLoraOverride(args.splice(at, 2)[1] ?? "") : undefined;
  const backend = args[0] ?? "native";
  const steps = Number(args[1] ?? 3);
  if (backend === "torch") {
    // the spec is built on the cpu backend (shapes and ids only), then served by default_step.py
    const { DEFAULT_MODEL_SCRIPT, TorchClient } = await import("./torch-client.js");
    const s = await createDefaultModelStep({ lora });
    const c = await TorchClient.start(Number(process.env.OMNI_THREADS ?? 1), { script: DEFAULT_MODEL_SCRIPT, args: [JSON.stringify(s.spec)] });
    s.dispose();
    console.log(`default model on torch ${c.info.torch}: ${String(c.ready.trainable)} trainable params, ${String(c.ready.tokens)} positions/step`);
    for (let i = 0; i < steps; i++) {
      const [ms] = await c.steps(1);
      console.log(`step ${i}: loss ${c.losses[i]!.toFixed(4)}, ${ms!.toFixed(1)} ms`);
    }
    c.close();
    process.exit(0);
  }
  if (backend === "native") {
    const { registerNativeBackend } = await import("../../src/backend/native/index.js");
    await registerNativeBackend({ threads: Number(process.env.OMNI_THREADS ?? 1) });
  } else if (backend === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
  }
  await tf.setBackend(backend);
  tf.enableProdMode();
  const s = await createDefaultModelStep({ lora });
  console.log(`default model on ${tf.getBackend()}: ${s.trainableParams} trainable params, ${s.tokensPerStep} positions/step (${s.scoredTokensPerStep} scored), prompt ${s.spec.promptIds.length} ids`);
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    const loss = s.step();
    console.log(`step ${i}: loss ${loss.toFixed(4)}, ${(performance.now() - t0).toFixed(1)} ms, ${tf.memory().numTensors} tensors`);
  }
  s.dispose();
}
