/**
 * Tables for notebooks and results: aggregation with danfojs-node (mean, spread and count over seeds),
 * HTML and Markdown renderings, and display in tslab.
 *
 * danfojs-node is loaded on first use (it takes most of a second to import).
 */
import type { Row } from "./csv.js";
import { showHtml } from "../plot/display.js";

type Danfo = typeof import("danfojs-node");
let danfo: Promise<Danfo> | undefined;

export function loadDanfo(): Promise<Danfo> {
  danfo ??= import("danfojs-node");
  return danfo;
}

/** A danfojs DataFrame of the rows (for users who want the full data-frame API). */
export async function toDataFrame(rows: readonly Row[]) {
  const dfd = await loadDanfo();
  return new dfd.DataFrame(rows.map((r) => ({ ...r })));
}

export interface SummaryRow extends Row {
  n: number;
}

/**
 * Groups rows by `by` and gives, for each value column, `<col>_mean` and `<col>_std` (sample standard
 * deviation; empty when a group has one row, since one seed has no measured spread) and `n`.
 */
export async function summarise(rows: readonly Row[], by: readonly string[], values: readonly string[]): Promise<SummaryRow[]> {
  if (rows.length === 0) return [];
  const df = await toDataFrame(rows.map((r) => Object.fromEntries([...by, ...values].map((k) => [k, r[k] ?? null]))));
  const spec: Record<string, string[]> = {};
  for (const v of values) spec[v] = ["mean", "std", "count"];
  const grouped = df.groupby([...by]).agg(spec);
  const dfd = await loadDanfo();
  const out = dfd.toJSON(grouped) as Array<Record<string, number | string>>;
  return out.map((g) => {
    const row: SummaryRow = { n: 0 };
    for (const b of by) row[b] = g[b] ?? null;
    for (const v of values) {
      const n = Number(g[`${v}_count`]);
      row[`${v}_mean`] = Number(g[`${v}_mean`]);
      row[`${v}_std`] = n > 1 ? Number(g[`${v}_std`]) : null;
      row.n = Math.max(row.n, n);
    }
    return row;
  });
}

export interface FormatOptions {
  /** Digits after the point for numbers (default 2). */
  digits?: number;
  columns?: readonly string[];
  caption?: string;
}

function cell(v: Row[string], digits: number): string {
  if (v === null || v === undefined || v === "") return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  return String(v);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

export function tableToHtml(rows: readonly Row[], o: FormatOptions = {}): string {
  const cols = o.columns ? [...o.columns] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const d = o.digits ?? 2;
  const head = cols.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${cols.map((c) => `<td style="text-align:${typeof r[c] === "number" ? "right" : "left"}">${escapeHtml(cell(r[c], d))}</td>`).join("")}</tr>`)
    .join("\n");
  const caption = o.caption ? `<caption>${escapeHtml(o.caption)}</caption>` : "";
  return `<table>${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export function tableToMarkdown(rows: readonly Row[], o: FormatOptions = {}): string {
  const cols = o.columns ? [...o.columns] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const d = o.digits ?? 2;
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const lines = [
    `| ${cols.map(esc).join(" | ")} |`,
    `| ${cols.map((c) => (rows.some((r) => typeof r[c] === "number") ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((r) => `| ${cols.map((c) => esc(cell(r[c], d))).join(" | ")} |`),
  ];
  return lines.join("\n") + "\n";
}

/** Shows rows as an HTML table in a notebook, or as Markdown on the console. */
export function showTable(rows: readonly Row[], o: FormatOptions = {}): void {
  showHtml(tableToHtml(rows, o), tableToMarkdown(rows, o));
}
