/**
 * The paper's numbers (data/reference/*.csv, copied from the Omni-AVSR paper) as typed rows, for plots
 * and tables that show the paper beside our results. WER in %.
 */
import { join } from "node:path";
import { readCsv } from "../report/csv.js";
import { repoRoot } from "../util/paths.js";
import type { Task } from "../models/lora.js";

/** One cell of Table I: a method's WER for a task at a rate pair (audio rate, video rate). */
export interface PaperTable1Cell {
  dataset: "LRS2" | "LRS3";
  method: string;
  task: Task;
  audioRate?: number;
  videoRate?: number;
  wer: number;
}

export interface PaperNoisePoint {
  dataset: string;
  task: Task;
  method: string;
  audioRate: number;
  videoRate: number;
  snrDb: number;
  wer: number;
}

function referencePath(name: string): string {
  return join(repoRoot(), "data", "reference", name);
}

/** Table I columns: asr_4, asr_16, vsr_2, vsr_5, avsr_4_2, ... -> task and rates. */
export function parseRateColumn(column: string): { task: Task; audioRate?: number; videoRate?: number } | undefined {
  const m = /^(asr|vsr|avsr)_(\d+)(?:_(\d+))?$/.exec(column);
  if (!m) return undefined;
  const task = m[1] as Task;
  if (task === "asr") return { task, audioRate: Number(m[2]) };
  if (task === "vsr") return { task, videoRate: Number(m[2]) };
  if (m[3] === undefined) return undefined;
  return { task, audioRate: Number(m[2]), videoRate: Number(m[3]) };
}

export function paperTable1(): PaperTable1Cell[] {
  const rows = readCsv(referencePath("omni_avsr_table1.csv"), { required: ["dataset", "method"] });
  const cells: PaperTable1Cell[] = [];
  for (const r of rows) {
    for (const [col, v] of Object.entries(r)) {
      const parsed = parseRateColumn(col);
      if (!parsed || typeof v !== "number") continue;
      cells.push({ dataset: r.dataset as "LRS2" | "LRS3", method: String(r.method), ...parsed, wer: v });
    }
  }
  return cells;
}

export function paperNoise(): PaperNoisePoint[] {
  const rows = readCsv(referencePath("omni_avsr_noise.csv"), { required: ["dataset", "task", "method", "rates", "snr_db", "wer"] });
  return rows.map((r) => {
    const [a, v] = String(r.rates).split("-").map(Number);
    return {
      dataset: String(r.dataset),
      task: String(r.task).toLowerCase() as Task,
      method: String(r.method),
      audioRate: a!,
      videoRate: v!,
      snrDb: Number(r.snr_db),
      wer: Number(r.wer),
    };
  });
}

/** The λ ablation of the paper (LRS2): λ label -> WER per task/rate column. */
export function paperLambdaAblation(): Array<{ lambdas: [number, number, number]; cells: Array<{ task: Task; audioRate?: number; videoRate?: number; wer: number }> }> {
  const rows = readCsv(referencePath("omni_avsr_misc.csv"), { typed: false, required: ["table", "row", "column", "value"] });
  const names: Record<string, string> = { asr4: "asr_4", asr16: "asr_16", vsr2: "vsr_2", vsr5: "vsr_5", av42: "avsr_4_2", av165: "avsr_16_5" };
  return rows
    .filter((r) => r.table === "lambda_ablation_LRS2")
    .map((r) => {
      const lambdas = String(r.row).replace(/[()]/g, "").split(";").map(Number) as [number, number, number];
      const cols = String(r.column).split("/");
      const vals = String(r.value).split("/").map(Number);
      return { lambdas, cells: cols.map((c, i) => ({ ...parseRateColumn(names[c] ?? c)!, wer: vals[i]! })) };
    });
}

/** The LLM-scaling points read from the paper's figure (LRS3): model name -> WER by task/rate. */
export function paperLlmScaling(): Array<{ llm: string; task: Task; audioRate?: number; videoRate?: number; wer: number }> {
  const rows = readCsv(referencePath("omni_avsr_misc.csv"), { typed: false, required: ["table", "row", "column", "value"] });
  return rows
    .filter((r) => r.table === "llm_scaling_LRS3")
    .map((r) => ({ llm: String(r.row), ...parseRateColumn(String(r.column))!, wer: Number(r.value) }));
}
