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
 *   combineWithLexicon(evalJson, { weights })   the WER at each α; with one α the eval files of the choice
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { openCorpus } from "../data/index.js";
import { DEFAULT_LEXICON_SCORE, lexiconDecode, lexiconScore, pronunciationsOf, type LexiconScoreOptions } from "../eval/lexicon-decode.js";
import { oracleOfTwo } from "../eval/bootstrap.js";
import { corpusCer, corpusWer, wordEdits } from "../eval/wer.js";
import { taskUses } from "../models/avsr.js";
import { ctcGreedyDecode } from "../models/ctc.js";
import { loadEncoder } from "../pretrain/encoders/index.js";
import { writeCsvSync } from "../report/csv.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { InputError } from "../util/errors.js";
import { Progress } from "../util/progress.js";
import { repoRelative } from "../util/paths.js";
import { unitsOfAlignment } from "./lexicon-scoring.js";
import { openEvalScoring } from "./search-errors.js";
import { openWordLm } from "./word-lm.js";

export interface CombinationParams {
  /** α values to try (each in [0, 1]); with exactly one, its choices are written as eval files. */
  weights: readonly number[];
  /** The lexicon recogniser's settings (default DEFAULT_LEXICON_SCORE: the probe's lm weight 1, edit cost 4, skip cost 6). */
  lexicon?: Partial<LexiconScoreOptions>;
  log?: (line: string) => void;
}

export interface CombinationUtterance {
  id: string;
  speaker: string;
  ref: string;
  llm: { hyp: string; joint: number; lexicon: number };
  lex: { hyp: string; joint: number; lexicon: number };
}

export interface CombinationResult {
  evalJson: string;
  utterances: CombinationUtterance[];
  llmWer: number;
  lexWer: number;
  /** The better of the two per utterance, with the reference (the ceiling). */
  oracleWer: number;
  /** The WER of the choice at each α. */
  byWeight: Array<{ weight: number; wer: number; cer: number; lexChosen: number }>;
  /** For a single α: the eval files written and the choice's scores. */
  written?: { csv: string; json: string; wer: number; cer: number; wordErrors: number; refWords: number; sub: number; del: number; ins: number };
}

/** Which hypothesis the combination takes for an utterance at α (pure; ties keep the LLM's). */
export function chooseHypothesis(u: Pick<CombinationUtterance, "llm" | "lex">, alpha: number): "llm" | "lex" {
  // a weight of 0 drops its term (the LLM's joint score is -Infinity for a text its CTC cannot align: 0·-Infinity is NaN)
  const s = (x: { joint: number; lexicon: number }) => (alpha < 1 ? (1 - alpha) * x.joint : 0) + (alpha > 0 ? alpha * x.lexicon : 0);
  return s(u.lex) > s(u.llm) ? "lex" : "llm";
}

/** The combination file's name beside the evaluation's: <name>_lexcomb<α>[_<split>]. */
export function combinationName(evalJson: string, alpha: number): string {
  const base = evalJson.replace(/\.json$/, "").split("/").pop()!;
  const m = /^(.*?)(_val)?$/.exec(base)!;
  return `${m[1]}_lexcomb${alpha}${m[2] ?? ""}`;
}

export async function combineWithLexicon(evalJson: string, p: CombinationParams): Promise<CombinationResult> {
  const log = p.log ?? ((line: string) => console.error(line));
  for (const a of p.weights) if (!(a >= 0 && a <= 1)) throw new InputError(`combination weight α must be in [0, 1], got ${a}`);
  if (p.weights.length === 0) throw new InputError("give at least one combination weight α");
  const ev = await openEvalScoring(evalJson);
  let enc: ReturnType<typeof loadEncoder> | undefined;
  try {
    const use = taskUses(ev.json.task);
    const modality = use.audio ? "audio" : "video";
    const features = modality === "audio" ? ev.set.audio : ev.set.video;
    if (!features) throw new InputError(`${evalJson}: the run reads no cached ${modality} features, which the lexicon recogniser decodes`);
    const corpus = await openCorpus(ev.preset);
    const encoder = loadEncoder(ev.preset, modality);
    enc = encoder;
    const prons = pronunciationsOf(corpus.utterances("train").map((u) => unitsOfAlignment(corpus, u.id, modality)));
    const { lm } = await openWordLm(ev.preset);
    const o = { ...DEFAULT_LEXICON_SCORE, ...p.lexicon };
    log(`[combine] ${repoRelative(evalJson)} with the ${modality} encoder's ${encoder.inventory.kind}s + lexicon (${prons.size} words) + word bigram; α ${p.weights.join(", ")}`);
    const progress = new Progress(ev.rows.length, { unit: "utt", label: "combine", write: log, intervalMs: 5000 });
    const utterances: CombinationUtterance[] = [];
    ev.rows.forEach((r, i) => {
      const u = ev.set.utterances[i]!;
      const f = features.get(u.id);
      const units = tf.tidy(() => ctcGreedyDecode(encoder.model.head.apply(tf.tensor3d(f.data, [1, f.frames, f.dim])) as tf.Tensor3D, [f.frames])[0]!);
      const phones = units.map((c) => encoder.inventory.units[c - 1]!);
      const lexHyp = lexiconDecode(phones, prons, lm, o).join(" ");
      const llmHyp = r.hyp ?? "";
      const [sLlm, sLex] = ev.score(i, [llmHyp, lexHyp]);
      const lexOf = (h: string) => lexiconScore(phones, h.split(" ").filter(Boolean), prons, lm, o);
      utterances.push({
        id: u.id,
        speaker: u.speaker,
        ref: u.text,
        llm: { hyp: llmHyp, joint: sLlm!.weighted, lexicon: lexOf(llmHyp) },
        lex: { hyp: lexHyp, joint: sLex!.weighted, lexicon: lexOf(lexHyp) },
      });
      progress.update(i + 1);
    });
    const werOf = (pick: (u: CombinationUtterance) => string) => corpusWer(utterances.map((u) => ({ ref: u.ref, hyp: pick(u) })));
    const errorsOf = (hyp: (u: CombinationUtterance) => string) => utterances.map((u) => ({ errors: wordEdits(u.ref, hyp(u)).errors, refWords: wordEdits(u.ref, "").refLen }));
    const byWeight = p.weights.map((weight) => {
      const pairs = utterances.map((u) => ({ ref: u.ref, hyp: u[chooseHypothesis(u, weight)].hyp }));
      return { weight, wer: corpusWer(pairs).rate, cer: corpusCer(pairs).rate, lexChosen: utterances.filter((u) => chooseHypothesis(u, weight) === "lex").length };
    });
    const result: CombinationResult = { evalJson: repoRelative(evalJson), utterances, llmWer: werOf((u) => u.llm.hyp).rate, lexWer: werOf((u) => u.lex.hyp).rate, oracleWer: oracleOfTwo(errorsOf((u) => u.llm.hyp), errorsOf((u) => u.lex.hyp)), byWeight };
    if (p.weights.length === 1) {
      const alpha = p.weights[0]!;
      const dir = dirname(evalJson);
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      const name = combinationName(evalJson, alpha);
      const csv = join(dir, `${name}.csv`);
      writeCsvSync(
        csv,
        utterances.map((u) => {
          const which = chooseHypothesis(u, alpha);
          const e = wordEdits(u.ref, u[which].hyp);
          return { id: u.id, speaker: u.speaker, ref: u.ref, hyp: u[which].hyp, word_errors: e.errors, ref_words: e.refLen, chosen: which, llm_hyp: u.llm.hyp, lex_hyp: u.lex.hyp, llm_joint: u.llm.joint, llm_lexicon: u.llm.lexicon, lex_joint: u.lex.joint, lex_lexicon: u.lex.lexicon };
        }),
        ["id", "speaker", "ref", "hyp", "word_errors", "ref_words", "chosen", "llm_hyp", "lex_hyp", "llm_joint", "llm_lexicon", "lex_joint", "lex_lexicon"],
      );
      const chosen = corpusWer(utterances.map((u) => ({ ref: u.ref, hyp: u[chooseHypothesis(u, alpha)].hyp })));
      writeFileAtomicSync(
        join(dir, `${name}.json`),
        JSON.stringify({ ...ev.json, csv: repoRelative(csv), json: repoRelative(join(dir, `${name}.json`)), combination: { weight: alpha, of: repoRelative(evalJson), lexicon: o, llmWer: result.llmWer, lexWer: result.lexWer, oracleWer: result.oracleWer, lexChosen: byWeight[0]!.lexChosen }, wer: chosen.rate, cer: byWeight[0]!.cer, wordErrors: chosen.errors, refWords: chosen.refLen, sub: chosen.sub, del: chosen.del, ins: chosen.ins, utterances: utterances.length }, null, 2) + "\n",
      );
      result.written = { csv: repoRelative(csv), json: repoRelative(join(dir, `${name}.json`)), wer: chosen.rate, cer: byWeight[0]!.cer, wordErrors: chosen.errors, refWords: chosen.refLen, sub: chosen.sub, del: chosen.del, ins: chosen.ins };
    }
    return result;
  } finally {
    enc?.model.dispose();
    ev.dispose();
  }
}
