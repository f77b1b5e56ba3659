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
 * letters (each summed over its pronunciations), cached per (completed words, word). The words are not all
 * scored: ψ never grows as a unit string is extended, so the ψ of a pronunciation's first units bounds
 * the word's score (plus log Σ exp(prior) over its pronunciations, 0 for a normalised lexicon), and a
 * best-first search (`wordsByScore`) extends only the words whose bound can still beat the best word
 * found. The result is the exhaustive maximum, the same number (test/eval/lexicon-prefix.test.ts checks
 * it against scoring every word), at a fraction of the unit-CTC extensions. Without look-ahead the score
 * of a word being spelt would stay that of the words before it until it ends, so the beam would prefer
 * spelling on to ending a word or the sentence (a finished hypothesis would rank below unfinished ones
 * and be dropped), and fill up with long made-up words.
 *
 * Proposals (`propose`): the beam search scores only the tokens the LLM ranks high (its pre-beam), and
 * on validation most errors left were search errors: the reference had the better joint score, but one
 * of its tokens was ranked 19th or 44th by the LLM and never scored. The scorer therefore names the
 * tokens it would extend a prefix by: pieces that continue the word being spelt towards a lexicon word,
 * and, when that word is complete (or none is begun), word-start pieces of the lexicon words that read
 * best next. The next words are found by branch and bound over the pronunciation trie: a node's prefix
 * probability bounds every word below it, so a branch below the n-th best word found is not walked.
 */
import { MaxHeap } from "../util/heap.js";
import { lowerBound } from "../util/sorted.js";
import { Offers, pieceIndexOf, type PieceIndex } from "./word-pieces.js";
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
  /** Token ids 0 .. vocabSize − 1 are the pieces `propose` may name (without it, it names none). */
  vocabSize?: number;
  /** The most pieces `propose` names per prefix, whatever the beam search asks for (default: as many as asked). */
  maxProposals?: number;
}

/** A node of the pronunciation trie: the unit string from the root (`key`), the words whose pronunciation ends here. */
interface TrieNode {
  readonly key: string;
  readonly children: Map<number, TrieNode>;
  readonly words: Array<{ word: string; logPrior: number }>;
}

/** The lexicon's pronunciations as a trie (made once per lexicon). */
const tries = new WeakMap<UnitLexicon, TrieNode>();
function trieOf(lexicon: UnitLexicon): TrieNode {
  let root = tries.get(lexicon);
  if (root) return root;
  root = { key: "", children: new Map(), words: [] };
  for (const [word, prons] of lexicon) {
    for (const { units, logPrior } of prons) {
      let n = root;
      for (const u of units) {
        let c = n.children.get(u);
        if (!c) n.children.set(u, (c = { key: n.key ? `${n.key},${u}` : `${u}`, children: new Map(), words: [] }));
        n = c;
      }
      n.words.push({ word, logPrior });
    }
  }
  tries.set(lexicon, root);
  return root;
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

/**
 * How far a word's score can exceed its best pronunciation's ψ: max over words of log Σ exp(prior)
 * (0 for normalised priors, never below 0), plus a margin for rounding. Made once per lexicon.
 */
const slacks = new WeakMap<UnitLexicon, number>();
function slackOf(lexicon: UnitLexicon): number {
  let s = slacks.get(lexicon);
  if (s === undefined) {
    s = 0;
    for (const prons of lexicon.values()) s = Math.max(s, prons.reduce((a, p) => logAdd(a, p.logPrior), -Infinity));
    slacks.set(lexicon, (s += 1e-6));
  }
  return s;
}

/** A word in the look-ahead's best-first search: its pronunciations' unit paths walked so far, and the bound they give. */
interface WordSearchItem {
  readonly word: string;
  /** Per pronunciation, the units walked (a prefix of its units). */
  readonly depth: number[];
  /** Per pronunciation, the alternatives extended by those units. */
  readonly states: Array<readonly CtcPrefixState[]>;
  /** An upper bound on the word's score, or the score itself once `exact`. */
  key: number;
  exact: boolean;
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
  private readonly slack: number;
  /** Look-ahead cache: completed-word alternatives -> word -> ψ of the alternatives extended by the word. */
  private readonly wordScores = new WeakMap<readonly CtcPrefixState[], Map<string, number>>();
  /** Look-ahead cache: completed-word alternatives -> word being spelt -> the best score of a word it can become. */
  private readonly lookAheads = new WeakMap<readonly CtcPrefixState[], Map<string, number>>();
  /**
   * Pronunciation trie, walked lazily: completed-word alternatives -> unit string ("3,17,5") -> those
   * alternatives extended by it (one state per alternative, priors not applied). Pronunciations that
   * share their first units (/ð/ of the, they, them, there ...) share those extensions, which are most
   * of the look-ahead's work.
   */
  private readonly unitPaths = new WeakMap<readonly CtcPrefixState[], Map<string, readonly CtcPrefixState[]>>();
  /** Completed-word alternatives -> word -> the alternatives after it (one object per word, so the caches above are shared). */
  private readonly completions = new WeakMap<readonly CtcPrefixState[], Map<string, readonly CtcPrefixState[] | null>>();
  private pieces?: PieceIndex;

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
    this.slack = slackOf(lexicon);
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

  /**
   * Up to `n` token ids this scorer would extend `prefix` by, best first: pieces that continue the word
   * being spelt towards a lexicon word, and word-start pieces of the best next words (see the header).
   * Each is ranked by the look-ahead score it would get; the beam search scores them like any other.
   */
  propose(prefix: PrefixState, n: number): number[] {
    const g = prefix as LexiconPrefixState;
    n = Math.min(n, this.o.maxProposals ?? n);
    if (n <= 0 || g.pendingUnknown || this.o.vocabSize === undefined) return [];
    const pieces = (this.pieces ??= pieceIndexOf({ ...this.o, vocabSize: this.o.vocabSize }));
    const offers = new Offers();
    // word-start pieces of the best next words, once the word being spelt is a complete lexicon word
    const after = g.pending ? this.withWordCached(g.alternatives, g.pending) : g.alternatives;
    if (after) for (const { word, score } of this.bestWords(after, n)) offers.starts(pieces, word, score);
    // pieces that continue the word being spelt, best word first; a word scoring below the n-th best
    // offer can neither add an id to the top n nor raise one there, so the rest are not scored
    if (g.pending) {
      for (const { word, score } of this.wordsByScore(g.alternatives, g.pending)) {
        if (score < offers.nthBest(n)) break;
        offers.continuations(pieces, g.pending, word, score);
      }
    }
    return offers.ranked(n);
  }

  /** ψ of the alternatives extended by `word` (summed over its pronunciations), cached. */
  private wordScore(alternatives: readonly CtcPrefixState[], word: string): number {
    let cache = this.wordScores.get(alternatives);
    if (!cache) this.wordScores.set(alternatives, (cache = new Map()));
    let x = cache.get(word);
    if (x === undefined) cache.set(word, (x = psiOf(this.withWordCached(alternatives, word)!)));
    return x;
  }

  /**
   * The `n` words that read best after the alternatives (each by its best pronunciation: ψ + prior),
   * found by branch and bound over the pronunciation trie: ψ never grows along a branch and priors are
   * ≤ 0, so a node whose ψ is below the n-th best word found holds no better word.
   */
  private bestWords(alternatives: readonly CtcPrefixState[], n: number): Array<{ word: string; score: number }> {
    const top: Array<{ word: string; score: number }> = [];
    const bound = () => (top.length < n ? -Infinity : top[top.length - 1]!.score);
    const consider = (word: string, score: number) => {
      const had = top.findIndex((t) => t.word === word);
      if (had >= 0) {
        if (top[had]!.score >= score) return;
        top.splice(had, 1);
      }
      if (top.length >= n && !(score > bound())) return;
      let i = top.length;
      while (i > 0 && top[i - 1]!.score < score) i--;
      top.splice(i, 0, { word, score });
      if (top.length > n) top.pop();
    };
    // a child's ψ comes from its parent's variables alone (extensionScore); only the children walked
    // (ψ above the bound) have their own variables computed
    const walk = (node: TrieNode, states: readonly CtcPrefixState[]) => {
      const kids = [...node.children.entries()].map(([u, c]) => ({ u, c, psi: this.pathScore(alternatives, c.key, states, u) }));
      kids.sort((a, b) => b.psi - a.psi);
      for (const { u, c, psi } of kids) {
        if (!(psi > bound())) break;
        for (const { word, logPrior } of c.words) consider(word, psi + logPrior);
        walk(c, this.stepPath(alternatives, c.key, states, u));
      }
    };
    walk(trieOf(this.lexicon), alternatives);
    return top;
  }

  /** psiOf(stepPath(...)), the same number, without computing the path's states when they are not cached. */
  private pathScore(alternatives: readonly CtcPrefixState[], key: string, parent: readonly CtcPrefixState[], u: number): number {
    const st = this.unitPaths.get(alternatives)?.get(key);
    if (st) return psiOf(st);
    return parent.reduce((a, s) => logAdd(a, this.units.extensionScore(s, u)), -Infinity);
  }

  /** The trie-path states for `key` (= the parent's key + `u`), from the cache or by extending the parent's. */
  private stepPath(alternatives: readonly CtcPrefixState[], key: string, parent: readonly CtcPrefixState[], u: number): readonly CtcPrefixState[] {
    let paths = this.unitPaths.get(alternatives);
    if (!paths) this.unitPaths.set(alternatives, (paths = new Map()));
    let st = paths.get(key);
    if (!st) paths.set(key, (st = parent.map((s) => this.units.extend(s, u))));
    return st;
  }

  /** The state after `word` is complete (`charged`: it was already charged as unknown). */
  private completed(alternatives: readonly CtcPrefixState[], unknownCost: number, word: string, charged: boolean): { alternatives: readonly CtcPrefixState[]; unknownCost: number } {
    const next = charged ? undefined : this.withWordCached(alternatives, word);
    if (next) return { alternatives: next, unknownCost };
    return { alternatives, unknownCost: charged ? unknownCost : unknownCost + this.unknownLogProb };
  }

  /** withWord, cached per (alternatives, word): the same completion is one object, whose caches every hypothesis shares. */
  private withWordCached(alternatives: readonly CtcPrefixState[], word: string): readonly CtcPrefixState[] | undefined {
    let cache = this.completions.get(alternatives);
    if (!cache) this.completions.set(alternatives, (cache = new Map()));
    let next = cache.get(word);
    if (next === undefined) cache.set(word, (next = this.withWord(alternatives, word) ?? null));
    return next ?? undefined;
  }

  /** Whether some lexicon word begins with `p`. */
  private isWordPrefix(p: string): boolean {
    return this.sorted[lowerBound(this.sorted, p)]?.startsWith(p) ?? false;
  }

  /** ψ of the completed words, with the best lexicon word that begins with `pending` after them (if any). */
  private lookAhead(alternatives: readonly CtcPrefixState[], pending: string, pendingUnknown: boolean): number {
    if (pending.length === 0 || pendingUnknown) return psiOf(alternatives);
    let cache = this.lookAheads.get(alternatives);
    if (!cache) this.lookAheads.set(alternatives, (cache = new Map()));
    let best = cache.get(pending);
    if (best === undefined) {
      best = -Infinity;
      for (const { score } of this.wordsByScore(alternatives, pending)) {
        best = score;
        break;
      }
      cache.set(pending, best);
    }
    return best;
  }

  /**
   * The lexicon words that begin with `pending`, with their scores (wordScore), best first, found lazily
   * by best-first search: each word is keyed by a bound on its score, the ψ of its pronunciations' unit
   * paths walked so far (plus the lexicon's slack), and the word with the highest key has its paths
   * walked one unit further (or, fully walked, is scored); a scored word at the top of the heap beats
   * every bound below it. Words a caller does not consume are never scored.
   */
  private *wordsByScore(alternatives: readonly CtcPrefixState[], pending: string): Generator<{ word: string; score: number }> {
    const heap = new MaxHeap<WordSearchItem>();
    const bound = (x: WordSearchItem) => x.states.reduce((m, st) => Math.max(m, psiOf(st)), -Infinity) + this.slack;
    for (let i = lowerBound(this.sorted, pending); i < this.sorted.length && this.sorted[i]!.startsWith(pending); i++) {
      const word = this.sorted[i]!;
      const known = this.wordScores.get(alternatives)?.get(word);
      const prons = this.lexicon.get(word)!;
      if (prons.length === 0) continue; // nothing to score it by
      const item: WordSearchItem = { word, depth: prons.map(() => 0), states: prons.map(() => alternatives), key: 0, exact: known !== undefined };
      item.key = known ?? bound(item);
      heap.push(item);
    }
    while (heap.size > 0) {
      const top = heap.pop()!;
      if (top.exact) {
        yield { word: top.word, score: top.key };
        continue;
      }
      const prons = this.lexicon.get(top.word)!;
      let walked = true;
      prons.forEach(({ units }, p) => {
        const d = top.depth[p]!;
        if (d >= units.length) return;
        top.states[p] = this.stepPath(alternatives, units.slice(0, d + 1).join(","), top.states[p]!, units[d]!);
        top.depth[p] = d + 1;
        if (d + 1 < units.length) walked = false;
      });
      if (walked) {
        top.key = this.wordScore(alternatives, top.word);
        top.exact = true;
      } else top.key = bound(top);
      heap.push(top);
    }
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
    let states = alternatives;
    let key = "";
    for (const u of units) {
      key += key ? `,${u}` : `${u}`;
      states = this.stepPath(alternatives, key, states, u);
    }
    return states;
  }
}
