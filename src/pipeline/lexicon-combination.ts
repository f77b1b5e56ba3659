/**
 * Hypothesis combination of an LLM evaluation with the conventional lexicon recogniser of the same frozen
 * encoder (eval/lexicon-decode.ts: greedy units + pronunciation lexicon + word bigram, no LLM). For VSR
 * the two are about as good (validation VSR(2): 61.7 against 60.6 %) and err differently: taking the
 * better of the two per utterance would give 49.6 % (`npm run compare`, oracleOfTwo). This picks one of
 * the two whole hypotheses per utterance, without the reference, by a weighted sum of both systems' scores:
 *
 *   choose argmax_{y ∈ {y_LLM, y_lex}}  (1 − α)·J(y) + α·L(y)
 *
 * J(y) = (1 − w)·log P_att(y, EOS | x) + w·S(y), the LLM's joint score of the whole sequence under the
 * decoding the evaluation used (its auxiliary CTC at λ, lexicon scoring at μ; pipeline/search-errors.ts
 * SequenceScore.weighted), not length-normalised; L(y) = the lexicon recogniser's objective maximised over alignments of y's words
 * (eval/lexicon-decode.ts lexiconScore). α = 0 keeps the LLM's hypothesis whenever the LLM prefers it, α = 1
 * the lexicon recogniser's whenever it prefers it; α is chosen on validation and then applied to test
 * (VSR_COMBINATION_WEIGHT in pipeline/decode-recipes.ts, the `best` recipe's for VSR).
 *
 * With N-best lists (`nBest: { llm: N, lexicon: M }`) the choice is among the LLM's N best hypotheses (the
 * utterance decoded again as the evaluation decoded it: the beam's finished hypotheses) and the recogniser's M
 * best word sequences, each scored the same way; N = M = 1 is the two-way choice above.
 *
 *   combineWithLexicon(evalJson, { weights })   the WER at each α; with one α the eval files of the choice
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { oracleOfTwo } from "../eval/bootstrap.js";
import type { LexiconScoreOptions } from "../eval/lexicon-decode.js";
import { corpusCer, corpusWer, wordEdits } from "../eval/wer.js";
import { taskUses } from "../models/avsr.js";
import { writeCsvSync } from "../report/csv.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { InputError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { repoRelative } from "../util/paths.js";
import { openLexiconRecogniser, type LexiconRecogniser } from "./lexicon-recogniser.js";
import type { BuiltModel } from "./model.js";
import { openEvalScoring } from "./search-errors.js";

export interface CombinationParams {
  /** α values to try (each in [0, 1]); with exactly one, its choices are written as eval files. */
  weights: readonly number[];
  /** The lexicon recogniser's settings (default DEFAULT_LEXICON_SCORE: the probe's lm weight 1, edit cost 4, skip cost 6). */
  lexicon?: Partial<LexiconScoreOptions>;
  /** Hypotheses per system to choose among (default 1 and 1: the two 1-best hypotheses). */
  nBest?: Partial<NBestSizes>;
  log?: (line: string) => void;
  /** The run's model, already built and restored (evaluation passes its own; default: built from the run's folder). */
  built?: BuiltModel;
}

/** One hypothesis up for choice: its text, which system proposed it at which rank (1 = its best), and both scores. */
export interface Candidate {
  hyp: string;
  source: "llm" | "lex";
  rank: number;
  joint: number;
  lexicon: number;
}

export interface CombinationUtterance {
  id: string;
  speaker: string;
  ref: string;
  /** The evaluation's hypothesis (the LLM's 1-best). */
  llm: Candidate;
  /** The lexicon recogniser's 1-best. */
  lex: Candidate;
  /** Every distinct hypothesis up for choice, the LLM's first (llm and lex among them). */
  candidates: Candidate[];
}

export interface CombinationResult {
  evalJson: string;
  nBest: NBestSizes;
  utterances: CombinationUtterance[];
  llmWer: number;
  lexWer: number;
  /** The better of the two 1-best hypotheses per utterance, with the reference (the ceiling of the two-way choice). */
  oracleWer: number;
  /** The best of all candidates per utterance, with the reference (the ceiling of the N-best choice). */
  candidateOracleWer: number;
  /** The WER of the choice at each α. */
  byWeight: Array<{ weight: number; wer: number; cer: number; lexChosen: number }>;
  /** For a single α: the eval files written and the choice's scores. */
  written?: { csv: string; json: string; wer: number; cer: number; wordErrors: number; refWords: number; sub: number; del: number; ins: number };
}

/** The combined score (1 − α)·J + α·L (a weight of 0 drops its term: the LLM's joint score is -Infinity for a text its CTC cannot align, and 0·-Infinity is NaN). */
export function combinedScore(x: Pick<Candidate, "joint" | "lexicon">, alpha: number): number {
  return (alpha < 1 ? (1 - alpha) * x.joint : 0) + (alpha > 0 ? alpha * x.lexicon : 0);
}

/** The candidate the combination takes at α (pure; ties keep the earlier, so the LLM's 1-best wins a tie). */
export function chooseCandidate<C extends Pick<Candidate, "joint" | "lexicon">>(candidates: readonly C[], alpha: number): C {
  if (candidates.length === 0) throw new Error("chooseCandidate: no candidates");
  let best = candidates[0]!;
  for (const c of candidates) if (combinedScore(c, alpha) > combinedScore(best, alpha)) best = c;
  return best;
}

/** Which 1-best hypothesis the two-way combination takes for an utterance at α (pure; ties keep the LLM's). */
export function chooseHypothesis(u: { llm: Pick<Candidate, "joint" | "lexicon">; lex: Pick<Candidate, "joint" | "lexicon"> }, alpha: number): "llm" | "lex" {
  return chooseCandidate([u.llm, u.lex], alpha) === u.llm ? "llm" : "lex";
}

/** The sizes of the combination's N-best lists. */
export interface NBestSizes {
  llm: number;
  lexicon: number;
}

/**
 * Checks N-best sizes (integers ≥ 1; the LLM's no more than the beam it comes from) and fills the defaults
 * (1 and 1); evaluation checks before decoding, the combination again on the evaluation it reopens.
 */
export function checkNBest(n: Partial<NBestSizes> | undefined, beam: number): NBestSizes {
  const sizes = { llm: n?.llm ?? 1, lexicon: n?.lexicon ?? 1 };
  for (const [k, x] of Object.entries(sizes)) if (!(Number.isInteger(x) && x >= 1)) throw new InputError(`the combination's N-best of the ${k === "llm" ? "LLM" : "lexicon recogniser"} must be an integer ≥ 1, got ${x}`);
  if (sizes.llm > Math.max(1, beam)) throw new InputError(`the combination's N-best of ${sizes.llm} from the LLM needs a beam at least as wide (beam ${beam})`);
  return sizes;
}

/** "N,M" (a command-line flag's text) -> N-best sizes. */
export function parseNBest(text: string, flag: string): NBestSizes {
  const parts = text.split(",");
  const [llm, lexicon] = parts.map(Number);
  if (parts.length !== 2 || !Number.isInteger(llm) || !Number.isInteger(lexicon)) throw new InputError(`${flag}: give N,M (the LLM's and the recogniser's list sizes, two integers), got ${text}`);
  return { llm: llm!, lexicon: lexicon! };
}

/** The combination file's name beside the evaluation's: <name>_lexcomb<α>[_nbest<N>x<M>][_<split>]. */
export function combinationName(evalJson: string, alpha: number, nBest: { llm?: number; lexicon?: number } = {}): string {
  const base = evalJson.replace(/\.json$/, "").split("/").pop()!;
  const m = /^(.*?)(_val)?$/.exec(base)!;
  const n = (nBest.llm ?? 1) > 1 || (nBest.lexicon ?? 1) > 1 ? `_nbest${nBest.llm ?? 1}x${nBest.lexicon ?? 1}` : "";
  return `${m[1]}_lexcomb${alpha}${n}${m[2] ?? ""}`;
}

export async function combineWithLexicon(evalJson: string, p: CombinationParams): Promise<CombinationResult> {
  const log = p.log ?? ((line: string) => console.error(line));
  for (const a of p.weights) if (!(a >= 0 && a <= 1)) throw new InputError(`combination weight α must be in [0, 1], got ${a}`);
  if (p.weights.length === 0) throw new InputError("give at least one combination weight α");
  checkNBest(p.nBest, Infinity);
  const ev = await openEvalScoring(evalJson, { built: p.built });
  let rec: LexiconRecogniser | undefined;
  try {
    const nBest = checkNBest(p.nBest, ev.json.beam ?? 1);
    const use = taskUses(ev.json.task);
    const modality = use.audio ? "audio" : "video";
    const features = modality === "audio" ? ev.set.audio : ev.set.video;
    if (!features) throw new InputError(`${evalJson}: the run reads no cached ${modality} features, which the lexicon recogniser decodes`);
    rec = await openLexiconRecogniser(ev.preset, modality, { options: p.lexicon });
    const r0 = rec;
    log(`[combine] ${repoRelative(evalJson)} with the ${modality} encoder's ${r0.encoder.inventory.kind}s + lexicon (${r0.prons.size} words) + word bigram; α ${p.weights.join(", ")}${nBest.llm > 1 || nBest.lexicon > 1 ? `; N-best ${nBest.llm} (LLM) and ${nBest.lexicon} (recogniser)` : ""}`);
    const progress = new Progress(ev.rows.length, { unit: "utt", label: "combine", write: log, intervalMs: 5000 });
    const utterances: CombinationUtterance[] = [];
    ev.rows.forEach((r, i) => {
      const u = ev.set.utterances[i]!;
      const units = r0.unitNames(r0.greedyUnits(features.get(u.id)));
      // the LLM's candidates: the evaluation's hypothesis first, then the beam's others
      const proposed: Array<Pick<Candidate, "hyp" | "source" | "rank">> = [{ hyp: r.hyp ?? "", source: "llm", rank: 1 }];
      if (nBest.llm > 1) ev.decodeNBest(i).slice(0, nBest.llm).forEach((h, k) => proposed.push({ hyp: h.text, source: "llm", rank: k + 1 }));
      // (never empty: skipping every unit is always a hypothesis)
      const lexList = r0.decode(units, nBest.lexicon);
      lexList.forEach((h, k) => proposed.push({ hyp: h.words.join(" "), source: "lex", rank: k + 1 }));
      // distinct texts, the first proposal of each kept (the lexicon's 1-best is looked up below even when the LLM said it too)
      const seen = new Map<string, Pick<Candidate, "hyp" | "source" | "rank">>();
      for (const c of proposed) if (!seen.has(c.hyp)) seen.set(c.hyp, c);
      const texts = [...seen.keys()];
      const joint = ev.score(i, texts);
      const candidates: Candidate[] = texts.map((t, k) => ({ ...seen.get(t)!, joint: joint[k]!.weighted, lexicon: r0.score(units, t.split(" ").filter(Boolean)) }));
      const byText = (t: string) => candidates.find((c) => c.hyp === t)!;
      const lexBest = lexList[0]!.words.join(" ");
      utterances.push({ id: u.id, speaker: u.speaker, ref: u.text, llm: candidates[0]!, lex: { ...byText(lexBest), source: "lex", rank: 1 }, candidates });
      progress.update(i + 1);
    });
    const werOf = (pick: (u: CombinationUtterance) => string) => corpusWer(utterances.map((u) => ({ ref: u.ref, hyp: pick(u) })));
    const errorsOf = (hyp: (u: CombinationUtterance) => string) => utterances.map((u) => ({ errors: wordEdits(u.ref, hyp(u)).errors, refWords: wordEdits(u.ref, "").refLen }));
    const bestCandidate = (u: CombinationUtterance) => {
      const errors = u.candidates.map((c) => wordEdits(u.ref, c.hyp).errors);
      return u.candidates[errors.indexOf(Math.min(...errors))]!.hyp;
    };
    const choices = p.weights.map((weight) => utterances.map((u) => chooseCandidate(u.candidates, weight)));
    const byWeight = p.weights.map((weight, w) => {
      const pairs = utterances.map((u, k) => ({ ref: u.ref, hyp: choices[w]![k]!.hyp }));
      return { weight, wer: corpusWer(pairs).rate, cer: corpusCer(pairs).rate, lexChosen: choices[w]!.filter((c) => c.source === "lex").length };
    });
    const result: CombinationResult = {
      evalJson: repoRelative(evalJson),
      nBest,
      utterances,
      llmWer: werOf((u) => u.llm.hyp).rate,
      lexWer: werOf((u) => u.lex.hyp).rate,
      oracleWer: oracleOfTwo(errorsOf((u) => u.llm.hyp), errorsOf((u) => u.lex.hyp)),
      candidateOracleWer: werOf(bestCandidate).rate,
      byWeight,
    };
    if (p.weights.length === 1) {
      const alpha = p.weights[0]!;
      const dir = dirname(evalJson);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      const name = combinationName(evalJson, alpha, nBest);
      const csv = join(dir, `${name}.csv`);
      const json = join(dir, `${name}.json`);
      writeCsvSync(
        csv,
        utterances.map((u, k) => {
          const c = choices[0]![k]!;
          const e = wordEdits(u.ref, c.hyp);
          return { id: u.id, speaker: u.speaker, ref: u.ref, hyp: c.hyp, word_errors: e.errors, ref_words: e.refLen, chosen: c.source, chosen_rank: c.rank, candidates: u.candidates.length, llm_hyp: u.llm.hyp, lex_hyp: u.lex.hyp, llm_joint: u.llm.joint, llm_lexicon: u.llm.lexicon, lex_joint: u.lex.joint, lex_lexicon: u.lex.lexicon };
        }),
        ["id", "speaker", "ref", "hyp", "word_errors", "ref_words", "chosen", "chosen_rank", "candidates", "llm_hyp", "lex_hyp", "llm_joint", "llm_lexicon", "lex_joint", "lex_lexicon"],
      );
      const chosen = corpusWer(utterances.map((u, k) => ({ ref: u.ref, hyp: choices[0]![k]!.hyp })));
      writeFileAtomicSync(
        json,
        JSON.stringify({ ...ev.json, csv: repoRelative(csv), json: repoRelative(json), combination: { weight: alpha, of: repoRelative(evalJson), lexicon: r0.options, nBest, llmWer: result.llmWer, lexWer: result.lexWer, oracleWer: result.oracleWer, candidateOracleWer: result.candidateOracleWer, lexChosen: byWeight[0]!.lexChosen }, wer: chosen.rate, cer: byWeight[0]!.cer, wordErrors: chosen.errors, refWords: chosen.refLen, sub: chosen.sub, del: chosen.del, ins: chosen.ins, utterances: utterances.length }, null, 2) + "\n",
      );
      result.written = { csv: repoRelative(csv), json: repoRelative(json), wer: chosen.rate, cer: byWeight[0]!.cer, wordErrors: chosen.errors, refWords: chosen.refLen, sub: chosen.sub, del: chosen.del, ins: chosen.ins };
    }
    return result;
  } finally {
    rec?.dispose();
    ev.dispose();
  }
}
