/**
 * The name of an evaluation's files, results/runs/<run-id>/eval/<name>.{csv,json}: written by
 * pipeline/eval.ts and looked up by the experiment plan (experiments/plan.ts), so both use this one.
 *
 *   <task>_<a>-<v>[_<noise><snr>][_ctcdec<λ>][_lexdec<μ>[_unk<logp>][_prop<n>]][_vlex<μv>][_wlm<β>[_prop<m>]][_beam<K>][_pre<N>][_lp<x>][_<split>]
 *
 * The rate of a modality the task does not use is written as 0 (asr_4-0, vsr_0-2, avsr_4-2); the test
 * split's files carry no split name (the tables read them), another split's say which, so tuning on
 * validation never overwrites a test score. The beam width is named only when it is not the default
 * (DEFAULT_BEAM_WIDTH), the joint search's pre-beam and the length penalty only when they were given. No imports beyond types: the planner loads it cheaply.
 */
import type { Task } from "../models/lora.js";
import type { Split } from "../data/index.js";

export interface EvalFileSpec {
  task: Task;
  rates: { audio: number; video: number };
  /** Babble SNR in dB; null/undefined = clean. */
  snr?: number | null;
  noise?: string;
  /** λ of joint CTC/attention decoding; 0/undefined = attention only. */
  ctcDecode?: number;
  /** μ of lexicon scoring (pipeline/lexicon-scoring.ts); 0/undefined = none. */
  lexDecode?: number;
  /** The unknown-word log-probability of lexicon scoring, named only when it was given (not the default). */
  lexUnknown?: number;
  /** Lexicon proposals per live beam (eval/lexicon-prefix.ts propose); 0/undefined = none. */
  lexProposals?: number;
  /** μv of the second, visual lexicon stream of AVSR (the video encoder's visemes); 0/undefined = none. */
  videoLexDecode?: number;
  /** β of word-LM fusion (eval/word-lm-prefix.ts); 0/undefined = none. */
  wordLm?: number;
  /** Word-LM proposals per live beam (eval/word-lm-prefix.ts propose); 0/undefined = none. */
  wordLmProposals?: number;
  /** Beam width, named only when not DEFAULT_BEAM_WIDTH. */
  beam?: number;
  /** Joint decoding's attention continuations scored per live beam, named only when given. */
  preBeam?: number;
  /** Length-normalisation exponent of the beam search, named only when given. */
  lengthPenalty?: number;
  split?: Split;
}

/** The beam width of every committed evaluation (eval/decode.ts beamSearch). */
export const DEFAULT_BEAM_WIDTH = 4;

export function evalFileName(s: EvalFileSpec): string {
  const a = s.task === "vsr" ? 0 : s.rates.audio;
  const v = s.task === "asr" ? 0 : s.rates.video;
  let name = `${s.task}_${a}-${v}`;
  if (s.snr !== null && s.snr !== undefined) name += `_${s.noise ?? "babble"}${s.snr}`;
  if (s.ctcDecode) name += `_ctcdec${s.ctcDecode}`;
  if (s.lexDecode) name += `_lexdec${s.lexDecode}`;
  if (s.lexDecode && s.lexUnknown !== undefined) name += `_unk${s.lexUnknown}`;
  if (s.lexDecode && s.lexProposals) name += `_prop${s.lexProposals}`;
  if (s.videoLexDecode) name += `_vlex${s.videoLexDecode}`;
  if (s.wordLm) name += `_wlm${s.wordLm}`;
  if (s.wordLm && s.wordLmProposals) name += `_prop${s.wordLmProposals}`;
  if (s.beam !== undefined && s.beam !== DEFAULT_BEAM_WIDTH) name += `_beam${s.beam}`;
  if (s.preBeam !== undefined) name += `_pre${s.preBeam}`;
  if (s.lengthPenalty !== undefined) name += `_lp${s.lengthPenalty}`;
  if (s.split && s.split !== "test") name += `_${s.split}`;
  return name;
}
