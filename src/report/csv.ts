/**
 * CSV in and out through papaparse: header row, typed values, atomic writes, and errors that name
 * the file and the row.
 */
import { readFileSync, existsSync } from "node:fs";
import Papa from "papaparse";
import { writeFileAtomic, writeFileAtomicSync } from "../util/atomic.js";
import { InputError } from "../util/errors.js";

export type Row = Record<string, string | number | boolean | null>;

export class CsvError extends InputError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = "CsvError";
  }
}

export function toCsv(rows: readonly Row[], columns?: readonly string[]): string {
  const fields = columns ? [...columns] : columnsOf(rows);
  const text = Papa.unparse({ fields, data: rows.map((r) => fields.map((f) => r[f] ?? "")) }, { newline: "\n" });
  // papaparse ends the header with a newline when there are no rows, and the last row without one
  return rows.length === 0 ? text : text + "\n";
}

/** Column names in first-seen order over all rows. */
export function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

export async function writeCsv(path: string, rows: readonly Row[], columns?: readonly string[]): Promise<void> {
  await writeFileAtomic(path, toCsv(rows, columns));
}

export function writeCsvSync(path: string, rows: readonly Row[], columns?: readonly string[]): void {
  writeFileAtomicSync(path, toCsv(rows, columns));
}

export interface ReadCsvOptions {
  /** Columns that must be present; a missing one is an error naming the file. */
  required?: readonly string[];
  /** Convert numeric-looking cells to numbers (default true). */
  typed?: boolean;
}

export function parseCsv(text: string, file = "<csv>", o: ReadCsvOptions = {}): Row[] {
  const res = Papa.parse<Row>(text, { header: true, dynamicTyping: o.typed ?? true, skipEmptyLines: true });
  if (res.errors.length > 0) {
    const e = res.errors[0]!;
    const where = e.row !== undefined ? `data row ${e.row + 1}` : "header";
    throw new CsvError(file, `${where}: ${e.message} (${res.errors.length} problem${res.errors.length > 1 ? "s" : ""} in all)`);
  }
  const fields = res.meta.fields ?? [];
  for (const col of o.required ?? []) {
    if (!fields.includes(col)) throw new CsvError(file, `missing column "${col}" (has: ${fields.join(", ") || "none"})`);
  }
  return res.data;
}

export function readCsv(path: string, o: ReadCsvOptions = {}): Row[] {
  if (!existsSync(path)) throw new CsvError(path, "file not found");
  return parseCsv(readFileSync(path, "utf8"), path, o);
}

/**
 * Keeps the header and the rows whose `step` is at most `step`, each cell's text as it was (a resumed
 * run drops the log rows its checkpoint does not cover, and the rows it keeps stay byte for byte).
 * A missing file is left missing.
 */
export function truncateCsvAtStep(path: string, step: number): void {
  if (!existsSync(path)) return;
  const text = readFileSync(path, "utf8");
  const rows = parseCsv(text, path, { typed: false, required: ["step"] });
  const header = Papa.parse<string[]>(text, { preview: 1 }).data[0]!;
  writeCsvSync(path, rows.filter((r) => Number(r.step) <= step), header);
}
