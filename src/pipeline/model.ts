/**
 * Building a run's AvsrModel (frozen LM + LoRA + projectors) from its RunConfig, restoring its trained
 * weights from the newest checkpoint, and decoding utterances with it. Shared by training (validation)
 * and evaluation.
 */
import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { AvsrModel, DEFAULT_PROMPTS, taskUses, type AvsrConfig, type AvsrSample, type Rates, type TextEncoder } from "../models/avsr.js";
import { IGNORE, Llm, maskedCrossEntropy } from "../models/llm.js";
import { ctcLossFast } from "../models/ctc-fast.js";
import { PAD_ID } from "../text/tokenizer.js";
import { gatherRows, type ForwardContext } from "../models/nn.js";
import type { Task } from "../models/lora.js";
import { loraStrategyOf } from "../train/methods.js";
import { assignParams, latestCheckpoint, loadSafetensorsFile } from "../train/checkpoint.js";
import { transcribe, type JointCtc } from "../eval/decode.js";
import { CtcPrefixScorer, MeanPrefixScorer, WeightedPrefixScorer, type PrefixScorer } from "../eval/ctc-prefix.js";
import type { FeatureSet } from "../features/cache.js";
import { lexiconScorers, type UnitReader } from "./lexicon-scoring.js";
import { wordLmScorer } from "./word-lm.js";
import type { BigramLm } from "../eval/bigram-lm.js";
import { Rng } from "../util/rng.js";
import { resultsDir } from "../util/paths.js";
import type { BpeTokenizer } from "../text/tokenizer.js";
import type { RunConfig } from "./config.js";
import { resolveLm, type ResolvedLm } from "./lm.js";
import { ctcEmbeddingOfRun, videoCtcEmbeddingOfRun, type CtcEmbedding } from "./ctc-embed.js";
import { oracleOfRun, type OracleAudio } from "./oracle.js";
import { disposeSamples, encoderRef, evalLength, evalSamples, type EvalSet } from "./data.js";
import type { Utterance } from "../data/index.js";
import { InputError } from "../util/errors.js";

/**
 * AvsrModel with a cheaper, equal loss, plus an optional auxiliary CTC loss.
 *
 * Cheaper: the LM's output projection and log-softmax are applied only at the positions that carry a
 * target (transcript + EOS, ~15 of ~90 positions), instead of over the whole sequence and then
 * masking. Same value (up to float rounding) and gradients.
 *
 * Auxiliary CTC (`ctcWeight` > 0; not in the paper): each modality's projected tokens are scored
 * against the transcript's sub-word ids with CTC, using the frozen LM's own (tied) token embeddings as
 * the classifier (logits = s · P·Eᵀ, s a trained scale; blank = the PAD id). It pulls every projected
 * token towards the embedding of the sub-word being spoken, the hybrid CTC/attention recipe (Watanabe
 * et al., 2017) applied to the connector: at this scale a frozen LM trained only through its own loss
 * learns the audio-to-text alignment too slowly for the time budget (README, "Status"). The same weight
 * is used by every method, so the comparisons stay like for like. Rows whose compressed length cannot
 * hold the transcript (high rates, long words) contribute nothing (ctcLossFast skips them).
 * loss = L_LM + ctcWeight · mean over modalities of L_CTC.
 */
export class AvsrTrainModel extends AvsrModel {
  readonly ctcLogScale?: tf.Variable;

  constructor(cfg: AvsrConfig, tokenizer: TextEncoder, rng: Rng, llm: Llm | undefined, readonly ctcWeight = 0) {
    super(cfg, tokenizer, rng, llm);
    if (ctcWeight > 0) this.ctcLogScale = this.addParam("ctc_log_scale", tf.scalar(Math.log(CTC_INIT_SCALE)));
  }

  override loss(samples: readonly AvsrSample[], task: Task, rates: Rates, extra: Omit<ForwardContext, "adapters"> = {}): tf.Scalar {
    return tf.tidy(() => {
      const spans = this.modalitySpans(samples, task, rates);
      const inp = this.trainInputs(samples, task, rates, spans);
      const out = this.llm.forward({ embeds: inp.embeds }, { ctx: this.contextFor(task, extra), logits: "none" });
      const [B, L, D] = out.hidden.shape;
      const rows: number[] = [];
      const targets: number[] = [];
      inp.targets.forEach((t, i) => {
        if (t !== IGNORE) {
          rows.push(i);
          targets.push(t);
        }
      });
      if (rows.length === 0) return tf.scalar(0);
      const h = gatherRows(tf.reshape(out.hidden, [B * L, D]) as tf.Tensor2D, tf.tensor1d(Int32Array.from(rows), "int32"));
      const logits = this.llm.logitsOf(tf.reshape(h, [1, rows.length, D]) as tf.Tensor3D);
      const lm = maskedCrossEntropy(logits, Int32Array.from(targets));
      if (!this.ctcLogScale) return lm;
      const labels = samples.map((s) => s.transcript ?? []);
      const parts = [spans.audio, spans.video].filter((x): x is tf.Tensor2D[] => x !== undefined).map((toks) => this.ctcOf(toks, labels));
      return tf.add(lm, tf.mul(tf.addN(parts), this.ctcWeight / parts.length)) as tf.Scalar;
    });
  }

  /**
   * The auxiliary CTC head's distributions for joint CTC/attention decoding (eval/decode.ts): one
   * prefix scorer per sample, over the projected tokens of each modality the task uses (training
   * scored both for AVSR), or of `modalities` among them; with two, the mean of their log scores.
   */
  ctcScorers(samples: readonly AvsrSample[], task: Task, rates: Rates, modalities?: ReadonlyArray<"audio" | "video">): PrefixScorer[] {
    if (!this.ctcLogScale) throw new Error("joint CTC decoding needs a run trained with the auxiliary CTC loss (ctcWeight > 0 in its config.json)");
    const use = taskUses(task);
    const chosen = (["audio", "video"] as const).filter((m) => use[m] && (!modalities || modalities.includes(m)));
    if (chosen.length === 0) throw new Error(`joint CTC decoding of ${task}: no modality head to use`);
    const perModality = chosen.map((m) => this.ctcScorersOf(samples, m, rates[m]));
    return samples.map((_, i) => (perModality.length === 1 ? perModality[0]![i]! : new MeanPrefixScorer(perModality.map((x) => x[i]!))));
  }

  private ctcScorersOf(samples: readonly AvsrSample[], modality: "audio" | "video", rate: number): CtcPrefixScorer[] {
    return this.ctcLogProbs(samples, modality, rate).map((lp) => {
      const data = lp.dataSync() as Float32Array;
      lp.dispose();
      return new CtcPrefixScorer(data, this.cfg.llm.vocabSize, PAD_ID);
    });
  }

  /** The auxiliary CTC head's log-probabilities over one modality's projected tokens: [N_i, V] per sample (blank = PAD_ID). */
  ctcLogProbs(samples: readonly AvsrSample[], modality: "audio" | "video", rate: number): tf.Tensor2D[] {
    if (!this.ctcLogScale) throw new Error("the auxiliary CTC head exists only in runs trained with the auxiliary CTC loss (ctcWeight > 0 in config.json)");
    return tf.tidy(() =>
      this.modalityTokens(samples, modality, rate).map((t) => tf.logSoftmax(this.ctcScores(t)) as tf.Tensor2D),
    );
  }

  /** The auxiliary CTC head: logits s · x·Eᵀ of projected tokens x [N, d] over the LM's tied token embeddings E (class PAD_ID = blank). */
  private ctcScores(x: tf.Tensor2D): tf.Tensor2D {
    return tf.mul(tf.matMul(x, this.llm.embed as tf.Tensor2D, false, true), tf.exp(this.ctcLogScale!)) as tf.Tensor2D;
  }

  /** CTC of one modality's projected tokens against the transcripts (tied-embedding classifier). */
  private ctcOf(tokens: tf.Tensor2D[], labels: readonly (readonly number[])[]): tf.Scalar {
    const lens = tokens.map((t) => t.shape[0]);
    const T = Math.max(...lens);
    const D = this.cfg.llm.dim;
    const padded = tf.stack(tokens.map((t) => (t.shape[0] < T ? tf.concat([t, tf.zeros([T - t.shape[0], D])], 0) : t))) as tf.Tensor3D;
    const logits = tf.reshape(this.ctcScores(tf.reshape(padded, [-1, D]) as tf.Tensor2D), [tokens.length, T, this.cfg.llm.vocabSize]) as tf.Tensor3D;
    return ctcLossFast(logits, labels, lens, PAD_ID);
  }
}

/** Initial CTC logit scale: token embeddings have RMS ~0.1, so raw dot products are ~100x too small. */
const CTC_INIT_SCALE = 10;

export function avsrConfigOf(c: RunConfig, lm: ResolvedLm, audioDim: number, videoDim: number): AvsrConfig {
  return {
    llm: lm.config,
    audioDim,
    videoDim,
    audioRates: c.audioRates,
    videoRates: c.videoRates,
    compression: c.compression ?? "avg-pooling",
    tail: "partial",
    projectorHidden: c.projectorHidden,
    lora: { r: c.loraR, alpha: c.loraAlpha, targets: c.loraTargets ?? ["q_proj", "v_proj"], dropout: c.loraDropout ?? 0, zeroInit: "up" },
    strategy: loraStrategyOf(c.method),
    prompts: DEFAULT_PROMPTS,
  };
}

export interface BuiltModel {
  model: AvsrModel;
  tokenizer: BpeTokenizer;
  lm: ResolvedLm;
  /**
   * Where the run's inputs come from, for the data openers (`openTrainData`, `openEvalSet`: spread it into
   * their options): the audio from the oracle (`audioSource: "oracle"`) or through the CTC embedding
   * (`audioInput: "ctc-embed"`), the video through its CTC embedding (`videoInput: "ctc-embed"`); none =
   * the cached encoder features as they are. Built here, once, so that training, validation, evaluation,
   * the probes and the elastic demo all read a run's inputs the same way. `disposeInputs` frees them.
   */
  inputs: { oracle?: OracleAudio; audioTransform?: CtcEmbedding; videoTransform?: CtcEmbedding };
}

/** A fresh model for a run config (trainable weights initialised from the run's seed). */
export async function buildModel(c: RunConfig, log: (l: string) => void = () => {}): Promise<BuiltModel> {
  const lm = await resolveLm(c.preset, c.lm, c.lmSource, log);
  const a = encoderRef(c.preset, "audio");
  const v = encoderRef(c.preset, "video");
  const rng = new Rng(c.seed).fork("avsr-model");
  // the CTC embedding reads the LM's token table, so a random LM is made here (as AvsrModel would make it)
  const llm = c.audioInput === "ctc-embed" || c.videoInput === "ctc-embed" ? (lm.llm ?? new Llm(lm.config, rng.fork("llm"))) : lm.llm;
  const audioTransform = llm ? ctcEmbeddingOfRun(c, llm) : undefined;
  const videoTransform = llm ? videoCtcEmbeddingOfRun(c, llm) : undefined;
  const audioDim = audioTransform ? audioTransform.outDim : a.dim;
  const videoDim = videoTransform ? videoTransform.outDim : v.dim;
  const model = new AvsrTrainModel(avsrConfigOf(c, lm, audioDim, videoDim), lm.tokenizer, rng, llm, c.ctcWeight ?? 0);
  const oracle = oracleOfRun({ audioSource: c.audioSource ?? "encoder", seed: c.seed }, lm.tokenizer, audioDim);
  return { model, tokenizer: lm.tokenizer, lm, inputs: { oracle, audioTransform, videoTransform } };
}

/** Frees a built model's input transforms (not the model). */
export function disposeInputs(built: Pick<BuiltModel, "inputs">): void {
  built.inputs.audioTransform?.dispose();
  built.inputs.videoTransform?.dispose();
}

/** results/runs/<id>, or the path itself when `run` is a path to a run folder. */
export function runDirOf(run: string): string {
  if (isAbsolute(run) || run.includes("/")) return run;
  return resultsDir("runs", run);
}

export function readRunConfig(runDir: string): RunConfig {
  const p = join(runDir, "config.json");
  if (!existsSync(p)) throw new InputError(`${runDir} is not a training run (no config.json)`);
  const j = JSON.parse(readFileSync(p, "utf8")) as { run?: RunConfig };
  if (!j.run) throw new InputError(`${p} has no run config`);
  return j.run;
}

/** The folder with a finished run's weights (kept beside the results; the checkpoints are not). */
export function finalWeightsDir(runDir: string): string {
  return join(runDir, "final");
}

/**
 * Loads the trained (trainable) parameters of a run: its final weights when it finished, else its
 * newest checkpoint. Returns their step.
 */
export function restoreTrained(model: AvsrModel, runDir: string): number {
  const final = finalWeightsDir(runDir);
  const dir = existsSync(join(final, "state.json")) ? final : latestCheckpoint(join(runDir, "checkpoints"));
  if (!dir) throw new InputError(`${runDir}: no final weights or checkpoint to evaluate`);
  assignParams(model, loadSafetensorsFile(join(dir, "model.safetensors")).tensors, dir);
  return (JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { step: number }).step;
}

export interface DecodeSetOptions {
  beamWidth: number;
  maxNewTokens: number;
  batchSize: number;
  lengthPenalty?: number;
  /** Joint decoding: attention continuations per live beam that are scored (default ceil(1.5·K), eval/decode.ts). */
  preBeam?: number;
  /** λ of joint CTC/attention decoding with the run's auxiliary CTC head (0/absent: attention only). */
  ctcDecodeWeight?: number;
  /** The modality heads joint decoding uses (default: every modality of the task). */
  ctcModalities?: ReadonlyArray<"audio" | "video">;
  /**
   * Lexicon scoring (pipeline/lexicon-scoring.ts) with weight μ: the joint score becomes
   * (1 − λ − μ)·attention + λ·(auxiliary CTC) + μ·(encoder units through the lexicon).
   */
  lexicon?: { weight: number; reader: UnitReader; features: FeatureSet; unknownLogProb?: number; proposals?: number };
  /**
   * AVSR: a second lexicon stream with weight μv, the video encoder's visemes through the same words'
   * viseme pronunciations (it proposes nothing). The joint score becomes
   * (1 − λ − μ − μv)·attention + λ·(auxiliary CTC) + μ·(audio units) + μv·(video units).
   */
  videoLexicon?: { weight: number; reader: UnitReader; features: FeatureSet; unknownLogProb?: number };
  /**
   * Word-LM fusion (eval/word-lm-prefix.ts) with weight β, on top of joint decoding: the joint score
   * gains β·(word-bigram log-probability of the words spelt). Needs λ + μ + μv > 0.
   */
  wordLm?: { weight: number; lm: BigramLm; proposals?: number };
}

/** The beam search's joint scorers and weight for a batch (undefined: attention only). */
export function jointScoring(model: AvsrModel, tokenizer: BpeTokenizer, samples: readonly AvsrSample[], ids: readonly string[], task: Task, rates: Rates, o: Pick<DecodeSetOptions, "ctcDecodeWeight" | "ctcModalities" | "lexicon" | "videoLexicon" | "wordLm" | "preBeam">): JointCtc | undefined {
  const lam = o.ctcDecodeWeight ?? 0;
  const mu = o.lexicon?.weight ?? 0;
  const muV = o.videoLexicon?.weight ?? 0;
  const beta = o.wordLm?.weight ?? 0;
  const w = lam + mu + muV;
  if (!(lam >= 0 && mu >= 0 && muV >= 0 && w <= 1)) throw new InputError(`joint decoding weights must be ≥ 0 with λ + μ + μv ≤ 1, got λ ${lam}, μ ${mu}, μv ${muV}`);
  if (!(beta >= 0 && Number.isFinite(beta))) throw new InputError(`word-LM weight must be a number ≥ 0, got ${beta}`);
  if (muV > 0 && task !== "avsr") throw new InputError(`the video lexicon stream is for AVSR (the lexicon of ${task} already reads its one modality), got task ${task}`);
  if (w === 0) {
    if (beta > 0) throw new InputError("word-LM fusion needs joint decoding (λ + μ + μv > 0)");
    return undefined;
  }
  const sub = lam > 0 ? ctcScorersOf(model, samples, task, rates, o.ctcModalities) : undefined;
  const lexProposals = mu > 0 ? (o.lexicon!.proposals ?? 0) : 0;
  const lmProposals = beta > 0 ? (o.wordLm!.proposals ?? 0) : 0;
  const lex = mu > 0 ? lexiconScorers(o.lexicon!.reader, o.lexicon!.features, ids, tokenizer, o.lexicon!.unknownLogProb, lexProposals) : undefined;
  const vlex = muV > 0 ? lexiconScorers(o.videoLexicon!.reader, o.videoLexicon!.features, ids, tokenizer, o.videoLexicon!.unknownLogProb) : undefined;
  // the word LM aims its proposals at words the lexicon can score (another would cost the unknown-word penalty)
  const wlm = beta > 0 ? wordLmScorer(o.wordLm!.lm, tokenizer, { proposals: lmProposals, words: (o.lexicon ?? o.videoLexicon)?.reader.lexicon.keys() }) : undefined;
  // the beam search weighs the joint scorer by w = λ + μ + μv, so the parts' weights are divided by it
  const scorers = samples.map((_, i): PrefixScorer => {
    const parts: Array<[PrefixScorer, number]> = [];
    if (sub) parts.push([sub[i]!, lam]);
    if (lex) parts.push([lex[i]!, mu]);
    if (vlex) parts.push([vlex[i]!, muV]);
    if (wlm) parts.push([wlm, beta]);
    if (parts.length === 1) return parts[0]![0];
    return new WeightedPrefixScorer(parts.map(([s]) => s), parts.map(([, x]) => x / w));
  });
  const proposals = Math.max(lexProposals, lmProposals);
  return { scorers, weight: w, preBeam: o.preBeam, proposals: proposals > 0 ? proposals : undefined };
}

function ctcScorersOf(model: AvsrModel, samples: readonly AvsrSample[], task: Task, rates: Rates, modalities?: ReadonlyArray<"audio" | "video">): PrefixScorer[] {
  if (!(model instanceof AvsrTrainModel)) throw new Error("joint CTC decoding needs a model built by buildModel");
  return model.ctcScorers(samples, task, rates, modalities);
}

/** Hypothesis text per utterance (same order as `utts`), decoded in length-sorted batches. */
export function decodeUtterances(model: AvsrModel, tokenizer: BpeTokenizer, set: EvalSet, utts: readonly Utterance[], task: Task, rates: Rates, o: DecodeSetOptions, onBatch?: (done: number) => void): string[] {
  const order = [...utts.keys()].sort((i, j) => evalLength(set, utts[i]!) - evalLength(set, utts[j]!));
  const hyps = new Array<string>(utts.length);
  let done = 0;
  for (let s = 0; s < order.length; s += o.batchSize) {
    const idx = order.slice(s, s + o.batchSize);
    const samples = evalSamples(set, idx.map((i) => utts[i]!));
    try {
      const joint = jointScoring(model, tokenizer, samples, idx.map((i) => utts[i]!.id), task, rates, o);
      const ids = tf.tidy(() => transcribe(model, samples, task, rates, { beamWidth: o.beamWidth, maxNewTokens: o.maxNewTokens, lengthPenalty: o.lengthPenalty, ctc: joint }));
      idx.forEach((i, k) => (hyps[i] = tokenizer.decode(ids[k]!)));
    } finally {
      disposeSamples(samples);
    }
    done += idx.length;
    onBatch?.(done);
  }
  return hyps;
}
