/**
 * Word-LM fusion for joint decoding: the LLM's beam search also scores the words a hypothesis spells
 * with a word-bigram LM of text (eval/bigram-lm.ts), as ESPnet adds an external LM with a weight β
 * ("shallow fusion"). Lexicon scoring (eval/lexicon-prefix.ts) reads words from the encoder's phones
 * and weighs no word against another a priori; where the phones are wrong (voices the encoder reads
 * badly, babble) it strings together short words that match pieces of them ("i sir a poor oh as we").
 * A word LM makes such strings cost what they are worth as text.
 *
 *   ψ_lm(h) = Σ_{k ≤ K} log P(w_k | w_{k−1}) + max_{w begins with the letters being spelt} log P(w | w_K)
 *   final(h) = Σ_{k ≤ K'} log P(w_k | w_{k−1}) + log P(</s> | w_K')          (the last word completed)
 *
 * Words are split as in lexicon scoring: a piece with the word-start marker completes the word being
 * spelt. The look-ahead (best word that begins with the letters so far, an unseen word included) keeps
 * a word from being free until it ends, so the beam does not prefer spelling on to ending a word.
 */
import type { BigramLm } from "./bigram-lm.js";
import type { PrefixScorer, PrefixState } from "./ctc-prefix.js";

export interface WordLmPrefixOptions {
  /** Text of a token id as the tokeniser decodes it ("" for a token that adds no text). */
  pieceOf: (id: number) => string;
  /** The marker a piece carries where a new word begins (BpeTokenizer: "▁"). */
  wordStart: string;
  /** The id the beam search must never extend by (the LLM-side blank, PAD_ID). */
  blank: number;
}

export interface WordLmPrefixState extends PrefixState {
  /** Σ log P(w_k | w_{k−1}) over the completed words. */
  readonly completed: number;
  /** The last completed word (`<s>` before the first). */
  readonly prev: string;
  /** Text of the word being spelt. */
  readonly pending: string;
  readonly score: number;
}

export class WordLmPrefixScorer implements PrefixScorer {
  readonly blank: number;

  constructor(
    private readonly lm: BigramLm,
    private readonly o: WordLmPrefixOptions,
  ) {
    if (!o.wordStart) throw new Error("WordLmPrefixScorer: empty word-start marker");
    this.blank = o.blank;
  }

  initial(): WordLmPrefixState {
    return { completed: 0, prev: "<s>", pending: "", score: 0 };
  }

  extend(prefix: PrefixState, c: number): WordLmPrefixState {
    const g = prefix as WordLmPrefixState;
    const parts = (g.pending + this.o.pieceOf(c)).split(this.o.wordStart);
    let { completed, prev } = g;
    for (let k = 0; k < parts.length - 1; k++) {
      const w = parts[k]!;
      if (w.length === 0) continue;
      completed += this.lm.logProb(prev, w);
      prev = w;
    }
    const pending = parts[parts.length - 1]!;
    return { completed, prev, pending, score: completed + (pending ? this.lm.bestLogProbWithPrefix(prev, pending) : 0) };
  }

  final(prefix: PrefixState): number {
    const g = prefix as WordLmPrefixState;
    if (!g.pending) return g.completed + this.lm.logProb(g.prev, "</s>");
    return g.completed + this.lm.logProb(g.prev, g.pending) + this.lm.logProb(g.pending, "</s>");
  }
}
