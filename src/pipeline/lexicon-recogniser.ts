/**
 * A frozen encoder as a conventional recogniser (eval/lexicon-decode.ts): its greedy CTC units
 * (phonemes for audio, visemes for video) segmented into words with the pronunciations of the training
 * alignments and the word bigram of the LMs' pretraining text (pipeline/word-lm.ts). One builder for
 * `npm run probe:lexicon` and the hypothesis combination (pipeline/lexicon-combination.ts), so both read
 * the same lexicon and LM.
 *
 *   const r = await openLexiconRecogniser(preset, "video")   // the shipped encoder (or { encoderDir })
 *   const units = r.greedyUnits(features.get(id))            // unit ids of the encoder's CTC head
 *   r.decode(r.unitNames(units))                             // words
 *   r.dispose()
 */
import * as tf from "@tensorflow/tfjs";
import { openCorpus, type SyntheticCorpus } from "../data/index.js";
import type { BigramLm } from "../eval/bigram-lm.js";
import { DEFAULT_LEXICON_SCORE, lexiconDecodeNBest, lexiconScore, pronunciationsOf, type LexiconScoreOptions, type Pronunciations } from "../eval/lexicon-decode.js";
import { ctcGreedyDecode } from "../models/ctc.js";
import { loadEncoder, type LoadedEncoder } from "../pretrain/encoders/index.js";
import { unitsOfAlignment } from "./lexicon-scoring.js";
import { openWordLm } from "./word-lm.js";

export interface LexiconRecogniser {
  modality: "audio" | "video";
  encoder: LoadedEncoder;
  corpus: SyntheticCorpus;
  prons: Pronunciations;
  lm: BigramLm;
  /** Sentences the word bigram was fitted on. */
  lmSentences: number;
  options: LexiconScoreOptions;
  /** The encoder's greedy CTC unit ids (1-based: 0 is the blank) on one utterance's cached features. */
  greedyUnits(f: { data: Float32Array; frames: number; dim: number }): number[];
  /** Unit ids -> unit names (phonemes or visemes). */
  unitNames(ids: readonly number[]): string[];
  /** The n best word sequences for a unit string, best first, with the decoder's scores. */
  decode(units: readonly string[], n?: number): Array<{ words: string[]; score: number }>;
  /** The decoder's objective for given words on a unit string (the best alignment of exactly these words). */
  score(units: readonly string[], words: readonly string[]): number;
  dispose(): void;
}

export async function openLexiconRecogniser(preset: string, modality: "audio" | "video", o: { encoderDir?: string; options?: Partial<LexiconScoreOptions> } = {}): Promise<LexiconRecogniser> {
  const corpus = await openCorpus(preset);
  const { lm, sentences } = await openWordLm(preset);
  const prons = pronunciationsOf(corpus.utterances("train").map((u) => unitsOfAlignment(corpus, u.id, modality)));
  const encoder = loadEncoder(preset, modality, o.encoderDir);
  const options = { ...DEFAULT_LEXICON_SCORE, ...o.options };
  return {
    modality,
    encoder,
    corpus,
    prons,
    lm,
    lmSentences: sentences,
    options,
    greedyUnits: (f) => tf.tidy(() => ctcGreedyDecode(encoder.model.head.apply(tf.tensor3d(f.data, [1, f.frames, f.dim])) as tf.Tensor3D, [f.frames])[0]!),
    unitNames: (ids) => ids.map((c) => encoder.inventory.units[c - 1]!),
    decode: (units, n = 1) => lexiconDecodeNBest(units, prons, lm, n, options),
    score: (units, words) => lexiconScore(units, words, prons, lm, options),
    dispose: () => encoder.model.dispose(),
  };
}
