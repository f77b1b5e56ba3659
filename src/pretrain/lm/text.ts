/**
 * The LM text of a corpus (its lm_text.txt), its sha256, and the leak check against every val/test
 * transcript.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { openCorpus } from "../../data/index.js";
import { LeakDetector } from "../../data/lm-text.js";

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface LmText {
  lines: string[];
  /** sha256 of the lines as used (joined by "\n", with a final "\n": the bytes of lm_text.txt). */
  sha256: string;
  /** Where the text came from. */
  source: string;
  /** Validation and test transcripts checked absent (whole-word containment). */
  heldOutChecked: number;
}

/**
 * Lines that contain a held-out transcript (as a whole-word substring): the leak check used on the
 * LM text (the corpus's LeakDetector). Empty means no leak.
 */
export function findLeaks(lines: readonly string[], heldOut: Iterable<string>): Array<{ line: number; transcript: string }> {
  const det = new LeakDetector(heldOut);
  const out: Array<{ line: number; transcript: string }> = [];
  lines.forEach((l, i) => {
    const h = det.find(l);
    if (h !== undefined) out.push({ line: i, transcript: h });
  });
  return out;
}

/** The LM text of a corpus preset (data/<corpus>/lm_text.txt), checked against its val/test transcripts. */
export async function readLmText(corpus: string, opts: { maxLines?: number; generateIfMissing?: boolean; dir?: string } = {}): Promise<LmText> {
  const ds = await openCorpus(corpus, { generateIfMissing: opts.generateIfMissing, dir: opts.dir });
  const all = ds.lmText();
  const lines = opts.maxLines ? all.slice(0, opts.maxLines) : all;
  const heldOut = [...ds.utterances("val"), ...ds.utterances("test")].map((u) => u.text);
  const leaks = findLeaks(lines, heldOut);
  if (leaks.length > 0) {
    throw new Error(`LM text of ${corpus} contains ${leaks.length} held-out transcripts, e.g. line ${leaks[0]!.line + 1}: ${JSON.stringify(leaks[0]!.transcript)}`);
  }
  return { lines, sha256: sha256(lines.join("\n") + "\n"), source: join(ds.dir, "lm_text.txt"), heldOutChecked: new Set(heldOut).size };
}
