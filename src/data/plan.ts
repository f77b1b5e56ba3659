/**
 * The corpus plan: a pure function of the config (preset + seed) that says which speaker reads which
 * sentence under which id. Generation, resume and the loaders all recompute it, so nothing about the
 * assignment depends on run order.
 *
 * Sentence splits: test and validation sentences are drawn from the pool first and never appear in
 * training transcripts (nor in the LM text). A sentence is only held out if every one of its words
 * stays in at least one training sentence, so no test word is unseen in training transcripts.
 */
import { Rng, hashSeed } from "../util/rng.js";
import type { CorpusConfig } from "./config.js";
import { drawSpeakers, type Speaker } from "./speakers.js";
import { LeakDetector } from "./lm-text.js";
import { buildSentencePool, readBrownSentences, type BrownSentence } from "./text.js";

export type Split = "train" | "val" | "test";
export const SPLITS: readonly Split[] = ["train", "val", "test"];

export interface PlannedUtterance {
  id: string;
  split: Split;
  speaker: string;
  text: string;
  /** Seed of everything random about this utterance (rate jitter, padding, render nuisance). */
  seed: number;
}

export interface CorpusPlan {
  config: CorpusConfig;
  vocab: string[];
  sentences: Record<Split, string[]>;
  speakers: Speaker[];
  utterances: PlannedUtterance[];
  /** All Brown sentences (for the LM text). */
  brown: BrownSentence[];
}

function holdOut(pool: string[], counts: Map<string, number>, n: number, what: string): string[] {
  const picked: string[] = [];
  for (let i = 0; i < pool.length && picked.length < n; ) {
    const words = pool[i]!.split(" ");
    const need = new Map<string, number>();
    for (const w of words) need.set(w, (need.get(w) ?? 0) + 1);
    if ([...need].every(([w, k]) => (counts.get(w) ?? 0) - k >= 1)) {
      for (const [w, k] of need) counts.set(w, counts.get(w)! - k);
      picked.push(pool.splice(i, 1)[0]!);
    } else i++;
  }
  if (picked.length < n) throw new Error(`only ${picked.length} ${what} sentences can be held out, ${n} requested`);
  return picked;
}

export function buildPlan(config: CorpusConfig, brown: BrownSentence[] = readBrownSentences()): CorpusPlan {
  if (config.voiceBank) return buildVoiceBankPlan(config, brown);
  const rng = new Rng(config.seed);
  const { vocab, pool } = buildSentencePool(brown, {
    vocabSize: config.vocabSize,
    minWords: config.minWords,
    maxWords: config.maxWords,
  });
  const shuffled = rng.fork("sentences").shuffle([...pool]);
  const counts = new Map<string, number>();
  for (const s of shuffled) for (const w of s.split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
  const test = holdOut(shuffled, counts, config.testSentences, "test");
  const val = holdOut(shuffled, counts, config.valSentences, "validation");
  const { train, vocab: trainVocab } = trainSentences(config, brown, shuffled, [...test, ...val], vocab, rng);
  if (train.length === 0) throw new Error("no training sentences left");

  const speakers = drawSpeakers(config.seed, config.trainSpeakers, config.testSpeakers);
  const trainSpk = speakers.filter((s) => s.split === "train").map((s) => s.id);
  const testSpk = speakers.filter((s) => s.split === "test").map((s) => s.id);

  const utterances: PlannedUtterance[] = [];
  const assign = (split: Split, n: number, sents: string[], spks: string[]) => {
    const r = rng.fork(`assign-${split}`);
    const used = new Set<string>();
    let order: string[] = [];
    for (let i = 0; i < n; i++) {
      if (order.length === 0) order = r.shuffle([...sents]);
      const text = order.pop()!;
      let speaker = r.pick(spks);
      for (let k = 0; k < 10 && used.has(`${speaker}|${text}`); k++) speaker = r.pick(spks);
      used.add(`${speaker}|${text}`);
      const id = `${split}-${String(i).padStart(5, "0")}`;
      utterances.push({ id, split, speaker, text, seed: hashSeed(config.seed, config.preset, id) });
    }
  };
  assign("train", config.trainUtterances, train, trainSpk);
  assign("val", config.valUtterances, val, trainSpk);
  assign("test", config.testUtterances, test, testSpk);
  return { config, vocab: trainVocab, sentences: { train, val, test }, speakers, utterances, brown };
}

/**
 * The plan of a voice bank (CorpusConfig.voiceBank): the base corpus's training sentences (so its
 * vocabulary, held-out sentences and LM text are the base's), read by the speakers drawn after the
 * base's train and test speakers, each sentence by a bank speaker at most once where possible.
 */
function buildVoiceBankPlan(config: CorpusConfig, brown: BrownSentence[]): CorpusPlan {
  const { voiceBank, ...rest } = config;
  const bank = voiceBank!;
  if (!(Number.isInteger(bank.speakers) && bank.speakers > 0 && Number.isInteger(bank.utterances) && bank.utterances > 0)) {
    throw new Error(`corpus config ${config.preset}: voiceBank.speakers and voiceBank.utterances must be positive integers, got ${bank.speakers} and ${bank.utterances}`);
  }
  const base = buildPlan({ ...rest, preset: bank.base }, brown);
  const speakers = drawSpeakers(config.seed, config.trainSpeakers, config.testSpeakers, bank.speakers).slice(config.trainSpeakers + config.testSpeakers);
  const ids = speakers.map((s) => s.id);
  const r = new Rng(config.seed).fork("assign-bank");
  const utterances: PlannedUtterance[] = [];
  let order: string[] = [];
  for (let i = 0; i < bank.utterances; i++) {
    if (order.length === 0) order = r.shuffle([...base.sentences.train]);
    const id = `bank-${String(i).padStart(5, "0")}`;
    utterances.push({ id, split: "train", speaker: ids[i % ids.length]!, text: order.pop()!, seed: hashSeed(config.seed, config.preset, id) });
  }
  return { config, vocab: base.vocab, sentences: { train: base.sentences.train, val: base.sentences.val, test: base.sentences.test }, speakers, utterances, brown };
}

/**
 * The training sentences: what is left of the narrow pool after holding out, or, with a wider
 * `trainVocabSize`, every sentence of the wide pool that is not held out and does not contain a
 * held-out transcript (shuffled from its own stream, so val and test do not move).
 */
function trainSentences(config: CorpusConfig, brown: BrownSentence[], rest: string[], held: string[], vocab: string[], rng: Rng): { train: string[]; vocab: string[] } {
  const wide = config.trainVocabSize;
  if (wide === undefined || wide === config.vocabSize) return { train: rest, vocab };
  if (!(Number.isInteger(wide) && wide > config.vocabSize)) throw new Error(`corpus config: trainVocabSize must be an integer above vocabSize (${config.vocabSize}), got ${wide}`);
  const pool = buildSentencePool(brown, { vocabSize: wide, minWords: config.minWords, maxWords: config.maxWords });
  const leak = new LeakDetector(held);
  const train = pool.pool.filter((s) => leak.find(s) === undefined);
  return { train: rng.fork("train-sentences").shuffle(train), vocab: pool.vocab };
}
