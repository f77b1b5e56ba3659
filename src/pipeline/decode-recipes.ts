/**
 * Named decoding recipes: `npm run eval -- --recipe <name>` instead of a row of flags. A recipe is a typed
 * bundle of evaluation settings per task, each chosen on validation (the provenance is beside it; the
 * README's "Lexicon scoring" and "Word-LM fusion" sections hold the tables). Flags given explicitly
 * override the recipe's. Light imports only: the experiment planner loads it cheaply. `joint`, `lexicon`
 * and `best` need a run trained with the auxiliary CTC head (--ctc-weight > 0); evaluation says so otherwise.
 *
 *   paper     attention-only beam search, beam 4: the reference's decoding (any run)
 *   joint     + joint CTC/attention with the auxiliary CTC head, λ 0.3 (runs trained with --ctc-weight)
 *   lexicon   + the shipped encoder's units through the training lexicon, μ 0.5, 8 proposals, length penalty 0
 *   best      ASR and AVSR: lexicon + word LM β 0.3 at beam 8; VSR: joint, then hypothesis combination with the
 *             encoder's lexicon recogniser at α 0.4 over the LLM's 4 and the recogniser's 16 best hypotheses
 *             (visemes through the lexicon inside the beam hurt VSR)
 */
import type { Task } from "../models/lora.js";
import { DEFAULT_BEAM_WIDTH } from "./eval-files.js";
import { InputError } from "../util/errors.js";

/** The settings of evaluation a recipe fixes (pipeline/eval.ts EvalParams of the same names). */
export interface DecodeSettings {
  beam?: number;
  maxNewTokens?: number;
  ctcDecodeWeight?: number;
  lexiconDecodeWeight?: number;
  lexiconProposals?: number;
  lengthPenalty?: number;
  wordLmWeight?: number;
  lexiconCombination?: number;
  lexiconCombinationNBest?: { llm: number; lexicon: number };
}

/** The reference's decoding: attention-only beam search, at most 32 new tokens. */
export const PAPER: DecodeSettings = { beam: DEFAULT_BEAM_WIDTH, maxNewTokens: 32 };

/**
 * λ of joint CTC/attention decoding. Chosen on validation (Llama-AVSR ASR(4) + splice 48, 300 val
 * utterances, beam 4): WER 27.95 % attention only, 24.78 / 24.48 / 24.23 / 25.02 % at λ 0.2 / 0.3 /
 * 0.4 / 0.5; 0.3 and 0.4 are level, 0.3 is the usual value of the hybrid recipe.
 */
export const JOINT: DecodeSettings = { ...PAPER, ctcDecodeWeight: 0.3 };

/**
 * Lexicon scoring (eval/lexicon-prefix.ts) on top of JOINT: the shipped encoder's phonemes (visemes for
 * VSR) through the training lexicon at weight μ 0.5, the lexicon proposing 8 tokens per live beam beside
 * the LLM's pre-beam, finished hypotheses ranked by their summed score (length penalty 0). Chosen on
 * validation (Llama-AVSR ASR(4) + splice 16, beam 4, the first 100 val utterances): without proposals
 * 22.07 % (μ 0.2), 20.51 % with a wider pre-beam (16), 19.38 % at beam 8; with 8 proposals **8.63 %**
 * (μ 0.5, λ 0.3), 11.32 % at μ 0.3 and at μ 0.7 (λ 0.2); 16 proposals 8.49 % at 1.6 times the time.
 */
export const LEXICON: DecodeSettings = { ...JOINT, lexiconDecodeWeight: 0.5, lexiconProposals: 8, lengthPenalty: 0 };

/**
 * LEXICON + word-LM fusion β 0.3 (eval/word-lm-prefix.ts) at beam 8, for ASR and AVSR. Chosen on
 * validation (the same 100 utterances, beam 4): β 0 / 0.1 / 0.3 / 1 gave 8.63 / 8.77 / **7.64** / 11.17 %;
 * then beam 8 at β 0.3 gave **6.79 %** (24 Nov, ninth session; test: ASR(4) 17.50 -> 14.93 %). Beam 16 gave
 * 6.22 % at 2.5 times the time and was not run on test. AVSR shares ASR's choice (Llama-AVSR
 * AVSR(4,2), the same 100 utterances, beam 4: 8.20 %). A second, visual lexicon stream for AVSR
 * (`videoLexiconDecodeWeight` μv 0.1) made it worse (10.33 %; 8.91 % with μ 0.4) and is not in it.
 */
export const LEXICON_WORD_LM: DecodeSettings = { ...LEXICON, wordLmWeight: 0.3, beam: 8 };

/**
 * α of hypothesis combination with the lexicon recogniser for VSR (pipeline/lexicon-combination.ts), chosen
 * on validation (VSR(2), 300 val utterances, joint decoding λ 0.3; 6 Dec, seventeenth session): Llama-AVSR
 * tiny LM on video-rerender-4, α 0 / 0.3 / 0.4 / 0.5 / 0.6 / 1: 61.55 / 56.34 / 55.35 / **55.00** / 57.28 / 60.60 %;
 * small LM (LoRA r16) on video-rerender-3: 60.46 / 55.30 / **54.76** / 55.60 / 57.33 / 60.85 %. 0.4 is best
 * averaged over the two (55.06 against 55.30 % at 0.5). Test: 56.22 and 57.51 %.
 */
export const VSR_COMBINATION_WEIGHT = 0.4;

/**
 * The combination's N-best lists for VSR: the LLM's 4 best (its beam, JOINT's width) and the recogniser's 16
 * best, chosen on validation with the same two runs (7 Dec, eighteenth session), α 0.4 / 0.5, the two-way choice
 * (1, 1) first: tiny LM on video-rerender-4 55.35 / 55.00 %, (4, 1) 54.21 / 53.22, (1, 4) 53.57 / 52.97, (4, 4)
 * 52.68 / 51.88, (4, 8) 51.24 / 51.19, (4, 16) **50.40** / 50.30 %; small LM r16 on video-rerender-3 (1, 1) 54.76 /
 * 55.60, (4, 4) 52.48 / 52.48, (4, 8) 50.69 / 51.09, (4, 16) **50.05** / 50.35 %. α 0.4 stays the best over both
 * (50.23 against 50.33 %); 16 recogniser hypotheses take about 1.2 s per utterance.
 */
export const VSR_COMBINATION_NBEST = { llm: 4, lexicon: 16 } as const;

/** JOINT, then per utterance one of the LLM's 4 best or the lexicon recogniser's 16 best hypotheses (VSR). */
export const JOINT_LEXICON_COMBINATION: DecodeSettings = { ...JOINT, lexiconCombination: VSR_COMBINATION_WEIGHT, lexiconCombinationNBest: VSR_COMBINATION_NBEST };

export const RECIPES = {
  paper: { asr: PAPER, vsr: PAPER, avsr: PAPER },
  joint: { asr: JOINT, vsr: JOINT, avsr: JOINT },
  lexicon: { asr: LEXICON, vsr: LEXICON, avsr: LEXICON },
  // VSR: joint decoding (Omni-AVSR-ST VSR(2), first 100 val utterances: 68.88 %) beats visemes through the
  // lexicon inside the beam (85.15 % at μ 0.5) and the word LM (69.31 % at β 0.3); the lexicon recogniser's
  // whole hypotheses, chosen per utterance, then take it 6-7 points lower (VSR_COMBINATION_WEIGHT)
  best: { asr: LEXICON_WORD_LM, vsr: JOINT_LEXICON_COMBINATION, avsr: LEXICON_WORD_LM },
} as const satisfies Record<string, Record<Task, DecodeSettings>>;

export type RecipeName = keyof typeof RECIPES;
export const RECIPE_NAMES = Object.keys(RECIPES) as RecipeName[];

/** The recipe's settings for a task, with the settings given explicitly (not undefined) on top. */
export function withRecipe(name: string | undefined, task: Task, explicit: DecodeSettings): DecodeSettings {
  const given = Object.fromEntries(Object.entries(explicit).filter(([, x]) => x !== undefined)) as DecodeSettings;
  if (name === undefined) return given;
  if (!(name in RECIPES)) throw new InputError(`unknown decoding recipe "${name}" (recipes: ${RECIPE_NAMES.join(", ")})`);
  return { ...RECIPES[name as RecipeName][task], ...given };
}
