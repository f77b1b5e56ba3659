/**
 * Evaluation of a trained run: decode a split (test by default) for one task at one rate pair, clean or
 * with babble on the audio (video stays clean), and write per-utterance hypotheses and corpus scores:
 *
 *   results/runs/<run-id>/eval/<task>_<a>-<v>[_babble<snr>].csv    id, speaker, ref, hyp, word errors, ref words
 *   results/runs/<run-id>/eval/<task>_<a>-<v>[_babble<snr>].json   WER/CER (corpus level), counts, settings
 *
 * With `ctcDecodeWeight` λ > 0 (runs trained with the auxiliary CTC loss; not in the paper) decoding is
 * joint CTC/attention (eval/decode.ts) and the files get a `_ctcdec<λ>` suffix, beside the plain ones.
 * Only the heads whose rate holds at least 90 % of the training transcripts are used
 * (pipeline/ctc-coverage.ts; none: the search is attention only); the JSON says which.
 * A split other than test adds `_<split>` (e.g. asr_4-0_val.csv), so tuning on val never overwrites a
 * test score. The names: pipeline/eval-files.ts (shared with the experiment plan).
 *
 * The rate of a modality the task does not use is written as 0 (asr_4-0, vsr_0-2, avsr_4-2).
 * Noisy audio comes from the feature cache (test split at each SNR of EVAL_SNRS, deterministic per
 * (utterance, noise, SNR, seed 0)); other SNRs need `npm run features -- --snrs ...` first.
 *
 * Decoding: beam search with the KV cache (eval/decode.ts). Default beam width 4 and at most 32 new
 * tokens (the paper's limit). The paper uses 15 beams; here decode time grows about linearly with the
 * width (measured on the tiny LM, 16 utterances x 20 tokens: greedy 0.30 s, beam 4 0.8 s), and the
 * 1,000-utterance test set is decoded for many (run, task, rate, SNR) cells in issue 6, so 4 is the
 * default and `beam` (1 = greedy) is a parameter. Batches of utterances sorted by length.
 *
 *   evaluateRun(params) -> EvalResult          (library; `evalJob(params, jobDir)` for the experiment runner)
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { initBackend } from "../backend/index.js";
import { corpusCer, corpusWer, wordEdits } from "../eval/wer.js";
import { taskUses, type Rates } from "../models/avsr.js";
import type { Task } from "../models/lora.js";
import { writeCsvSync } from "../report/csv.js";
import type { Split } from "../data/index.js";
import { writeFileAtomicSync } from "../util/atomic.js";
import { Progress } from "../util/progress.js";
import { repoRelative } from "../util/paths.js";
import { conditionName } from "../features/cache.js";
import { openEvalSet } from "./data.js";
import { checkRunInputs, runInputs } from "./inputs.js";
import { checkNBest, combineWithLexicon } from "./lexicon-combination.js";
import { buildModel, disposeInputs, decodeUtterances, readRunConfig, restoreTrained, runDirOf } from "./model.js";
import { ctcHeadsOf, type CtcHeads } from "./ctc-coverage.js";
import { DEFAULT_BEAM_WIDTH, evalFileName } from "./eval-files.js";
import { openUnitReader } from "./lexicon-scoring.js";
import { openWordLm } from "./word-lm.js";
import { DEFAULT_UNKNOWN_LOGP } from "../eval/lexicon-prefix.js";
import { InputError } from "../util/errors.js";

export interface EvalParams {
  /** Run id (under results/runs/) or a run folder path. */
  run: string;
  task: Task;
  /** The rate pair; the unused modality's rate is ignored. */
  rates: Rates;
  /** Babble SNR in dB on the audio; null/undefined = clean. */
  snr?: number | null;
  noise?: "babble";
  split?: Split;
  /** First N utterances of the split (0 = all). */
  limit?: number;
  beam?: number;
  maxNewTokens?: number;
  batchSize?: number;
  lengthPenalty?: number;
  /** λ of joint CTC/attention decoding (0/absent: attention only, the paper's). */
  ctcDecodeWeight?: number;
  /**
   * μ of lexicon scoring (pipeline/lexicon-scoring.ts; 0/absent: none): the shipped encoder's units
   * through the training lexicon, audio for ASR and AVSR, video for VSR. Any run; λ + μ ≤ 1.
   */
  lexiconDecodeWeight?: number;
  /**
   * AVSR: μv of a second lexicon stream, the shipped video encoder's visemes through the training
   * words' viseme pronunciations, beside the audio one (0/absent: none); λ + μ + μv ≤ 1.
   */
  videoLexiconDecodeWeight?: number;
  /** Log-probability of a word without a pronunciation under lexicon scoring (default DEFAULT_UNKNOWN_LOGP, −100). */
  unknownWordLogProb?: number;
  /** Joint decoding: attention continuations per live beam that are scored (default ceil(1.5·beam), eval/decode.ts). */
  preBeam?: number;
  /**
   * Lexicon scoring: tokens per live beam that the lexicon proposes (its best next pieces, eval/lexicon-prefix.ts),
   * scored beside the attention pre-beam; 0/absent: none.
   */
  lexiconProposals?: number;
  /**
   * β of word-LM fusion (pipeline/word-lm.ts; 0/absent: none): the joint score gains β·(log-probability
   * of the words spelt under a word bigram of the LM text). Needs joint decoding (λ + μ + μv > 0).
   */
  wordLmWeight?: number;
  /** Word-LM fusion: tokens per live beam that the word LM proposes (towards its likeliest next words that the lexicon knows); 0/absent: none. */
  wordLmProposals?: number;
  /**
   * α of hypothesis combination with the shipped encoder's lexicon recogniser (pipeline/lexicon-combination.ts;
   * absent: none): after decoding, per utterance the LLM's or the recogniser's hypothesis; both eval files are
   * written (`<name>` and `<name>_lexcomb<α>`) and the combined scores returned.
   */
  lexiconCombination?: number;
  /** The combination's N-best lists: the LLM's N best (N ≤ beam) and the recogniser's M best (default 1 and 1). */
  lexiconCombinationNBest?: { llm: number; lexicon: number };
}

export interface EvalResult {
  run: string;
  task: Task;
  rates: Rates;
  noise: string;
  snr: number | null;
  split: Split;
  utterances: number;
  wer: number;
  cer: number;
  wordErrors: number;
  refWords: number;
  sub: number;
  del: number;
  ins: number;
  beam: number;
  maxNewTokens: number;
  /** Present when joint CTC/attention decoding was asked for. */
  ctcDecodeWeight?: number;
  /** With it: the modality heads used (pipeline/ctc-coverage.ts; empty = attention only) and the training-transcript coverage of each. */
  ctcHeads?: CtcHeads;
  /** Present when lexicon scoring was asked for: μ, the units' modality and the lexicon's size. */
  lexiconDecode?: { weight: number; modality: "audio" | "video"; words: number; unknownWordLogProb: number; proposals: number };
  /** Present when the video lexicon stream was asked for (AVSR): μv and its lexicon's size. */
  videoLexiconDecode?: { weight: number; words: number; unknownWordLogProb: number };
  /** Present when word-LM fusion was asked for: β and the LM's text. */
  wordLm?: { weight: number; sentences: number; source: string; proposals: number };
  /** Present when a pre-beam was given (joint decoding). */
  preBeam?: number;
  /** Present when a length penalty was given (default 1: scores divided by the token count). */
  lengthPenalty?: number;
  /** Present when hypothesis combination was asked for: α, and the WERs of the two systems combined (the result's own WER is the combination's). */
  lexiconCombination?: { weight: number; nBest: { llm: number; lexicon: number }; llmWer: number; lexWer: number; oracleWer: number; candidateOracleWer: number; lexChosen: number; of: string };
  checkpointStep: number;
  seconds: number;
  utterancesPerSecond: number;
  /** The hypotheses CSV and this JSON, relative to the repository root when inside it (README, layout). */
  csv: string;
  json: string;
}


/** eval/<task>_<a>-<v>[_<noise><snr>][_ctcdec<λ>] of the test split (pipeline/eval-files.ts). */
export function evalName(task: Task, rates: Rates, snr?: number | null, noise = "babble", ctcDecode = 0): string {
  return evalFileName({ task, rates, snr, noise, ctcDecode });
}

export async function evaluateRun(p: EvalParams, log: (l: string) => void = (l) => process.stderr.write(l + "\n")): Promise<EvalResult> {
  await initBackend();
  const t0 = Date.now();
  const runDir = runDirOf(p.run);
  const cfg = readRunConfig(runDir);
  checkRunInputs(runDir, runInputs(cfg), "eval");
  const use = taskUses(p.task);
  if (use.audio && !cfg.audioRates.includes(p.rates.audio)) throw new InputError(`run ${cfg.runId} has no audio projector for rate ${p.rates.audio} (has ${cfg.audioRates})`);
  if (use.video && !cfg.videoRates.includes(p.rates.video)) throw new InputError(`run ${cfg.runId} has no video projector for rate ${p.rates.video} (has ${cfg.videoRates})`);
  if (p.snr !== undefined && p.snr !== null && !use.audio) throw new InputError(`${p.task} uses no audio: noise does not apply`);
  const split = p.split ?? "test";
  const beam = p.beam ?? DEFAULT_BEAM_WIDTH;
  const maxNewTokens = p.maxNewTokens ?? 32;
  const snr = p.snr ?? null;
  const joint = p.ctcDecodeWeight ?? 0;
  if (!(joint >= 0 && joint <= 1)) throw new InputError(`ctcDecodeWeight must be in [0, 1], got ${p.ctcDecodeWeight}`);
  const lexWeight = p.lexiconDecodeWeight ?? 0;
  if (!(lexWeight >= 0 && joint + lexWeight <= 1)) throw new InputError(`lexiconDecodeWeight must be ≥ 0 with ctcDecodeWeight + lexiconDecodeWeight ≤ 1, got ${p.lexiconDecodeWeight} (λ ${joint})`);
  const videoLexWeight = p.videoLexiconDecodeWeight ?? 0;
  if (!(videoLexWeight >= 0 && joint + lexWeight + videoLexWeight <= 1)) throw new InputError(`videoLexiconDecodeWeight must be ≥ 0 with ctcDecodeWeight + lexiconDecodeWeight + videoLexiconDecodeWeight ≤ 1, got ${p.videoLexiconDecodeWeight} (λ ${joint}, μ ${lexWeight})`);
  if (videoLexWeight > 0 && p.task !== "avsr") throw new InputError(`videoLexiconDecodeWeight is a second lexicon stream for AVSR; ${p.task} has one modality (use lexiconDecodeWeight)`);
  const unknownWordLogProb = p.unknownWordLogProb ?? DEFAULT_UNKNOWN_LOGP;
  const proposals = p.lexiconProposals ?? 0;
  if (!(Number.isInteger(proposals) && proposals >= 0)) throw new InputError(`lexiconProposals must be an integer ≥ 0, got ${p.lexiconProposals}`);
  if (proposals > 0 && !(lexWeight > 0)) throw new InputError("lexiconProposals needs lexicon scoring (lexiconDecodeWeight > 0)");
  const wordLmWeight = p.wordLmWeight ?? 0;
  if (!(Number.isFinite(wordLmWeight) && wordLmWeight >= 0)) throw new InputError(`wordLmWeight must be a number ≥ 0, got ${p.wordLmWeight}`);
  if (wordLmWeight > 0 && joint + lexWeight + videoLexWeight === 0) throw new InputError("wordLmWeight needs joint decoding (give ctcDecodeWeight or lexiconDecodeWeight)");
  const wordLmProposals = p.wordLmProposals ?? 0;
  if (!(Number.isInteger(wordLmProposals) && wordLmProposals >= 0)) throw new InputError(`wordLmProposals must be an integer ≥ 0, got ${p.wordLmProposals}`);
  if (wordLmProposals > 0 && !(wordLmWeight > 0)) throw new InputError("wordLmProposals needs word-LM fusion (wordLmWeight > 0)");
  if (p.lengthPenalty !== undefined && !Number.isFinite(p.lengthPenalty)) throw new InputError(`lengthPenalty must be a number, got ${p.lengthPenalty}`);
  if (p.preBeam !== undefined && !(Number.isInteger(p.preBeam) && p.preBeam >= 2)) throw new InputError(`preBeam must be an integer ≥ 2, got ${p.preBeam}`);
  if (p.preBeam !== undefined && joint + lexWeight === 0) throw new InputError("preBeam applies to joint decoding only (give ctcDecodeWeight or lexiconDecodeWeight)");
  if (p.lexiconCombination !== undefined && !(p.lexiconCombination >= 0 && p.lexiconCombination <= 1)) throw new InputError(`combination weight α must be in [0, 1], got ${p.lexiconCombination}`);
  if (p.lexiconCombinationNBest !== undefined && p.lexiconCombination === undefined) throw new InputError("lexiconCombinationNBest needs the combination (give lexiconCombination α)");
  if (p.lexiconCombinationNBest) checkNBest(p.lexiconCombinationNBest, beam);
  if (joint > 0 && !(cfg.ctcWeight > 0)) throw new InputError(`run ${cfg.runId} has no auxiliary CTC head (trained with ctcWeight ${cfg.ctcWeight}): joint CTC decoding needs --ctc-weight > 0 at training`);
  const built = await buildModel(cfg, log);
  const step = restoreTrained(built.model, runDir);
  if (step < cfg.steps) log(`[eval] warning: ${cfg.runId} checkpoint is at step ${step} of ${cfg.steps}`);
  // joint decoding uses the heads whose rate holds the training transcripts (pipeline/ctc-coverage.ts)
  const heads = joint > 0 ? await ctcHeadsOf(cfg.preset, p.task, p.rates, built.tokenizer) : undefined;
  if (heads) log(`[eval] joint CTC decoding, λ ${joint}: heads ${heads.use.join(" + ") || "none (attention only)"}; training transcripts that fit: ${Object.entries(heads.coverage).map(([m, c]) => `${m} ${(100 * c!).toFixed(1)} %`).join(", ")}`);
  // the auxiliary CTC joins only through heads that pass the coverage rule: without one and without lexicon scoring there is no joint search for the word LM
  if (wordLmWeight > 0 && lexWeight + videoLexWeight === 0 && !(heads && heads.use.length > 0)) throw new InputError(`wordLmWeight needs joint decoding, and no CTC head of ${cfg.runId} holds ≥ 90 % of the training transcripts at ${p.task} ${p.rates.audio},${p.rates.video}: add lexicon scoring (lexiconDecodeWeight)`);
  const set = await openEvalSet(cfg.preset, split, { audioCondition: conditionName(snr), needAudio: use.audio, needVideo: use.video, limit: p.limit, ...built.inputs });
  const utts = set.utterances;
  const lexModality = use.audio ? "audio" : "video";
  const reader = lexWeight > 0 ? await openUnitReader(cfg.preset, lexModality) : undefined;
  const lexFeatures = lexModality === "audio" ? set.audio : set.video;
  if (reader && !lexFeatures) throw new InputError(`lexicon scoring needs the cached ${lexModality} features (run ${cfg.runId} reads the ${lexModality} from elsewhere)`);
  if (reader) log(`[eval] lexicon scoring, μ ${lexWeight}: ${lexModality} encoder units, ${reader.lexicon.size} training words${proposals ? `, ${proposals} proposals per beam` : ""}${reader.dropped ? ` (${reader.dropped} pronunciations with units outside the head left out)` : ""}`);
  const videoReader = videoLexWeight > 0 ? await openUnitReader(cfg.preset, "video") : undefined;
  if (videoReader && !set.video) throw new InputError(`the video lexicon stream needs the cached video features (run ${cfg.runId} reads the video from elsewhere)`);
  if (videoReader) log(`[eval] video lexicon stream, μv ${videoLexWeight}: video encoder units, ${videoReader.lexicon.size} training words`);
  const wordLm = wordLmWeight > 0 ? await openWordLm(cfg.preset) : undefined;
  if (wordLm) log(`[eval] word-LM fusion, β ${wordLmWeight}: word bigram of ${wordLm.sentences} sentences (${repoRelative(wordLm.source)})${wordLmProposals ? `, ${wordLmProposals} proposals per beam` : ""}`);
  const name = evalFileName({ task: p.task, rates: p.rates, snr, noise: p.noise ?? "babble", ctcDecode: joint, lexDecode: lexWeight, lexUnknown: p.unknownWordLogProb, lexProposals: proposals, videoLexDecode: videoLexWeight, wordLm: wordLmWeight, wordLmProposals, beam, preBeam: p.preBeam, lengthPenalty: p.lengthPenalty, split });
  const progress = new Progress(utts.length, { unit: "utt", label: `eval ${cfg.runId} ${name}`, write: log, intervalMs: 5000 });
  const hyps = decodeUtterances(
    built.model,
    built.tokenizer,
    set,
    utts,
    p.task,
    p.rates,
    { beamWidth: beam, maxNewTokens, batchSize: p.batchSize ?? (beam > 1 ? 16 : 32), lengthPenalty: p.lengthPenalty, preBeam: p.preBeam, ctcDecodeWeight: heads && heads.use.length > 0 ? joint : undefined, ctcModalities: heads?.use, lexicon: reader ? { weight: lexWeight, reader, features: lexFeatures!, unknownLogProb: unknownWordLogProb, proposals } : undefined, videoLexicon: videoReader ? { weight: videoLexWeight, reader: videoReader, features: set.video!, unknownLogProb: unknownWordLogProb } : undefined, wordLm: wordLm ? { weight: wordLmWeight, lm: wordLm.lm, proposals: wordLmProposals } : undefined },
    (done) => progress.update(done),
  );
  const pairs = utts.map((u, i) => ({ ref: u.text, hyp: hyps[i]! }));
  const w = corpusWer(pairs);
  const c = corpusCer(pairs);
  const outDir = join(runDir, "eval");
  if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true });
  const csv = join(outDir, `${name}.csv`);
  const json = join(outDir, `${name}.json`);
  writeCsvSync(
    csv,
    utts.map((u, i) => {
      const e = wordEdits(u.text, hyps[i]!);
      return { id: u.id, speaker: u.speaker, ref: u.text, hyp: hyps[i]!, word_errors: e.errors, ref_words: e.refLen };
    }),
    ["id", "speaker", "ref", "hyp", "word_errors", "ref_words"],
  );
  const seconds = (Date.now() - t0) / 1000;
  const result: EvalResult = {
    run: cfg.runId,
    task: p.task,
    rates: { audio: use.audio ? p.rates.audio : 0, video: use.video ? p.rates.video : 0 },
    noise: snr === null ? "clean" : (p.noise ?? "babble"),
    snr,
    split,
    utterances: utts.length,
    wer: w.rate,
    cer: c.rate,
    wordErrors: w.errors,
    refWords: w.refLen,
    sub: w.sub,
    del: w.del,
    ins: w.ins,
    beam,
    maxNewTokens,
    ...(joint > 0 ? { ctcDecodeWeight: joint, ctcHeads: heads } : {}),
    ...(reader ? { lexiconDecode: { weight: lexWeight, modality: lexModality, words: reader.lexicon.size, unknownWordLogProb, proposals } } : {}),
    ...(videoReader ? { videoLexiconDecode: { weight: videoLexWeight, words: videoReader.lexicon.size, unknownWordLogProb } } : {}),
    ...(wordLm ? { wordLm: { weight: wordLmWeight, sentences: wordLm.sentences, source: repoRelative(wordLm.source), proposals: wordLmProposals } } : {}),
    ...(p.preBeam !== undefined ? { preBeam: p.preBeam } : {}),
    ...(p.lengthPenalty !== undefined ? { lengthPenalty: p.lengthPenalty } : {}),
    checkpointStep: step,
    seconds,
    utterancesPerSecond: utts.length / seconds,
    csv: repoRelative(csv),
    json: repoRelative(json),
  };
  writeFileAtomicSync(json, JSON.stringify(result, null, 1) + "\n");
  reader?.dispose();
  videoReader?.dispose();
  log(`[eval] ${cfg.runId} ${name}: WER ${(100 * w.rate).toFixed(2)}% CER ${(100 * c.rate).toFixed(2)}% (${utts.length} utt, beam ${beam}, ${seconds.toFixed(1)} s)`);
  if (p.lexiconCombination === undefined) {
    built.model.dispose();
    disposeInputs(built);
    return result;
  }
  // the combination scores with the model just evaluated (not built again)
  const comb = await combineWithLexicon(json, { weights: [p.lexiconCombination], nBest: p.lexiconCombinationNBest, log, built }).finally(() => {
    built.model.dispose();
    disposeInputs(built);
  });
  const wc = comb.written!;
  const byW = comb.byWeight[0]!;
  log(`[eval] ${cfg.runId} ${name} + lexicon recogniser, α ${p.lexiconCombination}: WER ${(100 * wc.wer).toFixed(2)}% CER ${(100 * wc.cer).toFixed(2)}% (LLM ${(100 * comb.llmWer).toFixed(2)}%, recogniser ${(100 * comb.lexWer).toFixed(2)}%)`);
  return {
    ...result,
    wer: wc.wer,
    cer: wc.cer,
    wordErrors: wc.wordErrors,
    refWords: wc.refWords,
    sub: wc.sub,
    del: wc.del,
    ins: wc.ins,
    seconds: (Date.now() - t0) / 1000,
    csv: wc.csv,
    json: wc.json,
    lexiconCombination: { weight: p.lexiconCombination, nBest: comb.nBest, llmWer: comb.llmWer, lexWer: comb.lexWer, oracleWer: comb.oracleWer, candidateOracleWer: comb.candidateOracleWer, lexChosen: byW.lexChosen, of: result.json },
  };
}

/** For the experiment runner: evaluate (results go to the run's eval/ folder); the result becomes done.json. */
export async function evalJob(params: EvalParams, _jobDir: string): Promise<EvalResult> {
  return evaluateRun(params);
}
