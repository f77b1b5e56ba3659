/**
 * Phonemes (espeak IPA, stress removed) to visemes: 16 classes of mouth shape. Several phonemes share a
 * class (p/b/m, f/v, t/d/n/l, k/g/ng, s/z...), so voicing, nasality and place behind the lips are
 * invisible: the video is informative about speech yet ambiguous where real lips are.
 *
 * espeak joins some segments into one symbol ("aɪɚ", "ɑːɹ", "iə"): `phonemeUnits` splits a symbol into
 * base units by longest match, and diphthongs become two visemes (start and end shape), each taking
 * its share of the duration.
 */

export const VISEMES = ["sil", "PBM", "FV", "TH", "TDNL", "SZ", "SH", "KG", "R", "W", "UW", "IY", "EH", "AA", "AO", "AH"] as const;
export type Viseme = (typeof VISEMES)[number];

/** Articulatory targets of one viseme; all in [0, 1]. */
export interface MouthTarget {
  /** Vertical lip opening. */
  open: number;
  /** Lip spreading: 0 rounded/protruded, 0.5 neutral, 1 spread. */
  spread: number;
  /** Upper-teeth visibility. */
  teeth: number;
  /** Tongue visibility (tip between or behind the teeth). */
  tongue: number;
  /** Lower lip tucked under the upper teeth (f, v). */
  tuck: number;
}

/**
 * Targets, and how strongly each viseme imposes its shape on its neighbours' (dominance, after
 * Cohen and Massaro): lip closures and labiodentals must be reached, so they dominate; sounds made
 * behind the lips (t, k, h) barely constrain the lips and take their shape from the vowels around.
 */
export const VISEME_TARGETS: Record<Viseme, MouthTarget & { dominance: number }> = {
  sil: { open: 0.03, spread: 0.45, teeth: 0, tongue: 0, tuck: 0, dominance: 0.6 },
  PBM: { open: 0.0, spread: 0.45, teeth: 0, tongue: 0, tuck: 0, dominance: 6 },
  FV: { open: 0.1, spread: 0.55, teeth: 0.9, tongue: 0, tuck: 1, dominance: 4 },
  TH: { open: 0.28, spread: 0.55, teeth: 0.7, tongue: 1, tuck: 0, dominance: 2 },
  TDNL: { open: 0.25, spread: 0.55, teeth: 0.55, tongue: 0.35, tuck: 0, dominance: 0.5 },
  SZ: { open: 0.14, spread: 0.72, teeth: 0.95, tongue: 0, tuck: 0, dominance: 1.5 },
  SH: { open: 0.2, spread: 0.2, teeth: 0.8, tongue: 0, tuck: 0, dominance: 1.5 },
  KG: { open: 0.3, spread: 0.5, teeth: 0.3, tongue: 0.15, tuck: 0, dominance: 0.3 },
  R: { open: 0.25, spread: 0.25, teeth: 0.3, tongue: 0, tuck: 0, dominance: 1 },
  W: { open: 0.12, spread: 0.0, teeth: 0, tongue: 0, tuck: 0, dominance: 3 },
  UW: { open: 0.25, spread: 0.1, teeth: 0.1, tongue: 0, tuck: 0, dominance: 1.2 },
  IY: { open: 0.25, spread: 0.95, teeth: 0.8, tongue: 0.1, tuck: 0, dominance: 1.2 },
  EH: { open: 0.5, spread: 0.75, teeth: 0.6, tongue: 0.2, tuck: 0, dominance: 1 },
  AA: { open: 0.9, spread: 0.55, teeth: 0.4, tongue: 0.3, tuck: 0, dominance: 1 },
  AO: { open: 0.6, spread: 0.2, teeth: 0.2, tongue: 0.2, tuck: 0, dominance: 1 },
  AH: { open: 0.45, spread: 0.5, teeth: 0.35, tongue: 0.25, tuck: 0, dominance: 0.8 },
};

/** Base phoneme units to visemes. Diphthongs map to two. */
const UNIT_VISEMES: Record<string, Viseme[]> = {
  "": ["sil"],
  p: ["PBM"], b: ["PBM"], m: ["PBM"],
  f: ["FV"], v: ["FV"],
  θ: ["TH"], ð: ["TH"],
  t: ["TDNL"], d: ["TDNL"], n: ["TDNL"], l: ["TDNL"], ɾ: ["TDNL"], "n̩": ["TDNL"], "l̩": ["TDNL"], ɫ: ["TDNL"],
  s: ["SZ"], z: ["SZ"],
  ʃ: ["SH"], ʒ: ["SH"], tʃ: ["SH"], dʒ: ["SH"],
  k: ["KG"], ɡ: ["KG"], g: ["KG"], ŋ: ["KG"], h: ["KG"], ʔ: ["KG"], x: ["KG"], j: ["IY"], ʲ: ["IY"],
  ɹ: ["R"], r: ["R"], ɚ: ["R"], ɝ: ["R"], ɜː: ["R"], ɜ: ["R"],
  w: ["W"], ʍ: ["W"],
  uː: ["UW"], u: ["UW"], ʊ: ["UW"], ʉ: ["UW"], "ʉː": ["UW"],
  iː: ["IY"], i: ["IY"], ɪ: ["IY"], ᵻ: ["IY"], ɨ: ["IY"], e: ["EH"],
  ɛ: ["EH"], æ: ["EH"], eː: ["EH"],
  ɑː: ["AA"], ɑ: ["AA"], a: ["AA"], aː: ["AA"], ɐ: ["AH"],
  ɔː: ["AO"], ɔ: ["AO"], ɒ: ["AO"], o: ["AO"], oː: ["AO"],
  ʌ: ["AH"], ə: ["AH"], əl: ["AH", "TDNL"],
  aɪ: ["AA", "IY"], aʊ: ["AA", "UW"], eɪ: ["EH", "IY"], oʊ: ["AO", "UW"], əʊ: ["AH", "UW"], ɔɪ: ["AO", "IY"],
  iə: ["IY", "AH"], eə: ["EH", "AH"], ʊə: ["UW", "AH"],
};

const UNITS = Object.keys(UNIT_VISEMES)
  .filter((u) => u.length > 0)
  .sort((a, b) => b.length - a.length);

/** Splits an espeak symbol ("aɪɚ") into known units (["aɪ", "ɚ"]); unknown characters are returned as-is. */
export function phonemeUnits(symbol: string): string[] {
  const s = symbol.replace(/[ˈˌ]/g, "");
  if (s === "") return [""];
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const u = UNITS.find((c) => s.startsWith(c, i));
    if (u) {
      out.push(u);
      i += u.length;
    } else {
      // length marks, modifier letters and combining diacritics (ː ʰ ʲ, dental ̪) attached to the
      // previous unit carry no extra visual information
      if (/[\p{Lm}\p{Mn}:]/u.test(s[i]!) && out.length > 0) {
        i++;
        continue;
      }
      out.push(s[i]!);
      i++;
    }
  }
  return out;
}

/** Visemes of one phoneme symbol; `unknown` collects symbols without a mapping (they map to "AH"). */
export function phonemeToVisemes(symbol: string, unknown?: Set<string>): Viseme[] {
  const out: Viseme[] = [];
  for (const u of phonemeUnits(symbol)) {
    const v = UNIT_VISEMES[u];
    if (v) out.push(...v);
    else {
      unknown?.add(u);
      out.push("AH");
    }
  }
  return out;
}

export interface TimedViseme {
  viseme: Viseme;
  start: number;
  end: number;
}

/** Viseme timeline of a timed phoneme sequence: each phoneme's span is split evenly among its visemes. */
export function visemeTimeline(phonemes: ReadonlyArray<{ symbol: string; start: number; end: number }>, unknown?: Set<string>): TimedViseme[] {
  const out: TimedViseme[] = [];
  for (const p of phonemes) {
    const vs = phonemeToVisemes(p.symbol, unknown);
    const step = (p.end - p.start) / vs.length;
    vs.forEach((v, k) => out.push({ viseme: v, start: p.start + k * step, end: p.start + (k + 1) * step }));
  }
  return out;
}

/** Viseme string of a pronunciation (for homophene statistics): one viseme per phoneme unit. */
export function visemeKey(phonemes: readonly string[]): string {
  return phonemes.flatMap((p) => phonemeToVisemes(p)).join(" ");
}
