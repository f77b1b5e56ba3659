/**
 * Lexicon scoring for `npm run eval -- ... --lexicon-decode μ` (eval/lexicon-prefix.ts): the frozen
 * encoder's unit CTC head (phonemes for audio, visemes for video) read through the pronunciations of
 * the training alignments. Nothing here is trained: the head is the shipped encoder's, the lexicon is
 * counted from the training split, so it applies to every committed run at evaluation time.
 *
 *   unitsOfAlignment(corpus, id, m)   an utterance's words and timed units (also scripts/probe-lexicon.ts)
 *   openUnitReader(preset, m)         the encoder's unit head + the unit lexicon
 *   lexiconScorers(reader, set, ids)  one LexiconPrefixScorer per utterance, on its cached features
 */
import * as tf from "@tensorflow/tfjs";
import { openCorpus, type SyntheticCorpus } from "../data/index.js";
import { pronunciationsOf, type AlignedUtterance } from "../eval/lexicon-decode.js";
import { CtcPrefixScorer } from "../eval/ctc-prefix.js";
import { LexiconPrefixScorer, type UnitLexicon } from "../eval/lexicon-prefix.js";
import type { FeatureSet } from "../features/cache.js";
import type { CtcHead } from "../models/encoders.js";
import { loadEncoder, type EncoderModality } from "../pretrain/encoders/index.js";
import { PAD_ID, WORD_START, type BpeTokenizer } from "../text/tokenizer.js";

/**
 * The words and units of one aligned utterance: phonemes, or visemes without silence and without a
 * repeat inside the sequence (the encoder's CTC targets merge repeats: pretrain/encoder-data.ts).
 */
export function unitsOfAlignment(corpus: SyntheticCorpus, id: string, modality: EncoderModality): AlignedUtterance {
  const a = corpus.alignment(id);
  if (modality === "audio") return { words: a.words, units: a.phonemes };
  const units = a.visemes.filter(([x]) => x !== "sil");
  return { words: a.words, units: units.filter((x, k) => k === 0 || x[0] !== units[k - 1]![0]) };
}

/**
 * The unit lexicon of the training split, as class ids of a head whose class k + 1 is `units[k]` (0 =
 * blank). A pronunciation with a unit the head lacks is left out and the others' priors renormalised.
 */
export function unitLexiconOf(utts: Iterable<AlignedUtterance>, units: readonly string[]): { lexicon: UnitLexicon; dropped: number } {
  const id = new Map(units.map((u, k) => [u, k + 1]));
  const lexicon = new Map<string, { units: number[]; logPrior: number }[]>();
  let dropped = 0;
  for (const [word, prons] of pronunciationsOf(utts)) {
    const kept = prons.filter((p) => p.phones.every((u) => id.has(u)));
    dropped += prons.length - kept.length;
    if (kept.length === 0) continue;
    // the priors of the pronunciations kept, renormalised
    const logTotal = Math.log(kept.reduce((a, p) => a + Math.exp(p.logPrior), 0));
    lexicon.set(word, kept.map((p) => ({ units: p.phones.map((u) => id.get(u)!), logPrior: p.logPrior - logTotal })));
  }
  return { lexicon, dropped };
}

export interface UnitReader {
  modality: EncoderModality;
  head: CtcHead;
  /** Classes of the head (units + blank). */
  classes: number;
  lexicon: UnitLexicon;
  /** Pronunciations left out because a unit is not in the head's inventory. */
  dropped: number;
  dispose(): void;
}

/** The preset's shipped encoder's unit head and the training split's unit lexicon. */
export async function openUnitReader(preset: string, modality: EncoderModality): Promise<UnitReader> {
  const corpus = await openCorpus(preset);
  const enc = loadEncoder(preset, modality);
  const { lexicon, dropped } = unitLexiconOf(
    corpus.utterances("train").map((u) => unitsOfAlignment(corpus, u.id, modality)),
    enc.inventory.units,
  );
  if (lexicon.size === 0) throw new Error(`lexicon scoring: no training word of ${preset} has a pronunciation in the ${modality} encoder's units (${enc.dir})`);
  return { modality, head: enc.model.head, classes: enc.inventory.units.length + 1, lexicon, dropped, dispose: () => enc.model.dispose() };
}

/** One lexicon scorer per id, on the unit head's log-probabilities over its cached features in `set`. */
export function lexiconScorers(reader: UnitReader, set: FeatureSet, ids: readonly string[], tokenizer: BpeTokenizer, unknownLogProb?: number, maxProposals?: number): LexiconPrefixScorer[] {
  const pieceOf = (id: number) => tokenizer.pieceText(id);
  return ids.map((id) => {
    const f = set.get(id);
    const lp = tf.tidy(() => tf.logSoftmax(reader.head.apply(tf.tensor3d(f.data, [1, f.frames, f.dim]))));
    const data = lp.dataSync() as Float32Array;
    lp.dispose();
    const units = new CtcPrefixScorer(data, reader.classes, 0);
    return new LexiconPrefixScorer(units, reader.lexicon, { pieceOf, wordStart: WORD_START, blank: PAD_ID, unknownLogProb, vocabSize: tokenizer.size, maxProposals });
  });
}
