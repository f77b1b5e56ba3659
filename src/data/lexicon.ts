/**
 * Pronunciations (espeak en-us, stress removed) and viseme strings of the corpus vocabulary, and the
 * homophene statistic: how many words cannot be told apart on the lips (same viseme string as another
 * word) compared with how many cannot be told apart by ear (same phonemes as another word).
 */
import { visemeKey } from "../video/visemes.js";
import type { EspeakSynth } from "./tts.js";

export interface LexiconEntry {
  phonemes: string[];
  visemes: string;
}
export type Lexicon = Record<string, LexiconEntry>;

export function buildLexicon(synth: EspeakSynth, words: readonly string[]): Lexicon {
  const out: Lexicon = {};
  for (const w of [...words].sort()) {
    const phonemes = synth.phonemize(w);
    out[w] = { phonemes, visemes: visemeKey(phonemes) };
  }
  return out;
}

export interface HomopheneStats {
  /** Word types evaluated (e.g. the test vocabulary). */
  words: number;
  /** Share of them whose viseme string equals that of another lexicon word. */
  homopheneShare: number;
  /** Share of them whose phoneme string equals that of another lexicon word (homophones). */
  homophoneShare: number;
  /** A few examples of homophene groups, for display. */
  examples: string[][];
}

export function homopheneStats(lex: Lexicon, words: readonly string[]): HomopheneStats {
  const byVis = new Map<string, string[]>();
  const byPhon = new Map<string, string[]>();
  for (const [w, e] of Object.entries(lex)) {
    const pk = e.phonemes.join(" ");
    (byVis.get(e.visemes) ?? byVis.set(e.visemes, []).get(e.visemes)!).push(w);
    (byPhon.get(pk) ?? byPhon.set(pk, []).get(pk)!).push(w);
  }
  const types = [...new Set(words)].filter((w) => lex[w]);
  let vis = 0;
  let phon = 0;
  const groups = new Map<string, string[]>();
  for (const w of types) {
    const e = lex[w]!;
    const g = byVis.get(e.visemes)!;
    if (g.length > 1) {
      vis++;
      groups.set(e.visemes, g);
    }
    if (byPhon.get(e.phonemes.join(" "))!.length > 1) phon++;
  }
  const examples = [...groups.values()]
    .sort((a, b) => b.length - a.length || (a[0]! < b[0]! ? -1 : 1))
    .slice(0, 12)
    .map((g) => g.slice(0, 8));
  return {
    words: types.length,
    homopheneShare: types.length ? vis / types.length : 0,
    homophoneShare: types.length ? phon / types.length : 0,
    examples,
  };
}
