/**
 * A tiny end-to-end setup shared by the trainer tests and the child process of the kill-and-resume
 * test: a random frozen LM, the AVSR model with LoRA, and the synthetic feature task.
 */
import { Rng } from "../../src/util/rng.js";
import { AvsrConfig, AvsrModel, AvsrSample, DEFAULT_PROMPTS, Task } from "../../src/models/avsr.js";
import { Llm, LlmConfig, initLlmWeights } from "../../src/models/llm.js";
import { BpeTokenizer } from "../../src/text/tokenizer.js";
import { ToyAvsrTask, disposeSamples } from "../../src/train/synthetic.js";
import { Trainer, TrainerConfig, BatchProvider } from "../../src/train/trainer.js";
import { Method, loraStrategyOf, DEFAULT_LAMBDAS } from "../../src/train/methods.js";

export const tokenizer = BpeTokenizer.train(["transcribe speech and video to text", "one two three four five six"], { vocabSize: 110 });

export function makeSetup(opts: { method?: Method; seed?: number; steps?: number; dim?: number; lr?: number; dropout?: number; runDir: string; checkpointEvery?: number; tokens?: number[]; lmStd?: number; task?: Task; batch?: number; scheduleSteps?: number; loraR?: number; loraTargets?: string[]; minLen?: number; maxLen?: number; progressWrite?: (l: string) => void }) {
  const method = opts.method ?? "omni-st";
  const seed = opts.seed ?? 1;
  const dim = opts.dim ?? 16;
  const llm: LlmConfig = { vocabSize: tokenizer.size, dim, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 2 * dim, maxSeqLen: 160, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };
  const single = method === "llama-avsr" || method === "llama-mt";
  const cfg: AvsrConfig = {
    llm,
    audioDim: 8,
    videoDim: 8,
    audioRates: single ? [4] : [4, 8],
    videoRates: single ? [2] : [1, 2],
    compression: "avg-pooling",
    tail: "partial",
    projectorHidden: 32,
    lora: { r: opts.loraR ?? 4, alpha: 2 * (opts.loraR ?? 4), targets: opts.loraTargets ?? ["q_proj", "v_proj"], dropout: opts.dropout ?? 0 },
    strategy: loraStrategyOf(method),
    prompts: DEFAULT_PROMPTS,
  };
  // the frozen LM: random, with a wider init than a fresh LM (std 0.2) so that its tied output head
  // can express confident predictions, as a pretrained LM can
  const lm = new Llm(llm);
  initLlmWeights(lm, new Rng(seed).fork("lm"), opts.lmStd ?? 0.2);
  const model = new AvsrModel(cfg, tokenizer, new Rng(seed), lm);
  const steps = opts.steps ?? 6;
  const trainerCfg: TrainerConfig = {
    method: { method, audioRates: cfg.audioRates, videoRates: cfg.videoRates, lambdas: DEFAULT_LAMBDAS, task: single || method === "llama-mtsk" ? (opts.task ?? "avsr") : undefined },
    adamw: { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.1 },
    schedule: { baseLr: opts.lr ?? 1e-2, warmupSteps: 1, totalSteps: opts.scheduleSteps ?? steps },
    clipNorm: 10,
    seed,
    checkpointEvery: opts.checkpointEvery ?? 1,
    keepCheckpoints: 0,
  };
  const toyTokens = opts.tokens ?? Array.from({ length: 6 }, (_, i) => 20 + i);
  const task = new ToyAvsrTask({ tokens: toyTokens, minLen: opts.minLen ?? 2, maxLen: opts.maxLen ?? 4, audioDim: 8, videoDim: 8, audioFramesPerToken: 8, videoFramesPerToken: 2, visemeClasses: 3, noise: 0.1 }, seed + 100);
  let live: AvsrSample[] = [];
  const provider: BatchProvider = (_step, rng) => {
    disposeSamples(live);
    live = Array.from({ length: opts.batch ?? 3 }, () => task.sample(rng));
    return live;
  };
  const trainer = new Trainer(model, trainerCfg, { runDir: opts.runDir, tokenizer: tokenizer.toJSON(), progressWrite: opts.progressWrite ?? (() => {}) });
  const dispose = () => {
    disposeSamples(live);
    trainer.dispose();
    model.dispose();
  };
  return { model, trainer, provider, task, dispose, cfg };
}
