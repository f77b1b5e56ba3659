/**
 * A word-bigram LM with interpolated absolute discounting onto an add-one unigram, fitted on text (the
 * LMs' pretraining text, which holds no validation or test transcript: data/lm-text.ts). Two users: the
 * conventional reference recogniser (eval/lexicon-decode.ts) and word-LM fusion in the LLM's beam search
 * (eval/word-lm-prefix.ts), which also asks for the best word that begins with some letters
 * (`bestLogProbWithPrefix`, its look-ahead).
 *
 *   P(w | v) = max(c(v, w) − d, 0) / c(v) + (d · types(v) / c(v)) · P_uni(w)      (v seen as a context)
 *   P(w | v) = P_uni(w)                                                              (v never a context)
 *   P_uni(w) = (c(w) + 1) / (N + |V| + 1)                                            (one slot for unseen words)
 */
import { lowerBound } from "../util/sorted.js";

export class BigramLm {
  /** The vocabulary, sorted (the words with a given prefix are a contiguous run); `</s>` left out. */
  private sortedWords?: readonly string[];
  /** Look-ahead caches: prefix -> the best unigram count of the words that begin with it; (prev, prefix) -> best log P. */
  private readonly maxCounts = new Map<string, number>();
  private readonly best = new Map<string, number>();

  private constructor(
    private readonly unigram: Map<string, number>,
    private readonly unigramTotal: number,
    private readonly vocabSize: number,
    private readonly bigram: Map<string, Map<string, number>>,
    private readonly context: Map<string, { total: number; types: number }>,
    private readonly discount: number,
  ) {}

  /** Sentences as word arrays; `<s>` and `</s>` are added. */
  static fit(sentences: Iterable<readonly string[]>, discount = 0.75): BigramLm {
    if (!(discount > 0 && discount < 1)) throw new Error(`BigramLm: discount must be in (0, 1), got ${discount}`);
    const uni = new Map<string, number>();
    const bi = new Map<string, Map<string, number>>();
    let total = 0;
    for (const s of sentences) {
      const seq = ["<s>", ...s, "</s>"];
      for (let i = 1; i < seq.length; i++) {
        const w = seq[i]!;
        uni.set(w, (uni.get(w) ?? 0) + 1);
        total++;
        const m = bi.get(seq[i - 1]!) ?? bi.set(seq[i - 1]!, new Map()).get(seq[i - 1]!)!;
        m.set(w, (m.get(w) ?? 0) + 1);
      }
    }
    const ctx = new Map<string, { total: number; types: number }>();
    for (const [h, m] of bi) ctx.set(h, { total: [...m.values()].reduce((a, b) => a + b, 0), types: m.size });
    return new BigramLm(uni, total, uni.size + 1, bi, ctx, discount);
  }

  /** log P(w) under the add-one unigram (an unseen word gets the add-one floor). */
  logUnigram(w: string): number {
    return Math.log(this.unigramOfCount(this.unigram.get(w) ?? 0));
  }

  /** Natural log of P(w | prev). */
  logProb(prev: string, w: string): number {
    return Math.log(this.prob(prev, this.bigram.get(prev)?.get(w) ?? 0, this.unigram.get(w) ?? 0));
  }

  /**
   * max over the words w that begin with `prefix` of log P(w | prev), an unseen word included (it could
   * begin with anything): the look-ahead of a word still being spelt. `</s>` is not a word here.
   * Cached per (prev, prefix).
   */
  bestLogProbWithPrefix(prev: string, prefix: string): number {
    const key = `${prev}\u0000${prefix}`;
    let x = this.best.get(key);
    if (x !== undefined) return x;
    // P(w | prev) grows with both counts: the best is a seen successor or the most frequent word (or an unseen one)
    let p = this.prob(prev, 0, this.maxCountWithPrefix(prefix));
    const succ = this.bigram.get(prev);
    if (succ) {
      for (const [w, n] of succ) {
        if (w !== "</s>" && w.startsWith(prefix)) p = Math.max(p, this.prob(prev, n, this.unigram.get(w)!));
      }
    }
    this.best.set(key, (x = Math.log(p)));
    return x;
  }

  /** The words seen in the text, sorted; `</s>` left out. */
  vocabulary(): readonly string[] {
    return (this.sortedWords ??= [...this.unigram.keys()].filter((w) => w !== "</s>").sort());
  }

  private unigramOfCount(count: number): number {
    return (count + 1) / (this.unigramTotal + this.vocabSize);
  }

  /** P(w | prev) from the bigram count c(prev, w) and the unigram count c(w). */
  private prob(prev: string, bigramCount: number, unigramCount: number): number {
    const pu = this.unigramOfCount(unigramCount);
    const c = this.context.get(prev);
    if (!c) return pu;
    return Math.max(bigramCount - this.discount, 0) / c.total + ((this.discount * c.types) / c.total) * pu;
  }

  /** The highest unigram count of a vocabulary word that begins with `prefix` (0: none). */
  private maxCountWithPrefix(prefix: string): number {
    let m = this.maxCounts.get(prefix);
    if (m !== undefined) return m;
    const words = this.vocabulary();
    m = 0;
    for (let i = lowerBound(words, prefix); i < words.length && words[i]!.startsWith(prefix); i++) m = Math.max(m, this.unigram.get(words[i]!)!);
    this.maxCounts.set(prefix, m);
    return m;
  }
}
