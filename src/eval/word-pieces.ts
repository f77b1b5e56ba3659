/**
 * Token ids by the text they spell, for scorers that propose tokens towards whole words
 * (eval/lexicon-prefix.ts, eval/word-lm-prefix.ts): pieces that start a word (keyed without the
 * word-start marker) and pieces that continue one. A piece with the marker anywhere but at its start,
 * or twice, is left out (it spells across a word boundary).
 */
export interface PieceIndex {
  readonly start: ReadonlyMap<string, readonly number[]>;
  readonly cont: ReadonlyMap<string, readonly number[]>;
}

export interface PieceSource {
  /** Text of a token id as the tokeniser decodes it ("" for a token that adds no text). */
  pieceOf: (id: number) => string;
  /** The marker a piece carries where a new word begins (BpeTokenizer: "▁"). */
  wordStart: string;
  /** The id never to propose (the LLM-side blank). */
  blank: number;
  /** Token ids 0 .. vocabSize − 1. */
  vocabSize: number;
}

export function pieceIndexOf(o: PieceSource): PieceIndex {
  const start = new Map<string, number[]>();
  const cont = new Map<string, number[]>();
  const ws = o.wordStart;
  for (let id = 0; id < o.vocabSize; id++) {
    if (id === o.blank) continue;
    const p = o.pieceOf(id);
    if (!p) continue;
    const at = p.indexOf(ws);
    const [map, text] = at === -1 ? [cont, p] : at === 0 && p.indexOf(ws, ws.length) === -1 ? [start, p.slice(ws.length)] : [undefined, ""];
    if (!map || !text) continue;
    const ids = map.get(text);
    if (ids) ids.push(id);
    else map.set(text, [id]);
  }
  return { start, cont };
}

/**
 * Offers collected per token id, keeping each id's best score; `ranked(n)` gives the n best ids, best
 * first (ties by id, so proposals are deterministic).
 */
export class Offers {
  private readonly best = new Map<number, number>();

  offer(ids: readonly number[] | undefined, score: number): void {
    for (const id of ids ?? []) if (!(this.best.get(id)! >= score)) this.best.set(id, score);
  }

  /** Pieces that continue `pending` towards `word` (which begins with it), each at `score`. */
  continuations(index: PieceIndex, pending: string, word: string, score: number): void {
    for (let k = pending.length + 1; k <= word.length; k++) this.offer(index.cont.get(word.slice(pending.length, k)), score);
  }

  /** Word-start pieces that begin `word`, each at `score`. */
  starts(index: PieceIndex, word: string, score: number): void {
    for (let k = 1; k <= word.length; k++) this.offer(index.start.get(word.slice(0, k)), score);
  }

  /** The n-th best score offered so far (−∞ while fewer than n ids have offers). */
  nthBest(n: number): number {
    if (this.best.size < n) return -Infinity;
    return [...this.best.values()].sort((a, b) => b - a)[n - 1]!;
  }

  ranked(n: number): number[] {
    return [...this.best.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, n).map(([id]) => id);
  }
}
