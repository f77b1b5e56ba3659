/**
 * LM training data: the train/val split, the tokeniser, the token streams, repeats, and the training
 * windows and batches.
 *
 * Data. Each line of the LM text becomes `<bos> tokens <eos>`; lines are concatenated into one token
 * stream and training windows of seqLen+1 tokens are drawn at random offsets (nanoGPT style), so a
 * window holds several consecutive sentences and sentences appear at every position. Targets that are
 * `<bos>` (always right after `<eos>`) carry no loss, in training and in evaluation. A line goes to
 * validation when hashSeed("lm-val", line) falls in the first `valFraction` of the 32-bit range: the
 * split does not depend on the seed or line order, and repeated lines land on the same side. The
 * tokeniser is trained on the training lines only, and is one per preset, shared by every size.
 */
import { IGNORE } from "../../models/llm.js";
import { BOS_ID, BpeTokenizer, EOS_ID } from "../../text/tokenizer.js";
import { Rng, hashSeed } from "../../util/rng.js";
import type { CopyWindowConfig, LmPretrainConfig, LmRepeatConfig, LmTokenizerConfig } from "./config.js";

/** True when a line belongs to the validation slice (a property of the text alone). */
export function isValidationLine(line: string, valFraction: number): boolean {
  return hashSeed("lm-val", line) < valFraction * 4294967296;
}

export function splitLmLines(lines: readonly string[], valFraction: number): { train: string[]; val: string[] } {
  const train: string[] = [];
  const val: string[] = [];
  for (const l of lines) (isValidationLine(l, valFraction) ? val : train).push(l);
  return { train, val };
}

export function trainLmTokenizer(lines: readonly string[], cfg: LmTokenizerConfig): BpeTokenizer {
  return BpeTokenizer.train(lines, { vocabSize: cfg.vocabSize, minFrequency: cfg.minFrequency });
}

/** `<bos> tokens <eos>` of every line, concatenated. */
export function tokenStream(tokenizer: BpeTokenizer, lines: readonly string[]): Int32Array {
  const parts: number[] = [];
  for (const l of lines) {
    parts.push(BOS_ID);
    for (const id of tokenizer.encode(l)) parts.push(id);
    parts.push(EOS_ID);
  }
  return Int32Array.from(parts);
}

export interface LmData {
  tokenizer: BpeTokenizer;
  trainLines: number;
  valLines: number;
  train: Int32Array;
  val: Int32Array;
}

/** The training lines with the repeats of `LmRepeatConfig` inserted (the input order is kept). */
export function withRepeats(lines: readonly string[], cfg: LmRepeatConfig | undefined): string[] {
  if (!cfg || cfg.fraction <= 0) return [...lines];
  if (!(cfg.fraction <= 1) || !Number.isInteger(cfg.maxGap) || cfg.maxGap < 0) throw new Error(`repeat: fraction in (0, 1] and an integer maxGap >= 0, got ${JSON.stringify(cfg)}`);
  const out: string[] = [];
  // pending[k]: lines to emit again once k + 1 more original lines have gone by
  const pending: string[][] = [];
  for (const line of lines) {
    out.push(line);
    const due = pending.shift() ?? [];
    if (hashSeed("lm-repeat", line) < cfg.fraction * 4294967296) {
      const gap = hashSeed("lm-repeat-gap", line) % (cfg.maxGap + 1);
      if (gap === 0) due.push(line);
      else {
        while (pending.length < gap) pending.push([]);
        pending[gap - 1]!.push(line);
      }
    }
    out.push(...due);
  }
  for (const rest of pending) out.push(...rest);
  return out;
}

/** Splits the lines, trains the tokeniser on the training lines (unless given), and encodes both parts. */
export function prepareLmData(lines: readonly string[], cfg: Pick<LmPretrainConfig, "valFraction" | "tokenizer" | "repeat">, tokenizer?: BpeTokenizer): LmData {
  const { train, val } = splitLmLines(lines, cfg.valFraction);
  if (val.length === 0) throw new Error(`no validation lines (${lines.length} lines, valFraction ${cfg.valFraction})`);
  const tok = tokenizer ?? trainLmTokenizer(train, cfg.tokenizer);
  return { tokenizer: tok, trainLines: train.length, valLines: val.length, train: tokenStream(tok, withRepeats(train, cfg.repeat)), val: tokenStream(tok, val) };
}

/** Window starting at `offset`: inputs stream[o..o+T), targets stream[o+1..o+T] (<bos> targets ignored). */
export function fillWindow(stream: Int32Array, offset: number, T: number, ids: Int32Array, targets: Int32Array, at: number): number {
  let counted = 0;
  for (let t = 0; t < T; t++) {
    ids[at + t] = stream[offset + t]!;
    const y = stream[offset + t + 1]!;
    targets[at + t] = y === BOS_ID ? IGNORE : y;
    if (y !== BOS_ID) counted++;
  }
  return counted;
}

/** A copy window (`CopyWindowConfig`) at `at`; returns the scored targets. */
function fillCopyWindow(cfg: CopyWindowConfig, vocabSize: number, T: number, ids: Int32Array, targets: Int32Array, at: number, rng: Rng): number {
  const n = rng.int(cfg.minLen, cfg.maxLen + 1);
  const x = Array.from({ length: n }, () => rng.int(FIRST_TEXT_ID, vocabSize));
  const unit = [BOS_ID, ...x, EOS_ID];
  let counted = 0;
  for (let t = 0; t < T; t++) {
    ids[at + t] = unit[t % unit.length]!;
    const next = t + 1;
    const y = unit[next % unit.length]!;
    // score the repeats only: positions whose target lies in a second or later copy, <bos> excluded
    const scored = next > unit.length && y !== BOS_ID;
    targets[at + t] = scored ? y : IGNORE;
    if (scored) counted++;
  }
  return counted;
}

/** First id of the ordinary (non-special) vocabulary. */
const FIRST_TEXT_ID = 8;

/**
 * A training batch: batchSize windows at offsets drawn from `rng`; with `copy`, each window is a copy
 * window with probability copy.fraction (drawn from the same `rng`, so a resumed run is exact).
 */
export function sampleBatch(stream: Int32Array, seqLen: number, batchSize: number, rng: Rng, copy?: { cfg: CopyWindowConfig; vocabSize: number }): { ids: Int32Array; targets: Int32Array; tokens: number } {
  if (stream.length < seqLen + 1) throw new Error(`token stream of ${stream.length} tokens is shorter than one window (${seqLen + 1})`);
  const ids = new Int32Array(batchSize * seqLen);
  const targets = new Int32Array(batchSize * seqLen);
  let tokens = 0;
  for (let b = 0; b < batchSize; b++) {
    if (copy && rng.next() < copy.cfg.fraction) tokens += fillCopyWindow(copy.cfg, copy.vocabSize, seqLen, ids, targets, b * seqLen, rng);
    else tokens += fillWindow(stream, rng.int(0, stream.length - seqLen), seqLen, ids, targets, b * seqLen);
  }
  return { ids, targets, tokens };
}
