/**
 * npm run eval -- --run <run-id|run dir> --task <asr|vsr|avsr|all> --rates <a,v|all> [--snr dB --noise babble]
 *                 [--recipe paper|joint|lexicon|best]
 *                 [--split test|val] [--limit N] [--beam K] [--max-new-tokens N] [--ctc-decode λ]
 *                 [--lexicon-decode μ [--unknown-word-logp=-100] [--lexicon-proposals n]]
 *                 [--video-lexicon-decode μv] [--word-lm β [--word-lm-proposals m]] [--pre-beam N] [--length-penalty x]
 *                 [--lexicon-combination α [--lexicon-combination-nbest N,M]]
 * Decodes the split with the run's newest checkpoint and writes
 * results/runs/<run-id>/eval/<task>_<a>-<v>[_babble<snr>][_ctcdec<λ>][_lexdec<μ>[_prop<n>]][_vlex<μv>][_wlm<β>[_prop<m>]][_beam<K> unless 4][_pre<N>][_lp<x>][_<split> unless test].{csv,json}.
 * See src/pipeline/eval.ts.
 * `--recipe <name>`: a named bundle of the decoding flags below, chosen on validation (src/pipeline/decode-recipes.ts);
 * `best` is lexicon + word LM at beam 8 for ASR and AVSR, joint decoding + lexicon combination α 0.4 (N-best 4,16) for VSR.
 * Flags given override it.
 * `--lexicon-combination α`: after decoding, per utterance the LLM's hypothesis or the shipped encoder's
 * lexicon recogniser's, whichever (1 − α)·(LLM joint score) + α·(lexicon score) prefers
 * (src/pipeline/lexicon-combination.ts); writes `<name>_lexcomb<α>` beside `<name>`, and prints the combination's WER.
 * `--lexicon-combination-nbest N,M`: choose among the LLM's N best (N ≤ beam) and the recogniser's M best instead
 * (`<name>_lexcomb<α>_nbest<N>x<M>`).
 * `--ctc-decode λ` (runs trained with --ctc-weight > 0): joint CTC/attention decoding with weight λ.
 * `--lexicon-decode μ` (any run): the shipped encoder's phonemes (visemes for VSR) through the training
 * lexicon score each completed word (src/pipeline/lexicon-scoring.ts); λ + μ ≤ 1. With
 * `--lexicon-proposals n` the lexicon also names n tokens per live beam (its best next pieces) that are
 * scored beside the LLM's pre-beam, so a word the LLM ranks low can still be reached.
 * `--video-lexicon-decode μv` (AVSR): a second lexicon stream, the shipped video encoder's visemes
 * through the same words' viseme pronunciations, beside the audio phonemes; λ + μ + μv ≤ 1.
 * `--word-lm β` (joint decoding): word-LM fusion, the joint score gains β·(log-probability of the words
 * spelt under a word bigram of the LM text, src/pipeline/word-lm.ts); with `--word-lm-proposals m` it
 * also names m tokens per live beam towards its likeliest next words (those the lexicon knows).
 * `--pre-beam N` (joint decoding): the attention continuations of each live beam that are scored
 * (default ceil(1.5·K)); more lets the CTC and lexicon scores reach words attention ranks lower.
 * `--length-penalty x`: a finished hypothesis is ranked by its score / (tokens)^x (default 1, Hugging
 * Face's); 0 ranks by the score itself, as ESPnet's joint decoding does.
 * `--task all --rates all` evaluates every task at every rate (pair) the run has projectors for
 * (8 combinations for the Omni-AVSR rates {4,16} x {2,5}) and prints a table.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { parseRatePair } from "../src/pipeline/config.js";
import { evaluateRun } from "../src/pipeline/eval.js";
import { parseNBest } from "../src/pipeline/lexicon-combination.js";
import { withRecipe } from "../src/pipeline/decode-recipes.js";
import { readRunConfig, runDirOf } from "../src/pipeline/model.js";
import { TASKS, type Task } from "../src/models/lora.js";
import type { Rates } from "../src/models/avsr.js";
import type { Split } from "../src/data/index.js";

const { values: v } = parseArgs({
  options: {
    run: { type: "string" },
    recipe: { type: "string" },
    task: { type: "string" },
    rates: { type: "string" },
    snr: { type: "string" },
    noise: { type: "string", default: "babble" },
    split: { type: "string", default: "test" },
    limit: { type: "string" },
    beam: { type: "string" },
    "max-new-tokens": { type: "string" },
    "ctc-decode": { type: "string" },
    "lexicon-decode": { type: "string" },
    "unknown-word-logp": { type: "string" },
    "pre-beam": { type: "string" },
    "lexicon-proposals": { type: "string" },
    "video-lexicon-decode": { type: "string" },
    "length-penalty": { type: "string" },
    "word-lm": { type: "string" },
    "word-lm-proposals": { type: "string" },
    "lexicon-combination": { type: "string" },
    "lexicon-combination-nbest": { type: "string" },
  },
});
if (!v.run || !v.task || !v.rates) throw new InputError("usage: --run <id> --task <asr|vsr|avsr|all> --rates <a,v|all> [--snr dB --noise babble]");
if (v.noise !== "babble") throw new InputError(`--noise ${v.noise}: only babble is cached`);
const cfg = readRunConfig(runDirOf(v.run));
const tasks: Task[] = v.task === "all" ? [...TASKS] : [v.task as Task];
const combos: Array<{ task: Task; rates: Rates }> = [];
for (const task of tasks) {
  if (v.rates !== "all") combos.push({ task, rates: parseRatePair(v.rates) });
  else if (task === "asr") for (const audio of cfg.audioRates) combos.push({ task, rates: { audio, video: 0 } });
  else if (task === "vsr") for (const video of cfg.videoRates) combos.push({ task, rates: { audio: 0, video } });
  else for (const audio of cfg.audioRates) for (const video of cfg.videoRates) combos.push({ task, rates: { audio, video } });
}
const num = (x: string | undefined) => (x !== undefined ? Number(x) : undefined);
for (const c of combos) {
  const decoding = withRecipe(v.recipe, c.task, {
    beam: num(v.beam),
    maxNewTokens: num(v["max-new-tokens"]),
    ctcDecodeWeight: num(v["ctc-decode"]),
    lexiconDecodeWeight: num(v["lexicon-decode"]),
    lexiconProposals: num(v["lexicon-proposals"]),
    lengthPenalty: num(v["length-penalty"]),
    wordLmWeight: num(v["word-lm"]),
    lexiconCombination: num(v["lexicon-combination"]),
    lexiconCombinationNBest: v["lexicon-combination-nbest"] === undefined ? undefined : parseNBest(v["lexicon-combination-nbest"], "--lexicon-combination-nbest"),
  });
  const res = await evaluateRun({
    run: v.run,
    task: c.task,
    rates: c.rates,
    snr: v.snr !== undefined ? Number(v.snr) : null,
    noise: "babble",
    split: v.split as Split,
    limit: v.limit ? Number(v.limit) : undefined,
    ...decoding,
    unknownWordLogProb: num(v["unknown-word-logp"]),
    preBeam: num(v["pre-beam"]),
    videoLexiconDecodeWeight: num(v["video-lexicon-decode"]),
    wordLmProposals: num(v["word-lm-proposals"]),
  });
  console.log(JSON.stringify({ run: res.run, task: res.task, rates: res.rates, snr: res.snr, wer: res.wer, cer: res.cer, utterances: res.utterances, seconds: res.seconds, csv: res.csv }));
}
