/**
 * Word-LM fusion for `npm run eval -- ... --word-lm β` (eval/word-lm-prefix.ts): a word-bigram LM
 * (eval/bigram-lm.ts) fitted on the corpus's LM text, the text the LLMs were pretrained on, checked free
 * of every validation and test transcript (pretrain/lm/text.ts). Nothing is trained beyond counting, so
 * it applies to every committed run at evaluation time.
 *
 *   openWordLm(preset)          the bigram LM of the preset's LM text (fitted once per process)
 *   wordLmScorer(lm, tokenizer) the beam search's prefix scorer over the tokeniser's pieces
 */
import { BigramLm } from "../eval/bigram-lm.js";
import { WordLmPrefixScorer } from "../eval/word-lm-prefix.js";
import { readLmText } from "../pretrain/lm/text.js";
import { PAD_ID, WORD_START, type BpeTokenizer } from "../text/tokenizer.js";

export interface WordLm {
  lm: BigramLm;
  /** Sentences it was fitted on, and their file. */
  sentences: number;
  source: string;
}

const fitted = new Map<string, Promise<WordLm>>();

/** The word-bigram LM of a corpus preset's LM text (cached per preset). */
export function openWordLm(preset: string): Promise<WordLm> {
  let lm = fitted.get(preset);
  if (!lm) {
    lm = readLmText(preset).then((t) => ({ lm: BigramLm.fit(t.lines.map((l) => l.split(" "))), sentences: t.lines.length, source: t.source }));
    fitted.set(preset, lm);
    // a failed read is not remembered (a notebook kernel may fix the corpus and call again)
    lm.catch(() => fitted.delete(preset));
  }
  return lm;
}

/**
 * A word-LM prefix scorer over the tokeniser's pieces (one serves every hypothesis of a batch), naming
 * up to `proposals` pieces per prefix towards the likeliest of `words` (default: the LM's vocabulary).
 */
export function wordLmScorer(lm: BigramLm, tokenizer: BpeTokenizer, o: { proposals?: number; words?: Iterable<string> } = {}): WordLmPrefixScorer {
  return new WordLmPrefixScorer(lm, { pieceOf: (id) => tokenizer.pieceText(id), wordStart: WORD_START, blank: PAD_ID, vocabSize: tokenizer.size, maxProposals: o.proposals ?? 0, words: o.words });
}
