/**
 * Word-synchronous lexicon scoring for joint decoding: the LLM proposes sub-word tokens, and each word it
 * completes is scored by the frozen encoder's *unit* CTC head (phonemes for audio, visemes for video)
 * through the word's pronunciations. It brings to the LLM's beam search what the conventional reference
 * recogniser (eval/lexicon-decode.ts) has and the sub-word heads lack: the units are read far better
 * than sub-words (test PER 14.5 % against a sub-word CTC WER of 47.9 % for the shipped audio encoder),
 * and a pronunciation lexicon says which unit strings spell which words.
 *
 * The score of a token prefix h is the CTC prefix score (eval/ctc-prefix.ts) of the unit strings of
 * its *completed* words w_1..w_k, summed over their pronunciations:
 *
 *   ψ_lex(h) = log Σ_{p_1 ∈ pron(w_1), …, p_k ∈ pron(w_k)} Π_i P(p_i | w_i) · ψ_ctc(p_1 ⋯ p_k)
 *            + (unknown words in w_1..w_k) · unknownLogProb
 *
 * A word is complete when a later token starts a new word (the tokeniser's word-start marker) or at the
 * end of the hypothesis, where the full CTC probability is used instead of the prefix score. Within a
 * word the score stays that of the words before it. The sum over pronunciation sequences is exact: the
 * CTC forward variables are linear in the prefix's, so alternatives that end in the same unit are merged
 * by adding their variables (alternatives ending in different units stay apart, because the CTC rule for
 * a repeated unit depends on the last one). A word without a pronunciation costs `unknownLogProb` and
 * leaves the units untouched; it is charged as soon as the word being spelt is no prefix of a lexicon
 * word.
 *
 * The word being spelt is scored by look-ahead: the best ψ over the lexicon words that begin with its
 * letters (each summed over its pronunciations), cached per (completed words, word). Without it the score
 * of a word being spelt would stay that of the words before it until it ends, so the beam would prefer
 * spelling on to ending a word or the sentence (a finished hypothesis would rank below unfinished ones
 * and be dropped), and fill up with long made-up words.
 */
import { CtcPrefixScorer, logAdd, type CtcPrefixState, type PrefixScorer, type PrefixState } from "./ctc-prefix.js";

/**
 * Cost of a word without a pronunciation (natural log). A wrong lexicon word typically costs tens of
 * nats under a peaky CTC head, so a mild penalty (−20 was tried) makes made-up words the cheap way
 * out; on validation (ASR(4), 100 utterances) −100 gave 22.6 % WER against 28.4 % with −20.
 */
export const DEFAULT_UNKNOWN_LOGP = -100;

/** word -> its pronunciations as unit class ids of the CTC head (blank excluded), with log P(pron | word). */
export type UnitLexicon = ReadonlyMap<string, ReadonlyArray<{ units: readonly number[]; logPrior: number }>>;

export interface LexiconPrefixOptions {
  /** Text of a token id as the tokeniser decodes it ("" for a token that adds no text). */
  pieceOf: (id: number) => string;
  /** The marker a piece carries where a new word begins (BpeTokenizer: "▁"). */
  wordStart: string;
  /** The id the beam search must never extend by (the LLM-side blank, PAD_ID). */
  blank: number;
  /** Log-probability charged for each word that has no pronunciation. Default DEFAULT_UNKNOWN_LOGP. */
  unknownLogProb?: number;
}

export interface LexiconPrefixState extends PrefixState {
  /** Unit-CTC states of the completed words, one per distinct last unit (pronunciation priors folded in). */
  readonly alternatives: readonly CtcPrefixState[];
  /** Text of the word being spelt (not yet scored). */
  readonly pending: string;
  /** Σ unknownLogProb over words without a pronunciation (completed, or the pending one once it is no prefix of a word). */
  readonly unknownCost: number;
  /** The pending word is already charged as unknown. */
  readonly pendingUnknown: boolean;
  readonly score: number;
}

/** The state with `c` added to its log-probabilities (a pronunciation prior). */
function shifted(s: CtcPrefixState, c: number): CtcPrefixState {
  if (c === 0) return s;
  return { rn: s.rn.map((x) => x + c), rb: s.rb.map((x) => x + c), score: s.score + c, last: s.last };
}

/** Sum of two states with the same last unit (alternatives of one prefix). */
function merged(a: CtcPrefixState, b: CtcPrefixState): CtcPrefixState {
  return { rn: a.rn.map((x, t) => logAdd(x, b.rn[t]!)), rb: a.rb.map((x, t) => logAdd(x, b.rb[t]!)), score: logAdd(a.score, b.score), last: a.last };
}

/** ψ of a set of alternatives (their sum). */
function psiOf(alternatives: readonly CtcPrefixState[]): number {
  return alternatives.reduce((a, s) => logAdd(a, s.score), -Infinity);
}

/** First index of a sorted array whose item is ≥ key. */
function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A lexicon's words, sorted (the words with a given prefix are a contiguous run), made once per lexicon. */
const sortedWords = new WeakMap<UnitLexicon, readonly string[]>();
function sortedWordsOf(lexicon: UnitLexicon): readonly string[] {
  let s = sortedWords.get(lexicon);
  if (!s) sortedWords.set(lexicon, (s = [...lexicon.keys()].sort()));
  return s;
}

export class LexiconPrefixScorer implements PrefixScorer {
  readonly blank: number;
  private readonly unknownLogProb: number;
  private readonly sorted: readonly string[];
  /** Look-ahead cache: completed-word alternatives -> word -> ψ of the alternatives extended by the word. */
  private readonly wordScores = new WeakMap<readonly CtcPrefixState[], Map<string, number>>();
  /**
   * Pronunciation trie, walked lazily: completed-word alternatives -> unit string ("3,17,5") -> those
   * alternatives extended by it (one state per alternative, priors not applied). Pronunciations that
   * share their first units (/ð/ of the, they, them, there ...) share those extensions, which are most
   * of the look-ahead's work.
   */
  private readonly unitPaths = new WeakMap<readonly CtcPrefixState[], Map<string, readonly CtcPrefixState[]>>();

  /** `units`: the unit CTC scorer over one sample's frames (its blank is the unit head's). */
  constructor(
    private readonly units: CtcPrefixScorer,
    private readonly lexicon: UnitLexicon,
    private readonly o: LexiconPrefixOptions,
  ) {
    this.blank = o.blank;
    this.unknownLogProb = o.unknownLogProb ?? DEFAULT_UNKNOWN_LOGP;
    if (!(this.unknownLogProb <= 0)) throw new Error(`LexiconPrefixScorer: unknownLogProb must be ≤ 0, got ${o.unknownLogProb}`);
    if (!o.wordStart) throw new Error("LexiconPrefixScorer: empty word-start marker");
    this.sorted = sortedWordsOf(lexicon);
  }

  initial(): LexiconPrefixState {
    return { alternatives: [this.units.initial()], pending: "", unknownCost: 0, pendingUnknown: false, score: 0 };
  }

  extend(prefix: PrefixState, c: number): LexiconPrefixState {
    const g = prefix as LexiconPrefixState;
    const parts = (g.pending + this.o.pieceOf(c)).split(this.o.wordStart);
    let alternatives = g.alternatives;
    let unknownCost = g.unknownCost;
    let pendingUnknown = g.pendingUnknown;
    for (let k = 0; k < parts.length - 1; k++) {
      const w = parts[k]!;
      if (w.length > 0) ({ alternatives, unknownCost } = this.completed(alternatives, unknownCost, w, k === 0 && pendingUnknown));
      pendingUnknown = false;
    }
    const pending = parts[parts.length - 1]!;
    if (!pendingUnknown && !this.isWordPrefix(pending)) {
      unknownCost += this.unknownLogProb;
      pendingUnknown = true;
    }
    return { alternatives, pending, unknownCost, pendingUnknown, score: this.lookAhead(alternatives, pending, pendingUnknown) + unknownCost };
  }

  final(prefix: PrefixState): number {
    const g = prefix as LexiconPrefixState;
    let { alternatives, unknownCost } = g;
    if (g.pending.length > 0) ({ alternatives, unknownCost } = this.completed(alternatives, unknownCost, g.pending, g.pendingUnknown));
    return alternatives.reduce((a, s) => logAdd(a, this.units.final(s)), -Infinity) + unknownCost;
  }

  /** The state after `word` is complete (`charged`: it was already charged as unknown). */
  private completed(alternatives: readonly CtcPrefixState[], unknownCost: number, word: string, charged: boolean): { alternatives: readonly CtcPrefixState[]; unknownCost: number } {
    const next = charged ? undefined : this.withWord(alternatives, word);
    if (next) return { alternatives: next, unknownCost };
    return { alternatives, unknownCost: charged ? unknownCost : unknownCost + this.unknownLogProb };
  }

  /** Whether some lexicon word begins with `p`. */
  private isWordPrefix(p: string): boolean {
    return this.sorted[lowerBound(this.sorted, p)]?.startsWith(p) ?? false;
  }

  /** ψ of the completed words, with the best lexicon word that begins with `pending` after them (if any). */
  private lookAhead(alternatives: readonly CtcPrefixState[], pending: string, pendingUnknown: boolean): number {
    if (pending.length === 0 || pendingUnknown) return psiOf(alternatives);
    let cache = this.wordScores.get(alternatives);
    if (!cache) this.wordScores.set(alternatives, (cache = new Map()));
    let best = -Infinity;
    for (let i = lowerBound(this.sorted, pending); i < this.sorted.length && this.sorted[i]!.startsWith(pending); i++) {
      const w = this.sorted[i]!;
      let x = cache.get(w);
      if (x === undefined) cache.set(w, (x = psiOf(this.withWord(alternatives, w)!)));
      if (x > best) best = x;
    }
    return best;
  }

  /** The alternatives extended by every pronunciation of `word`, merged by last unit; undefined when it has none. */
  private withWord(alternatives: readonly CtcPrefixState[], word: string): CtcPrefixState[] | undefined {
    const prons = this.lexicon.get(word);
    if (!prons || prons.length === 0) return undefined;
    const byLast = new Map<number, CtcPrefixState>();
    for (const { units, logPrior } of prons) {
      for (const end of this.extendedBy(alternatives, units)) {
        const s = shifted(end, logPrior);
        const had = byLast.get(s.last);
        byLast.set(s.last, had ? merged(had, s) : s);
      }
    }
    return [...byLast.values()];
  }

  /** Each alternative extended by `units`, through the trie cache (only the units not walked before are computed). */
  private extendedBy(alternatives: readonly CtcPrefixState[], units: readonly number[]): readonly CtcPrefixState[] {
    let paths = this.unitPaths.get(alternatives);
    if (!paths) this.unitPaths.set(alternatives, (paths = new Map()));
    let states = alternatives;
    let key = "";
    for (const u of units) {
      key += key ? `,${u}` : `${u}`;
      let next = paths.get(key);
      if (!next) {
        const from = states;
        paths.set(key, (next = from.map((s) => this.units.extend(s, u))));
      }
      states = next;
    }
    return states;
  }
}
