/**
 * manifest.csv (papaparse): one row per utterance. Paths are relative to the corpus folder.
 * Reading validates every row (known split, numeric fields, normalised transcript) and throws an
 * error naming the row's id and the file; nothing is skipped silently.
 */
import { readFileSync } from "node:fs";
import Papa from "papaparse";
import { isNormalizedTranscript } from "./text.js";
import { InputError } from "../util/errors.js";

export const MANIFEST_COLUMNS = [
  "id",
  "split",
  "speaker",
  "text",
  "duration_s",
  "audio_path",
  "align_path",
  "num_samples",
  "video_frames",
  "n_words",
  "voice",
  "av_offset_ms",
] as const;
export type ManifestColumn = (typeof MANIFEST_COLUMNS)[number];
export type ManifestRow = Record<ManifestColumn, string>;

export class ManifestError extends InputError {
  constructor(path: string, reason: string) {
    super(`${path}: ${reason}`);
    this.name = "ManifestError";
  }
}

export function readManifest(path: string): ManifestRow[] {
  const parsed = Papa.parse<Record<string, string>>(readFileSync(path, "utf8"), { header: true, skipEmptyLines: true });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0]!;
    throw new ManifestError(path, `CSV error at row ${e.row ?? "?"}: ${e.message}`);
  }
  const fields = parsed.meta.fields ?? [];
  const missing = MANIFEST_COLUMNS.filter((c) => !fields.includes(c));
  if (missing.length > 0) throw new ManifestError(path, `missing columns ${missing.join(", ")}`);
  const seen = new Set<string>();
  return parsed.data.map((r, i) => {
    const id = r.id ?? "";
    if (!id) throw new ManifestError(path, `row ${i + 1} has no id`);
    if (seen.has(id)) throw new ManifestError(path, `duplicate id ${id}`);
    seen.add(id);
    if (!["train", "val", "test"].includes(r.split ?? "")) throw new ManifestError(path, `${id}: unknown split ${JSON.stringify(r.split)}`);
    if (!isNormalizedTranscript(r.text ?? "")) throw new ManifestError(path, `${id}: transcript is not normalised [a-z' ]: ${JSON.stringify(r.text)}`);
    for (const c of ["duration_s", "num_samples", "video_frames"] as const) {
      if (!Number.isFinite(Number(r[c]))) throw new ManifestError(path, `${id}: ${c} is not a number: ${JSON.stringify(r[c])}`);
    }
    return Object.fromEntries(MANIFEST_COLUMNS.map((c) => [c, r[c] ?? ""])) as ManifestRow;
  });
}
