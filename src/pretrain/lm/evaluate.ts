/**
 * LM evaluation: validation loss and perplexities.
 *
 * Perplexity. Validation windows are consecutive and non-overlapping (stride seqLen), so every token
 * after the first is predicted once with up to seqLen tokens of context. Token perplexity =
 * exp(mean NLL over predicted tokens); word perplexity = exp(total NLL / (words + end-of-lines)),
 * where a word is counted by its word-start token ("▁..."): comparable across tokenisers.
 */
import * as tf from "@tensorflow/tfjs";
import { IGNORE, Llm, maskedCrossEntropy } from "../../models/llm.js";
import { BpeTokenizer, EOS_ID, WORD_START } from "../../text/tokenizer.js";
import { fillWindow } from "./data.js";

export interface LmEval {
  loss: number;
  perplexity: number;
  /** Tokens predicted (scored). */
  tokens: number;
  /** Words + line ends among them (when wordStarts was given). */
  words?: number;
  wordPerplexity?: number;
}

/** Which ids start a word ("▁...") or end a line (<eos>): the word count of word perplexity. */
export function wordStartIds(tokenizer: BpeTokenizer): Uint8Array {
  const out = new Uint8Array(tokenizer.size);
  for (let i = 0; i < tokenizer.size; i++) out[i] = i === EOS_ID || tokenizer.idToToken(i).startsWith(WORD_START) ? 1 : 0;
  return out;
}

/**
 * Mean next-token NLL over consecutive, non-overlapping windows of a token stream (at most maxTokens
 * predicted tokens when given), with perplexities.
 */
export function evaluateLm(llm: Llm, stream: Int32Array, opts: { seqLen: number; batchSize: number; maxTokens?: number; wordStarts?: Uint8Array }): LmEval {
  const T = opts.seqLen;
  const offsets: number[] = [];
  for (let o = 0; o + T + 1 <= stream.length; o += T) {
    if (opts.maxTokens !== undefined && offsets.length * T >= opts.maxTokens) break;
    offsets.push(o);
  }
  if (offsets.length === 0) throw new Error(`evaluation stream of ${stream.length} tokens is shorter than one window (${T + 1})`);
  let nll = 0;
  let tokens = 0;
  let words = 0;
  for (let i = 0; i < offsets.length; i += opts.batchSize) {
    const rows = offsets.slice(i, i + opts.batchSize);
    const ids = new Int32Array(rows.length * T);
    const targets = new Int32Array(rows.length * T);
    let count = 0;
    rows.forEach((o, b) => (count += fillWindow(stream, o, T, ids, targets, b * T)));
    if (opts.wordStarts) for (const y of targets) if (y !== IGNORE && opts.wordStarts[y]) words++;
    const mean = tf.tidy(() => {
      const out = llm.forward({ ids: tf.tensor2d(ids, [rows.length, T], "int32") }, { logits: "all" });
      return maskedCrossEntropy(out.logits!, targets);
    });
    nll += mean.dataSync()[0]! * count;
    mean.dispose();
    tokens += count;
  }
  const loss = nll / Math.max(1, tokens);
  const res: LmEval = { loss, perplexity: Math.exp(loss), tokens };
  if (opts.wordStarts) {
    res.words = words;
    res.wordPerplexity = Math.exp(nll / Math.max(1, words));
  }
  return res;
}
