/**
 * Text for language-model pretraining: every clean Brown sentence (normalised to [a-z'] words), in
 * corpus order, minus every sentence that is, or contains, a validation or test transcript. Sentences
 * with numbers or hyphenated words are skipped rather than altered, so each line is real text.
 */
import type { BrownSentence } from "./text.js";

/** Finds whole-word occurrences of any held-out transcript inside a line (indexed by first word). */
export class LeakDetector {
  private readonly byFirst = new Map<string, string[]>();
  constructor(held: Iterable<string>) {
    for (const h of new Set(held)) {
      const first = h.split(" ")[0]!;
      (this.byFirst.get(first) ?? this.byFirst.set(first, []).get(first)!).push(h);
    }
  }
  /** The first held-out transcript found in `line`, or undefined. */
  find(line: string): string | undefined {
    const padded = `${line} `;
    let pos = 0;
    while (pos < line.length) {
      const sp = line.indexOf(" ", pos);
      const word = line.slice(pos, sp < 0 ? line.length : sp);
      for (const h of this.byFirst.get(word) ?? []) if (padded.startsWith(`${h} `, pos)) return h;
      if (sp < 0) break;
      pos = sp + 1;
    }
    return undefined;
  }
}

export function buildLmText(brown: readonly BrownSentence[], heldOut: Iterable<string>): { lines: string[]; removed: number } {
  const detector = new LeakDetector(heldOut);
  const lines: string[] = [];
  let removed = 0;
  for (const s of brown) {
    if (!s.clean) continue;
    const line = s.words.join(" ");
    if (detector.find(line) !== undefined) {
      removed++;
      continue;
    }
    lines.push(line);
  }
  return { lines, removed };
}
