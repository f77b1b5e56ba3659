/**
 * A small byte-pair-encoding (BPE) sub-word tokeniser, trained on the LM text.
 *
 * Why our own: the npm `tokenizers` binding (Hugging Face, 0.13–0.23) installs here and can load and
 * encode, but its Node API exposes no trainer options (`Tokenizer.train(files)` with the model's default
 * trainer: no vocabulary size, no special tokens), and 0.13.3's platform binary is missing from the
 * registry; `@huggingface/tokenizers` is inference-only. Training BPE is short and easy to test, so it
 * lives here.
 *
 * Scheme (SentencePiece-like word-start marker): text is split on whitespace; each word becomes the
 * symbols ["▁", c1, c2, ...]; training repeatedly merges the most frequent adjacent pair within words
 * (ties broken by the pair's text, so training is deterministic) until the vocabulary reaches
 * `vocabSize` or no pair occurs `minFrequency` times. Encoding applies merges in training order
 * (lowest rank first). Characters outside the alphabet become <unk>. Decoding joins the pieces and turns
 * "▁" back into spaces, so decode(encode(s)) == s for normalised text (single spaces, known chars).
 *
 * Vocabulary layout: ids 0..7 are the special tokens below, then "▁" and the alphabet, then merges.
 */

export const SPECIAL_TOKENS = ["<pad>", "<bos>", "<eos>", "<unk>", "<audio>", "</audio>", "<video>", "</video>"] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;
export const AUDIO_START_ID = 4;
export const AUDIO_END_ID = 5;
export const VIDEO_START_ID = 6;
export const VIDEO_END_ID = 7;

export const WORD_START = "\u2581"; // "▁"

/** Printable ASCII without the space: transcripts ([a-z'] words) and the prompts ("Transcribe ... text."). */
export const DEFAULT_ALPHABET = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join("");

export interface BpeTrainOptions {
  /** Target vocabulary size, special tokens and alphabet included. */
  vocabSize: number;
  /** Stop merging when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Base characters (default: printable ASCII). */
  alphabet?: string;
}

export interface BpeTokenizerJSON {
  type: "bpe";
  version: 1;
  specialTokens: string[];
  wordStart: string;
  alphabet: string;
  merges: Array<[string, string]>;
}

function splitWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

export class BpeTokenizer {
  readonly vocab: string[];
  private readonly ids = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly alphabetSet: Set<string>;
  private readonly cache = new Map<string, number[]>();

  constructor(
    readonly alphabet: string,
    readonly merges: ReadonlyArray<readonly [string, string]>,
  ) {
    this.alphabetSet = new Set([...alphabet]);
    this.vocab = [...SPECIAL_TOKENS, WORD_START, ...this.alphabetSet];
    merges.forEach(([a, b], i) => {
      this.ranks.set(`${a}\u0000${b}`, i);
      this.vocab.push(a + b);
    });
    this.vocab.forEach((t, i) => {
      if (!this.ids.has(t)) this.ids.set(t, i);
    });
  }

  get size(): number {
    return this.vocab.length;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string {
    const t = this.vocab[id];
    if (t === undefined) throw new RangeError(`token id ${id} out of range`);
    return t;
  }

  /** Learns merges from texts (each text is split on whitespace). */
  static train(texts: Iterable<string>, opts: BpeTrainOptions): BpeTokenizer {
    const alphabet = [...new Set([...(opts.alphabet ?? DEFAULT_ALPHABET)])].join("");
    const alpha = new Set([...alphabet]);
    const minFreq = opts.minFrequency ?? 2;
    const baseSize = SPECIAL_TOKENS.length + 1 + alpha.size;
    const nMerges = Math.max(0, opts.vocabSize - baseSize);

    // unique words with counts; each word as a symbol array (unknown characters never merge)
    const counts = new Map<string, number>();
    for (const text of texts) for (const w of splitWords(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const words: string[][] = [];
    const freq: number[] = [];
    for (const [w, c] of counts) {
      words.push([WORD_START, ...[...w].map((ch) => (alpha.has(ch) ? ch : "\u0000unk"))]);
      freq.push(c);
    }

    const key = (a: string, b: string) => `${a}\u0000${b}`;
    const pairCount = new Map<string, number>();
    const where = new Map<string, Set<number>>();
    const addPairs = (wi: number, sign: 1 | -1) => {
      const sym = words[wi]!;
      for (let i = 0; i + 1 < sym.length; i++) {
        if (sym[i]!.startsWith("\u0000") || sym[i + 1]!.startsWith("\u0000")) continue;
        const k = key(sym[i]!, sym[i + 1]!);
        pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[wi]!);
        if (sign > 0) {
          let s = where.get(k);
          if (!s) where.set(k, (s = new Set()));
          s.add(wi);
        }
      }
    };
    for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

    const merges: Array<[string, string]> = [];
    const vocabSeen = new Set<string>([WORD_START, ...alpha]);
    while (merges.length < nMerges) {
      let best: string | undefined;
      let bestCount = 0;
      for (const [k, c] of pairCount) {
        if (c > bestCount || (c === bestCount && c > 0 && best !== undefined && k < best)) {
          best = k;
          bestCount = c;
        }
      }
      if (best === undefined || bestCount < minFreq) break;
      const [a, b] = best.split("\u0000") as [string, string];
      const merged = a + b;
      for (const wi of where.get(best) ?? []) {
        const sym = words[wi]!;
        let has = false;
        for (let i = 0; i + 1 < sym.length; i++) if (sym[i] === a && sym[i + 1] === b) has = true;
        if (!has) continue;
        addPairs(wi, -1);
        const out: string[] = [];
        for (let i = 0; i < sym.length; i++) {
          if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
            out.push(merged);
            i++;
          } else out.push(sym[i]!);
        }
        words[wi] = out;
        addPairs(wi, 1);
      }
      pairCount.delete(best);
      where.delete(best);
      // a merge whose text already exists (e.g. via another split) adds no new vocabulary entry
      if (vocabSeen.has(merged)) continue;
      vocabSeen.add(merged);
      merges.push([a, b]);
    }
    return new BpeTokenizer(alphabet, merges);
  }

  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let sym: string[] = [WORD_START, ...[...word].map((ch) => (this.alphabetSet.has(ch) ? ch : "\u0000unk"))];
    for (;;) {
      let bestRank = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = this.ranks.get(`${sym[i]}\u0000${sym[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          at = i;
        }
      }
      if (at < 0) break;
      const [a, b] = this.merges[bestRank]!;
      const out: string[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(sym[i]!);
      }
      sym = out;
    }
    const ids = sym.map((s) => (s === "\u0000unk" ? UNK_ID : this.ids.get(s)!));
    if (this.cache.size < 100_000) this.cache.set(word, ids);
    return ids;
  }

  /** Token ids of a text (no BOS/EOS: the caller adds special tokens where the layout needs them). */
  encode(text: string): number[] {
    return splitWords(text).flatMap((w) => this.encodeWord(w));
  }

  /**
   * The text token `id` adds to `decode` (without `keepSpecial`): its piece, "?" for <unk>, nothing for
   * the other special tokens. Pieces joined and split at WORD_START are the decoded words (the lexicon
   * scorer, eval/lexicon-prefix.ts, follows a hypothesis word by word this way).
   */
  pieceText(id: number): string {
    if (id < SPECIAL_TOKENS.length) return id === UNK_ID ? "?" : "";
    return this.idToToken(id);
  }

  /** Text of token ids; special tokens are skipped unless `keepSpecial`. */
  decode(ids: readonly number[], keepSpecial = false): string {
    let s = "";
    for (const id of ids) s += keepSpecial && id < SPECIAL_TOKENS.length ? (id === UNK_ID ? "<unk>" : SPECIAL_TOKENS[id]) : this.pieceText(id);
    return s.split(WORD_START).filter((w) => w.length > 0).join(" ");
  }

  toJSON(): BpeTokenizerJSON {
    return {
      type: "bpe",
      version: 1,
      specialTokens: [...SPECIAL_TOKENS],
      wordStart: WORD_START,
      alphabet: this.alphabet,
      merges: this.merges.map(([a, b]) => [a, b]),
    };
  }

  static fromJSON(j: BpeTokenizerJSON | string): BpeTokenizer {
    const o: BpeTokenizerJSON = typeof j === "string" ? JSON.parse(j) : j;
    if (o.type !== "bpe" || o.version !== 1) throw new Error(`unsupported tokenizer ${o.type} v${o.version}`);
    if (o.specialTokens.join(" ") !== SPECIAL_TOKENS.join(" ") || o.wordStart !== WORD_START) {
      throw new Error("tokenizer file has a different special-token layout");
    }
    return new BpeTokenizer(o.alphabet, o.merges);
  }
}
