/**
 * Search errors or model errors? For each utterance an evaluation got wrong, the score the beam search
 * ranks by, for the reference and for the hypothesis it returned:
 *
 *   joint(y) = [(1 − w)·log P_att(y, EOS | x) + w·S(y)] / (|y| + 1)^lp
 *
 * with the attention log-probability by teacher forcing, S the run's joint scorers (auxiliary sub-word
 * CTC at λ, lexicon scoring at μ, w = λ + μ, and word-LM fusion at β inside S as β/w; pipeline/model.ts
 * jointScoring) scored on the whole sequence,
 * and lp the length penalty the evaluation used. If the reference scores higher, the model preferred it
 * and the beam search lost it (a search error: a wider search can fix it); if not, the model itself
 * prefers the wrong words (a model error). `npm run probe:search -- <eval json>`.
 *
 *   openEvalScoring(evalJson)   an evaluation reopened: its rows, inputs, and that score of any text
 *                               (also pipeline/lexicon-combination.ts)
 *   searchErrors(evalJson)      the report above
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend/index.js";
import type { Split } from "../data/index.js";
import { conditionName } from "../features/cache.js";
import { taskUses, type AvsrSample, type Rates } from "../models/avsr.js";
import { transcribeNBest, type RankedHypothesis } from "../eval/decode.js";
import type { Task } from "../models/lora.js";
import { readCsv } from "../report/csv.js";
import { disposeSamples, evalSamples, openEvalSet, type EvalSet } from "./data.js";
import { InputError } from "../util/errors.js";
import { checkRunInputs, runInputs } from "./inputs.js";
import { openUnitReader } from "./lexicon-scoring.js";
import { openWordLm } from "./word-lm.js";
import { buildModel, disposeInputs, jointScoring, readRunConfig, restoreTrained, type BuiltModel } from "./model.js";

export interface SequenceScore {
  /** log P_att(y, EOS | x) by teacher forcing. */
  attention: number;
  /** The joint scorers' score of y as a whole sequence (0 without joint decoding). */
  scorers: number;
  /** The beam search's ranking score of the finished hypothesis. */
  joint: number;
  /** (1 − w)·attention + w·scorers: the joint score before length normalisation (w = λ + μ + μv of the heads used). */
  weighted: number;
  /** Its sub-word tokens (EOS not counted). */
  tokens: number;
}

export interface SearchErrorRow {
  id: string;
  ref: string;
  hyp: string;
  refScore: SequenceScore;
  hypScore: SequenceScore;
  /** The reference scores higher than the hypothesis: the search lost it. */
  searchError: boolean;
}

export interface SearchErrorReport {
  evalJson: string;
  /** Utterances whose hypothesis differs from the reference. */
  wrong: number;
  searchErrors: number;
  modelErrors: number;
  rows: SearchErrorRow[];
}

export interface EvalJson {
  task: Task;
  rates: Rates;
  snr: number | null;
  split: Split;
  utterances: number;
  ctcDecodeWeight?: number;
  ctcHeads?: { use: Array<"audio" | "video"> };
  lexiconDecode?: { weight: number; unknownWordLogProb: number; proposals?: number };
  videoLexiconDecode?: { weight: number; unknownWordLogProb: number };
  wordLm?: { weight: number; proposals?: number };
  lengthPenalty?: number;
  beam?: number;
  maxNewTokens?: number;
  preBeam?: number;
}

/** An evaluation reopened for scoring: its hypotheses, the run's model and the evaluated utterances' inputs. */
export interface EvalScoring {
  json: EvalJson;
  /** The evaluation's CSV rows (id, ref, hyp, ...), in the split's order. */
  rows: Array<Record<string, string>>;
  set: EvalSet;
  runDir: string;
  preset: string;
  /** The scores of some texts for the i-th evaluated utterance, as its beam search ranked finished hypotheses. */
  score(i: number, texts: readonly string[]): SequenceScore[];
  /** The i-th utterance decoded again as the evaluation decoded it, returning the beam's ranked hypotheses (text, normalised score), best first. */
  decodeNBest(i: number): Array<{ text: string; score: number }>;
  dispose(): void;
}

/**
 * Reopens an evaluation (its JSON, written by pipeline/eval.ts) with the decoding settings it used. `built`:
 * the run's model already built and restored (evaluation hands over its own, which it then disposes);
 * otherwise it is built from the run's folder and disposed with the scoring.
 */
export async function openEvalScoring(evalJson: string, o: { built?: BuiltModel } = {}): Promise<EvalScoring> {
  if (!existsSync(evalJson)) throw new InputError(`${evalJson}: no such evaluation`);
  const csv = evalJson.replace(/\.json$/, ".csv");
  if (!existsSync(csv)) throw new InputError(`${evalJson}: its hypotheses ${csv} are missing`);
  const j = JSON.parse(readFileSync(evalJson, "utf8")) as EvalJson;
  if (!j.task || !j.rates || !j.split) throw new InputError(`${evalJson}: not an evaluation written by npm run eval (no task, rates or split)`);
  await initBackend();
  const runDir = dirname(dirname(evalJson));
  const cfg = readRunConfig(runDir);
  // the same refusal as evaluation's: scores under other encoders than the run was trained on mean nothing
  checkRunInputs(runDir, runInputs(cfg), "eval");
  const built = o.built ?? (await buildModel(cfg, () => {}));
  if (!o.built) restoreTrained(built.model, runDir);
  const use = taskUses(j.task);
  const rows = readCsv(csv, { typed: false, required: ["id", "ref", "hyp"] }) as Array<Record<string, string>>;
  const set = await openEvalSet(cfg.preset, j.split, { audioCondition: conditionName(j.snr), needAudio: use.audio, needVideo: use.video, limit: rows.length, ...built.inputs });
  rows.forEach((r, i) => {
    if (set.utterances[i]?.id !== r.id) throw new InputError(`${csv}: row ${i + 1} is ${r.id}, the split's utterance ${i + 1} is ${set.utterances[i]?.id}`);
  });
  const lam = j.ctcDecodeWeight && j.ctcHeads && j.ctcHeads.use.length > 0 ? j.ctcDecodeWeight : 0;
  const mu = j.lexiconDecode?.weight ?? 0;
  const reader = mu > 0 ? await openUnitReader(cfg.preset, use.audio ? "audio" : "video") : undefined;
  const muV = j.videoLexiconDecode?.weight ?? 0;
  const videoReader = muV > 0 ? await openUnitReader(cfg.preset, "video") : undefined;
  const wordLm = j.wordLm && j.wordLm.weight > 0 ? { weight: j.wordLm.weight, lm: (await openWordLm(cfg.preset)).lm, proposals: j.wordLm.proposals } : undefined;
  const lp = j.lengthPenalty ?? 1;
  const tok = built.tokenizer;
  const model = built.model;
  const V = model.llm.config.vocabSize;
  const jointOf = (samples: AvsrSample[], id: string) =>
    reader || videoReader || lam > 0
      ? jointScoring(model, tok, samples, [id], j.task, j.rates, { ctcDecodeWeight: lam || undefined, ctcModalities: j.ctcHeads?.use, lexicon: reader ? { weight: mu, reader, features: use.audio ? set.audio! : set.video!, unknownLogProb: j.lexiconDecode!.unknownWordLogProb, proposals: j.lexiconDecode!.proposals } : undefined, videoLexicon: videoReader ? { weight: muV, reader: videoReader, features: set.video!, unknownLogProb: j.videoLexiconDecode!.unknownWordLogProb } : undefined, wordLm, preBeam: j.preBeam })
      : undefined;
  const decodeNBest = (i: number): Array<{ text: string; score: number }> => {
    const u = set.utterances[i]!;
    const samples = evalSamples(set, [u]);
    try {
      const joint = jointOf(samples, u.id);
      let pool: RankedHypothesis[] = [];
      tf.tidy(() => {
        pool = transcribeNBest(model, samples, j.task, j.rates, { beamWidth: Math.max(1, j.beam ?? 1), maxNewTokens: j.maxNewTokens, lengthPenalty: j.lengthPenalty, ctc: joint })[0]!;
      });
      return pool.map((h) => ({ text: tok.decode(h.tokens), score: h.score }));
    } finally {
      disposeSamples(samples);
    }
  };
  const score = (i: number, texts: readonly string[]): SequenceScore[] => {
    const u = set.utterances[i]!;
    const samples = evalSamples(set, [u]);
    try {
      const joint = jointOf(samples, u.id);
      return texts.map((text) => {
        const ids = tok.encode(text);
        const attention = tf.tidy(() => {
          const inp = model.trainInputs(samples.map((s) => ({ ...s, transcript: ids })), j.task, j.rates);
          const lpAll = tf.logSoftmax(model.llm.forward({ embeds: inp.embeds }, { ctx: model.contextFor(j.task) }).logits!).dataSync() as Float32Array;
          let s = 0;
          inp.targets.forEach((t, p) => {
            if (t >= 0) s += lpAll[p * V + t]!;
          });
          return s;
        });
        let scorers = 0;
        if (joint) {
          const sc = joint.scorers[0]!;
          let st = sc.initial();
          for (const c of ids) st = sc.extend(st, c);
          scorers = sc.final(st);
        }
        const w = joint?.weight ?? 0;
        const weighted = (1 - w) * attention + w * scorers;
        return { attention, scorers, weighted, joint: weighted / Math.pow(ids.length + 1, lp), tokens: ids.length };
      });
    } finally {
      disposeSamples(samples);
    }
  };
  return {
    json: j,
    rows,
    set,
    runDir,
    preset: cfg.preset,
    score,
    decodeNBest,
    dispose: () => {
      if (!o.built) {
        built.model.dispose();
        disposeInputs(built);
      }
      reader?.dispose();
      videoReader?.dispose();
    },
  };
}

/** Scores the reference and the hypothesis of every wrong utterance of an evaluation (its JSON, written by pipeline/eval.ts). */
export async function searchErrors(evalJson: string, o: { limit?: number } = {}): Promise<SearchErrorReport> {
  const ev = await openEvalScoring(evalJson);
  const out: SearchErrorRow[] = [];
  try {
    for (let i = 0; i < ev.rows.length && out.length < (o.limit ?? Infinity); i++) {
      const r = ev.rows[i]!;
      if (r.hyp === r.ref) continue;
      const [refScore, hypScore] = ev.score(i, [r.ref!, r.hyp!]) as [SequenceScore, SequenceScore];
      out.push({ id: r.id!, ref: r.ref!, hyp: r.hyp!, refScore, hypScore, searchError: refScore.joint > hypScore.joint });
    }
  } finally {
    ev.dispose();
  }
  const searchErrorsN = out.filter((x) => x.searchError).length;
  return { evalJson, wrong: out.length, searchErrors: searchErrorsN, modelErrors: out.length - searchErrorsN, rows: out };
}
