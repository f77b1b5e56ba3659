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
 *
 * Proposals (`propose`), as lexicon scoring makes them: where the encoder reads a voice badly, the right
 * next word is often neither among the LLM's best tokens nor among the words whose phones read best, and
 * the beam never scores it (`npm run probe:search`: the reference outscored the hypothesis in 77 of 132
 * wrong test utterances with β 0.3). The scorer therefore names pieces towards the likeliest words under
 * the bigram: continuations of the word being spelt, and word starts of the likeliest next words once
 * the word being spelt is a word of its list (or none is begun). The list is the LM's vocabulary, or the
 * words the other scorers know (`words`: the lexicon's, so that no proposal is a word it would reject).
 */
import type { BigramLm } from "./bigram-lm.js";
import type { PrefixScorer, PrefixState } from "./ctc-prefix.js";
import { lowerBound } from "../util/sorted.js";
import { Offers, pieceIndexOf, type PieceIndex } from "./word-pieces.js";

export interface WordLmPrefixOptions {
  /** Text of a token id as the tokeniser decodes it ("" for a token that adds no text). */
  pieceOf: (id: number) => string;
  /** The marker a piece carries where a new word begins (BpeTokenizer: "▁"). */
  wordStart: string;
  /** The id the beam search must never extend by (the LLM-side blank, PAD_ID). */
  blank: number;
  /** Token ids 0 .. vocabSize − 1 are the pieces `propose` may name (without it, it names none). */
  vocabSize?: number;
  /** The most pieces `propose` names per prefix, whatever the beam search asks for (default 0: none). */
  maxProposals?: number;
  /** The words `propose` may aim at (default: the LM's vocabulary). */
  words?: Iterable<string>;
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
  private pieces?: PieceIndex;
  private sorted?: readonly string[];
  private known?: ReadonlySet<string>;
  /** Proposal caches: previous word -> the words by P(w | prev), best first; (prev, letters) -> the words that begin with them, likewise. */
  private readonly nextWords = new Map<string, ReadonlyArray<{ word: string; logProb: number }>>();
  private readonly completions = new Map<string, ReadonlyArray<{ word: string; logProb: number }>>();

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

  /**
   * Up to `n` token ids towards the likeliest words (see the header), best first, each ranked by the
   * bigram probability of the word it leads to. Scores are not changed by proposing.
   */
  propose(prefix: PrefixState, n: number): number[] {
    n = Math.min(n, this.o.maxProposals ?? 0);
    if (n <= 0 || this.o.vocabSize === undefined) return [];
    const g = prefix as WordLmPrefixState;
    const pieces = (this.pieces ??= pieceIndexOf({ ...this.o, vocabSize: this.o.vocabSize }));
    const offers = new Offers();
    if (g.pending) for (const { word, logProb } of this.likeliestWithPrefix(g.prev, g.pending, n)) offers.continuations(pieces, g.pending, word, logProb);
    const after = g.pending ? (this.wordList().known.has(g.pending) ? g.pending : undefined) : g.prev;
    if (after !== undefined) for (const { word, logProb } of this.likeliestNext(after).slice(0, n)) offers.starts(pieces, word, logProb);
    return offers.ranked(n);
  }

  private wordList(): { sorted: readonly string[]; known: ReadonlySet<string> } {
    if (!this.sorted) {
      this.sorted = this.o.words ? [...new Set(this.o.words)].sort() : this.lm.vocabulary();
      this.known = new Set(this.sorted);
    }
    return { sorted: this.sorted, known: this.known! };
  }

  /** Every proposable word by P(w | prev), best first (cached per prev). */
  private likeliestNext(prev: string): ReadonlyArray<{ word: string; logProb: number }> {
    let out = this.nextWords.get(prev);
    if (!out) this.nextWords.set(prev, (out = this.byProbability(prev, this.wordList().sorted)));
    return out;
  }

  /** The n likeliest proposable words that begin with `letters`, after prev (cached). */
  private likeliestWithPrefix(prev: string, letters: string, n: number): ReadonlyArray<{ word: string; logProb: number }> {
    const key = `${prev}\u0000${letters}`;
    let out = this.completions.get(key);
    if (!out) {
      const { sorted } = this.wordList();
      const run: string[] = [];
      for (let i = lowerBound(sorted, letters); i < sorted.length && sorted[i]!.startsWith(letters); i++) run.push(sorted[i]!);
      this.completions.set(key, (out = this.byProbability(prev, run)));
    }
    return out.slice(0, n);
  }

  private byProbability(prev: string, words: readonly string[]): Array<{ word: string; logProb: number }> {
    return words.map((word) => ({ word, logProb: this.lm.logProb(prev, word) })).sort((a, b) => b.logProb - a.logProb || (a.word < b.word ? -1 : 1));
  }
}
