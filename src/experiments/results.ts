/**
 * Aggregation of the reproduction's runs into tables (CSV, with mean and spread over seeds through
 * danfojs-node) and figures (src/plot), ours beside the paper's, plus the checks of the findings the
 * issue asks about. Used by `npm run reproduce` and by the notebooks (the same functions, so a notebook
 * shows exactly what the reproduction wrote).
 *
 *   cellRows(experiment, size)          one row per (run, cell) with a result: method, task, rates, SNR, seed, WER...
 *   table1Report(size) / rateCurveReport / noiseReport / llmScalingReport / lambdaReport / leversReport
 *       -> { name, tables: {name: rows}, figures: {name: Figure}, notes }
 *   writeReport(report)                 results/<name>/<table>.csv and <figure>.png/.html
 *   findings(reports)                   the issue's findings, each with holds/does not hold and the numbers
 *
 * WER is in % (corpus level over the evaluated test utterances).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Method } from "../train/methods.js";
import { resolveRunConfig } from "../pipeline/config.js";
import { readCsv, writeCsv, type Row } from "../report/csv.js";
import { showTable, summarise } from "../report/table.js";
import { showFigure } from "../plot/index.js";
import { barChart, lineChart, type Figure, type Series } from "../plot/figure.js";
import { saveFigure } from "../plot/save.js";
import { repoRoot, resultsDir } from "../util/paths.js";
import { paperLambdaAblation, paperLlmScaling, paperNoise, paperTable1 } from "./reference.js";
import { cellColumn, cellKey, evalJsonPath, experimentRuns, LEVER_VARIANTS, leverSnr, METHOD_LABELS, runsRoot, table1Cells, TABLE1_METHODS, type EvalCell, type Experiment, type ReportedExperiment, type ReproSize } from "./plan.js";

export interface CellRow extends Row {
  method: string;
  label: string;
  task: string;
  column: string;
  audio_rate: number;
  video_rate: number;
  snr: string;
  seed: number;
  lm: string;
  lambdas: string;
  wer: number;
  cer: number;
  utterances: number;
  run: string;
}

interface RunSummaryLite {
  trainSeconds: number;
  trainableParams: number;
  llmParams: number;
  passesPerStep: string;
  modelsForAllRates: number;
  secondsPerStep: number;
  tokensPerSecond: number;
  finalLoss: number;
}

function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : undefined;
}

export function runSummary(runId: string): RunSummaryLite | undefined {
  return readJson<RunSummaryLite>(join(runsRoot(), runId, "summary.json"));
}

/** Rows of every (run, cell) of an experiment that has a result. */
export function cellRows(e: Experiment, size: ReproSize): CellRow[] {
  const rows: CellRow[] = [];
  const seen = new Set<string>();
  for (const r of experimentRuns(e, size)) {
    const cfg = resolveRunConfig(r.train);
    const dir = join(runsRoot(), cfg.runId);
    for (const c of r.cells) {
      const key = `${cfg.runId}|${cellKey(c)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const j = readJson<{ wer: number; cer: number; utterances: number }>(evalJsonPath(dir, c, size.beam));
      if (!j) continue;
      rows.push({
        method: cfg.method,
        label: METHOD_LABELS[cfg.method],
        task: c.task,
        column: cellColumn(c),
        audio_rate: c.task === "vsr" ? 0 : c.audio,
        video_rate: c.task === "asr" ? 0 : c.video,
        snr: c.snr === null ? "clean" : String(c.snr),
        seed: cfg.seed,
        lm: cfg.lm,
        lambdas: cfg.lambdas.join(","),
        wer: 100 * j.wer,
        cer: 100 * j.cer,
        utterances: j.utterances,
        run: cfg.runId,
        // λ of joint CTC/attention decoding, only where used (the paper experiments' CSVs keep their columns)
        ...(c.ctcDecode ? { ctc_decode: c.ctcDecode } : {}),
        ...(c.lexDecode ? { lex_decode: c.lexDecode } : {}),
        ...(c.lexProposals ? { lex_proposals: c.lexProposals } : {}),
        ...(c.lengthPenalty !== undefined ? { length_penalty: c.lengthPenalty } : {}),
      });
    }
  }
  return rows;
}

/** Expected and present cell results of an experiment (for progress and for honest partial tables). */
export function coverage(e: Experiment, size: ReproSize): { expected: number; present: number } {
  let expected = 0;
  let present = 0;
  const seen = new Set<string>();
  for (const r of experimentRuns(e, size)) {
    const id = resolveRunConfig(r.train).runId;
    const dir = join(runsRoot(), id);
    for (const c of r.cells) {
      if (seen.has(`${id}|${cellKey(c)}`)) continue;
      seen.add(`${id}|${cellKey(c)}`);
      expected++;
      if (existsSync(evalJsonPath(dir, c, size.beam))) present++;
    }
  }
  return { expected, present };
}

export interface Report {
  name: string;
  title: string;
  tables: Record<string, Row[]>;
  figures: Record<string, Figure>;
  notes: string[];
  coverage: { expected: number; present: number };
}

/** Puts the dashed (paper) series on a right-hand axis, so the paper's trend reads beside ours at its own scale. */
function paperOnRightAxis(fig: Figure): Figure {
  const data = fig.data.map((t) => ((t.line as { dash?: string } | undefined)?.dash === "dash" ? { ...t, yaxis: "y2" } : t));
  return { data, layout: { ...fig.layout, yaxis: { ...(fig.layout?.yaxis as object), rangemode: "tozero" }, yaxis2: { title: { text: "paper WER (%), dashed" }, overlaying: "y", side: "right", rangemode: "tozero" }, legend: { orientation: "h", y: -0.25 }, height: 560 } };
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

/** Mean over runs of the same (method, seed, column, snr, ...) then mean/std over seeds (danfojs). */
async function overSeeds(rows: readonly CellRow[], by: readonly string[]): Promise<Row[]> {
  const perSeed = new Map<string, { key: Row; wers: number[] }>();
  for (const r of rows) {
    const k = [...by, "seed"].map((b) => String(r[b])).join("|");
    let e = perSeed.get(k);
    if (!e) perSeed.set(k, (e = { key: Object.fromEntries([...by, "seed"].map((b) => [b, r[b]!])), wers: [] }));
    e.wers.push(r.wer);
  }
  const seedRows = [...perSeed.values()].map((e) => ({ ...e.key, wer: mean(e.wers) }));
  const s = await summarise(seedRows, by, ["wer"]);
  return s.map((r) => ({ ...r, wer_mean: round(Number(r.wer_mean)), wer_std: r.wer_std === null ? null : round(Number(r.wer_std)) }));
}

/** Sets row[column] to the mean WER over seeds of each cell, and row.avg when every cell is there. */
function fillCells(row: Row, cols: readonly string[], find: (column: string) => Row | undefined): void {
  const vals: number[] = [];
  for (const c of cols) {
    const x = find(c);
    row[c] = (x?.wer_mean as number | undefined) ?? null;
    if (x) vals.push(Number(x.wer_mean));
  }
  row.avg = vals.length === cols.length ? round(mean(vals)) : null;
}

function paperCell(dataset: "LRS3" | "LRS2", method: string, column: string): number | null {
  const c = paperTable1().find((p) => p.dataset === dataset && p.method === method && cellColumn({ task: p.task, audio: p.audioRate ?? 0, video: p.videoRate ?? 0 }) === column);
  return c?.wer ?? null;
}

export async function table1Report(size: ReproSize): Promise<Report> {
  const rows = cellRows("table1", size);
  const cols = table1Cells(size).map(cellColumn);
  const s = await overSeeds(rows, ["method", "column"]);
  // average over the 8 cells, per seed, then over seeds
  const perSeedAvg: Row[] = [];
  for (const m of TABLE1_METHODS) {
    const seeds = [...new Set(rows.filter((r) => r.method === m).map((r) => r.seed))];
    for (const seed of seeds) {
      const vals = cols.map((c) => mean(rows.filter((r) => r.method === m && r.seed === seed && r.column === c).map((r) => r.wer)));
      if (vals.every(Number.isFinite)) perSeedAvg.push({ method: m, seed, avg: mean(vals) });
    }
  }
  const avg = await summarise(perSeedAvg, ["method"], ["avg"]);
  const table: Row[] = [];
  const paper: Row[] = [];
  for (const m of TABLE1_METHODS) {
    const runs = experimentRuns("table1", size).filter((r) => r.train.method === m);
    const seeds = [...new Set(runs.map((r) => r.train.seed ?? 0))];
    const firstSeed = runs.filter((r) => (r.train.seed ?? 0) === seeds[0]);
    const summaries = firstSeed.map((r) => runSummary(resolveRunConfig(r.train).runId));
    const timePerSeed = seeds.map((sd) => runs.filter((r) => (r.train.seed ?? 0) === sd).map((r) => runSummary(resolveRunConfig(r.train).runId)?.trainSeconds ?? NaN).reduce((a, b) => a + b, 0));
    const row: Row = { method: METHOD_LABELS[m] };
    for (const c of cols) {
      const x = s.find((r) => r.method === m && r.column === c);
      row[c] = x ? (x.wer_mean as number) : null;
      row[`${c}_std`] = x ? (x.wer_std as number | null) : null;
    }
    const a = avg.find((r) => r.method === m);
    row.avg = a ? round(Number(a.avg_mean)) : null;
    row.avg_std = a && a.avg_std !== null ? round(Number(a.avg_std)) : null;
    // seeds with results so far (the plan may name more: runs still to come)
    row.seeds = new Set(rows.filter((r) => r.method === m).map((r) => r.seed)).size;
    row.trained_models = firstSeed.length;
    row.llm_passes_per_step = summaries.find((x) => x)?.passesPerStep ?? null;
    row.trainable_params = summaries.every((x) => x) ? summaries.reduce((n, x) => n + x!.trainableParams, 0) : null;
    row.train_minutes = timePerSeed.every(Number.isFinite) ? round(mean(timePerSeed) / 60) : null;
    table.push(row);
    const p: Row = { method: METHOD_LABELS[m] };
    for (const c of [...cols, "avg"]) p[c] = c === "avg" ? (paperTable1().length ? round(mean(cols.map((cc) => paperCell("LRS3", METHOD_LABELS[m], cc) ?? NaN))) : null) : paperCell("LRS3", METHOD_LABELS[m], c);
    paper.push(p);
  }
  const series = TABLE1_METHODS.map((m) => {
    const r = table.find((t) => t.method === METHOD_LABELS[m])!;
    return { name: METHOD_LABELS[m], x: [...cols, "avg"], y: [...cols, "avg"].map((c) => r[c] as number | null), error: [...cols, "avg"].map((c) => (r[`${c}_std`] as number | null) ?? null) };
  });
  const fig = barChart(series, { title: `Table I (ours, ${size.name} corpus): WER by task and rate`, xTitle: "task_audio-rate_video-rate", yTitle: "WER (%)", width: 1000 });
  const paperFig = barChart(
    paper.map((p) => ({ name: String(p.method), x: [...cols, "avg"], y: [...cols, "avg"].map((c) => p[c] as number | null) })),
    { title: "Table I (paper, LRS3): WER by task and rate", xTitle: "task_audio-rate_video-rate", yTitle: "WER (%)", width: 1000 },
  );
  return {
    name: "table1",
    title: "Table I",
    tables: { table1: table, table1_paper_lrs3: paper, table1_cells: rows },
    figures: { table1: fig, table1_paper: paperFig },
    notes: [
      `WER (%) on the first ${size.evalLimit} test utterances (unseen speakers), beam ${size.beam}; mean over seeds (Omni-AVSR rows: seeds ${size.omniSeeds.join(", ")}; baselines: seed ${size.baselineSeeds.join(", ")}), _std = sample standard deviation over seeds.`,
      "Llama-MT: ASR(a) and VSR(v) are the mean of the two rate-pair models that contain that rate.",
      "trained_models, trainable_params (summed over those models) and train_minutes (summed, one core each) are per seed.",
    ],
    coverage: coverage("table1", size),
  };
}

/** WER against compression rate per task: the unified model (Omni-AVSR-ST) against the separate models (Llama-AVSR). */
export async function rateCurveReport(size: ReproSize): Promise<Report> {
  const rows = cellRows("rate_curve", size).filter((r) => r.method === "omni-st" || r.method === "llama-avsr");
  const s = await overSeeds(rows, ["method", "column"]);
  const cols = table1Cells(size).map(cellColumn);
  const table: Row[] = cols.map((c) => {
    const o = s.find((r) => r.method === "omni-st" && r.column === c);
    const l = s.find((r) => r.method === "llama-avsr" && r.column === c);
    return {
      cell: c,
      omni_st: o?.wer_mean ?? null,
      omni_st_std: o?.wer_std ?? null,
      llama_avsr: l?.wer_mean ?? null,
      paper_omni_st: paperCell("LRS3", "Omni-AVSR-ST", c),
      paper_llama_avsr: paperCell("LRS3", "Llama-AVSR", c),
    };
  });
  const figures: Record<string, Figure> = {};
  for (const task of ["asr", "vsr", "avsr"]) {
    const tr = table.filter((r) => String(r.cell).startsWith(`${task}_`));
    const x = tr.map((r) => String(r.cell).slice(task.length + 1).replace("_", "-"));
    const series: Series[] = [
      { name: "Omni-AVSR-ST (ours, one model)", x, y: tr.map((r) => r.omni_st as number | null), error: tr.map((r) => r.omni_st_std as number | null) },
      { name: "Llama-AVSR (ours, one model per rate)", x, y: tr.map((r) => r.llama_avsr as number | null) },
      { name: "Omni-AVSR-ST (paper, LRS3)", x, y: tr.map((r) => r.paper_omni_st as number | null), dash: true },
      { name: "Llama-AVSR (paper, LRS3)", x, y: tr.map((r) => r.paper_llama_avsr as number | null), dash: true },
    ];
    figures[`rate_curve_${task}`] = paperOnRightAxis(lineChart(series, { title: `${task.toUpperCase()}: WER against compression rate`, xTitle: task === "avsr" ? "audio-video rate" : task === "asr" ? "audio rate" : "video rate", yTitle: "WER (%), ours", xCategories: x }));
  }
  return {
    name: "rate_curve",
    title: "WER against compression rate",
    tables: { rate_curve: table },
    figures,
    notes: ["Elastic inference: one Omni-AVSR-ST model decodes every rate; Llama-AVSR is one model per task and rate. Dashed: the paper (LRS3)."],
    coverage: coverage("rate_curve", size),
  };
}

export async function noiseReport(size: ReproSize): Promise<Report> {
  const rows = cellRows("noise", size);
  const s = await overSeeds(rows, ["method", "task", "audio_rate", "video_rate", "snr"]);
  const snrs = ["clean", ...size.snrs.map(String)];
  const table: Row[] = [];
  const series: Series[] = [];
  const pairs = [...new Set(rows.map((r) => `${r.task}|${r.audio_rate}|${r.video_rate}`))];
  for (const m of ["omni-st", "llama-avsr"] as Method[]) {
    for (const p of pairs) {
      const [task, a, v] = p.split("|");
      const pts = snrs.map((snr) => s.find((r) => r.method === m && r.task === task && String(r.audio_rate) === a && String(r.video_rate) === v && String(r.snr) === snr));
      if (pts.every((x) => !x)) continue;
      const rates = task === "asr" ? `${a}` : `${a}-${v}`;
      const row: Row = { method: METHOD_LABELS[m], task: task!.toUpperCase(), rates };
      snrs.forEach((snr, i) => {
        row[snr === "clean" ? "clean" : `${snr}dB`] = (pts[i]?.wer_mean as number | undefined) ?? null;
        row[snr === "clean" ? "clean_std" : `${snr}dB_std`] = (pts[i]?.wer_std as number | null | undefined) ?? null;
      });
      table.push(row);
      series.push({
        name: `${METHOD_LABELS[m]} ${task!.toUpperCase()} (${rates})`,
        x: snrs,
        y: pts.map((x) => (x?.wer_mean as number | undefined) ?? null),
        error: pts.map((x) => (x?.wer_std as number | null | undefined) ?? null),
        mode: "lines+markers",
      });
    }
  }
  const paper: Row[] = [];
  for (const [a, v] of [
    [4, 2],
    [16, 5],
  ]) {
    for (const method of ["Omni-AVSR-ST", "Llama-AVSR"]) {
      const pts = paperNoise().filter((p) => p.method === method && p.audioRate === a && p.videoRate === v);
      if (pts.length === 0) continue;
      const clean = paperCell("LRS3", method, `avsr_${a}_${v}`);
      const row: Row = { method: `${method} (paper, LRS3)`, task: "AVSR", rates: `${a}-${v}`, clean };
      for (const snr of size.snrs) row[`${snr}dB`] = pts.find((p) => p.snrDb === snr)?.wer ?? null;
      paper.push(row);
      if (method === "Omni-AVSR-ST") series.push({ name: `${method} AVSR (${a}-${v}) (paper)`, x: snrs, y: snrs.map((sn) => (sn === "clean" ? clean : (pts.find((p) => String(p.snrDb) === sn)?.wer ?? null))), dash: true });
    }
  }
  const fig = paperOnRightAxis(lineChart(series, { title: "WER against babble SNR (video clean)", xTitle: "SNR (dB)", yTitle: "WER (%), ours", xCategories: snrs, width: 1000 }));
  return {
    name: "noise",
    title: "Noise sweep",
    tables: { noise: table, noise_paper_lrs3: paper, noise_cells: rows },
    figures: { noise: fig },
    notes: [
      `Babble (4-8 other test speakers) mixed into the test audio at an exact SNR; video clean. Omni-AVSR-ST: mean over seeds ${size.omniSeeds.join(", ")}; Llama-AVSR: one model per task and rate pair, seed ${size.baselineSeeds[0]}.`,
      "The paper reports AVSR only under noise (no ASR curve).",
    ],
    coverage: coverage("noise", size),
  };
}

function lmMetrics(preset: string, lm: string): { params?: number; perplexity?: number; wordPerplexity?: number } {
  const j = readJson<{ params?: number; val?: { perplexity?: number; wordPerplexity?: number } }>(join(repoRoot(), "checkpoints", "lm", preset, lm, "metrics.json"));
  return { params: j?.params, perplexity: j?.val?.perplexity, wordPerplexity: j?.val?.wordPerplexity };
}

export async function llmScalingReport(size: ReproSize): Promise<Report> {
  const rows = cellRows("llm_scaling", size);
  const s = await overSeeds(rows, ["lm", "column"]);
  const cols = table1Cells(size).map(cellColumn);
  const table: Row[] = size.lmSizes.map((lm) => {
    const run = experimentRuns("llm_scaling", size).find((r) => r.train.lm === lm)!;
    const sum = runSummary(resolveRunConfig(run.train).runId);
    const m = lmMetrics(size.preset, lm);
    // the frozen LM's own parameters (a run's llmParams also counts the LoRA adapters injected into it)
    const row: Row = { lm, lm_params: m.params ?? null, lm_val_perplexity: m.perplexity !== undefined ? round(m.perplexity) : null };
    fillCells(row, cols, (c) => s.find((r) => r.lm === lm && r.column === c));
    row.trainable_params = sum?.trainableParams ?? null;
    row.train_minutes = sum ? round(sum.trainSeconds / 60) : null;
    row.train_tokens_per_s = sum ? Math.round(sum.tokensPerSecond) : null;
    const evalS = rows.filter((r) => r.lm === lm).map((r) => readJson<{ seconds: number; utterances: number }>(evalJsonPath(join(runsRoot(), r.run), cellOf(r), size.beam)));
    const ok = evalS.filter((e): e is { seconds: number; utterances: number } => !!e);
    row.eval_ms_per_utt = ok.length ? Math.round((1000 * ok.reduce((a, e) => a + e.seconds, 0)) / ok.reduce((a, e) => a + e.utterances, 0)) : null;
    return row;
  });
  const x = table.map((r) => `${r.lm} (${r.lm_params ? (Number(r.lm_params) / 1e6).toFixed(2) + "M" : "?"})`);
  const pick = ["asr_4", "vsr_2", "avsr_4_2", "avg"].filter((c) => c === "avg" || cols.includes(c));
  const series: Series[] = pick.map((c) => ({ name: `${c} (ours)`, x, y: table.map((r) => r[c] as number | null) }));
  const paper = paperLlmScaling();
  const paperRows: Row[] = [...new Set(paper.map((p) => p.llm))].map((llm) => {
    const r: Row = { llm };
    for (const p of paper.filter((q) => q.llm === llm)) r[cellColumn({ task: p.task, audio: p.audioRate ?? 0, video: p.videoRate ?? 0 })] = p.wer;
    return r;
  });
  const fig = lineChart(series, { title: "Omni-AVSR-ST: WER against LM size", xTitle: "LM (parameters)", yTitle: "WER (%)", xCategories: x });
  const cost = barChart([{ name: "train minutes (one core)", x, y: table.map((r) => r.train_minutes as number | null) }, { name: "eval ms per utterance", x, y: table.map((r) => (r.eval_ms_per_utt === null ? null : Number(r.eval_ms_per_utt) / 1000)) }], {
    title: "Cost against LM size (eval in s/utt)",
    xTitle: "LM",
    yTitle: "minutes | seconds",
  });
  return {
    name: "llm_scaling",
    title: "LLM scaling",
    tables: { llm_scaling: table, llm_scaling_paper: paperRows },
    figures: { llm_scaling: fig, llm_scaling_cost: cost },
    notes: [`Omni-AVSR-ST, seed ${size.ablationSeeds.join(", ")}, the same steps and data for each LM; LM perplexity from checkpoints/lm/${size.preset}/<size>/metrics.json (validation text).`],
    coverage: coverage("llm_scaling", size),
  };
}

function cellOf(r: CellRow): EvalCell {
  return { task: r.task as EvalCell["task"], audio: r.audio_rate, video: r.video_rate, snr: r.snr === "clean" ? null : Number(r.snr) };
}

export async function lambdaReport(size: ReproSize): Promise<Report> {
  const rows = cellRows("lambda", size);
  const s = await overSeeds(rows, ["lambdas", "column"]);
  const cols = table1Cells(size).map(cellColumn);
  const lams = [...new Set(experimentRuns("lambda", size).map((r) => (r.train.lambdas ?? [1, 1.5, 1]).join(",")))];
  const table: Row[] = lams.map((l) => {
    const row: Row = { lambdas: `(${l})` };
    fillCells(row, cols, (c) => s.find((r) => r.lambdas === l && r.column === c));
    return row;
  });
  const paper: Row[] = paperLambdaAblation().map((p) => {
    const r: Row = { lambdas: `(${p.lambdas.join(",")})` };
    for (const c of p.cells) r[cellColumn({ task: c.task, audio: c.audioRate ?? 0, video: c.videoRate ?? 0 })] = c.wer;
    return r;
  });
  const fig = barChart(
    table.map((r) => ({ name: `λ=${r.lambdas} (ours)`, x: [...cols, "avg"], y: [...cols, "avg"].map((c) => r[c] as number | null) })),
    { title: "λ ablation (Omni-AVSR-ST): WER by task and rate", xTitle: "cell", yTitle: "WER (%)", width: 1000 },
  );
  const paperFig = barChart(
    paper.map((r) => ({ name: `λ=${r.lambdas} (paper, LRS2)`, x: Object.keys(r).filter((k) => k !== "lambdas"), y: Object.keys(r).filter((k) => k !== "lambdas").map((k) => r[k] as number | null) })),
    { title: "λ ablation (paper, LRS2)", xTitle: "cell", yTitle: "WER (%)" },
  );
  return {
    name: "lambda",
    title: "λ ablation",
    tables: { lambda: table, lambda_paper_lrs2: paper },
    figures: { lambda: fig, lambda_paper: paperFig },
    notes: ["λ = (λ_ASR, λ_VSR, λ_AVSR) weights the three task losses of each step; (1,1.5,1) is the paper's default. Paper: LRS2."],
    coverage: coverage("lambda", size),
  };
}

/** Issue 5's levers (not the paper's): the LLM's audio input and an auxiliary CTC loss; a row per model. */
export async function leversReport(size: ReproSize): Promise<Report> {
  const rows = cellRows("levers", size);
  const runs = experimentRuns("levers", size);
  const t1 = table1Cells(size).map(cellColumn);
  const labelOf = (p: { audioInput?: string; ctcWeight?: number; splice?: number }) =>
    LEVER_VARIANTS.find(
      (v) => (v.params.audioInput ?? "") === (p.audioInput ?? "") && (v.params.ctcWeight ?? 0) === (p.ctcWeight ?? 0) && (v.params.splice ?? 0) === (p.splice ?? 0),
    )?.label ?? "?";
  // a row per (model, decoding): attention only, joint CTC/attention where the run has a CTC head, and
  // joint decoding with lexicon scoring for the splice runs
  const decodingOf = (c: { ctcDecode?: number; lexDecode?: number; lexProposals?: number; lengthPenalty?: number }) => `${c.ctcDecode ?? 0}|${c.lexDecode ?? 0}|${c.lexProposals ?? 0}|${c.lengthPenalty ?? 1}`;
  const table: Row[] = runs.flatMap((r) => [...new Set(r.cells.map(decodingOf))].map((d) => ({ r, d }))).map(({ r, d }) => {
    const cfg = resolveRunConfig(r.train);
    const [lam, mu, props, lp] = d.split("|").map(Number) as [number, number, number, number];
    const decoding = [lam ? `joint CTC/attention (λ ${lam})` : "attention", ...(mu ? [`lexicon (μ ${mu}${props ? `, ${props} proposals` : ""}${lp !== 1 ? `, length penalty ${lp}` : ""})`] : [])].join(" + ");
    const row: Row = { method: METHOD_LABELS[cfg.method], input: labelOf(r.train), decoding };
    for (const c of r.cells.filter((c) => decodingOf(c) === d)) {
      const hit = rows.find((x) => x.run === cfg.runId && x.column === cellColumn(c) && x.snr === (c.snr === null ? "clean" : String(c.snr)) && (x.ctc_decode ?? 0) === lam && (x.lex_decode ?? 0) === mu && (x.lex_proposals ?? 0) === props && (x.length_penalty ?? 1) === lp);
      row[c.snr === null ? cellColumn(c) : `${cellColumn(c)}_${c.snr}dB`] = hit ? round(hit.wer, 1) : null;
    }
    const all = t1.map((c) => row[c]);
    row.avg = all.every((x) => typeof x === "number") ? round(mean(all as number[]), 1) : null;
    const sum = runSummary(cfg.runId);
    row.train_minutes = sum ? round(sum.trainSeconds / 60, 1) : null;
    row.run = cfg.runId;
    return row;
  });
  const present = new Set(table.flatMap((r) => Object.keys(r)));
  const cols = [...t1, ...[...present].filter((k) => k.endsWith("dB"))].filter((k) => present.has(k));
  const wide: Row[] = table.map((r) => Object.fromEntries(["method", "input", "decoding", ...cols, "avg", "train_minutes", "run"].map((k) => [k, r[k] ?? null])));
  const shown = ["asr_4", `asr_4_${leverSnr(size)}dB`, "vsr_2", "avsr_4_2", `avsr_4_2_${leverSnr(size)}dB`].filter((c) => cols.includes(c));
  // one series per (method, input): the separate models of one input fill disjoint cells
  const nameOf = (r: Row) => `${r.method}, ${r.input}${r.decoding === "attention" ? "" : `, ${r.decoding}`}`;
  const series = [...new Set(wide.map(nameOf))].map((name) => {
    const of = wide.filter((r) => nameOf(r) === name);
    return { name, x: shown, y: shown.map((c) => (of.map((r) => r[c]).find((v) => typeof v === "number") as number | undefined) ?? null) };
  });
  const fig = barChart(
    series,
    { title: "Levers on the LLM's audio input: WER by cell (gaps: cells a model does not provide)", xTitle: "cell", yTitle: "WER (%)", width: 1000 },
  );
  return {
    name: "levers",
    title: "Levers (not in the paper)",
    tables: { levers: wide },
    figures: { levers: fig },
    notes: [
      "Not the paper's recipe: ctc-embed appends the LM embedding of the frozen audio encoder's sub-word CTC posteriors to each audio frame; the auxiliary CTC loss ties the projected audio tokens to the transcript's sub-words; splice 16 adds 16 samples to every batch of 16 whose transcript is a word sequence of the LM text and whose features are the cached encoder frames of training-split occurrences of its words (pipeline/splice.ts). Decoding: beam search on the LLM alone (attention), or, for the runs with the auxiliary CTC head, jointly with that head's CTC prefix scores over the tokens of the modalities the task uses (AVSR: the mean of the audio and video scores), weight λ (eval/ctc-prefix.ts); for the splice runs also with lexicon scoring, weight μ: each word the LLM completes is scored by the frozen encoder's phone CTC (visemes for VSR) through the training alignments' lexicon, the word being spelt by look-ahead over the lexicon words it can become, and the lexicon proposes its best next pieces beside the LLM's pre-beam (eval/lexicon-prefix.ts). Llama-AVSR: one model per row (one task and rate pair); Omni-AVSR-ST: one model for all cells, avg over Table I's eight.",
    ],
    coverage: coverage("levers", size),
  };
}

export const REPORTS: Record<ReportedExperiment, (s: ReproSize) => Promise<Report>> = {
  table1: table1Report,
  rate_curve: rateCurveReport,
  noise: noiseReport,
  llm_scaling: llmScalingReport,
  lambda: lambdaReport,
  levers: leversReport,
};

/** Writes a report's tables (CSV) and figures (PNG + HTML) under results/<name>/. */
export async function writeReport(r: Report): Promise<string[]> {
  const dir = resultsDir(r.name);
  const written: string[] = [];
  for (const [name, rows] of Object.entries(r.tables)) {
    const p = join(dir, `${name}.csv`);
    await writeCsv(p, rows);
    written.push(p);
  }
  for (const [name, fig] of Object.entries(r.figures)) {
    const saved = await saveFigure(fig, join(dir, name));
    if (saved.png) written.push(saved.png);
    if (saved.html) written.push(saved.html);
  }
  return written;
}

/** For notebooks: writes the report's CSVs, shows its notes and tables (not the per-cell ones) and its figures (saved as PNG + HTML). */
export async function showReport(r: Report): Promise<void> {
  const dir = resultsDir(r.name);
  for (const n of r.notes) console.log(n);
  console.log(`${r.coverage.present}/${r.coverage.expected} evaluation cells present`);
  for (const [name, rows] of Object.entries(r.tables)) {
    await writeCsv(join(dir, `${name}.csv`), rows);
    if (!name.endsWith("_cells")) showTable(rows, { caption: name, digits: 2 });
  }
  for (const [name, fig] of Object.entries(r.figures)) await showFigure(fig, { save: join(dir, name) });
}

export interface Finding extends Row {
  finding: string;
  holds: string;
  evidence: string;
}

const fmt = (x: unknown) => (typeof x === "number" ? x.toFixed(1) : "n/a");

/** The findings the issue asks about, checked on the numbers (gap against the seed spread). */
export function findings(t1: Report, noise: Report, scaling: Report): Finding[] {
  const out: Finding[] = [];
  const row = (m: string) => t1.tables.table1!.find((r) => r.method === m);
  const st = row("Omni-AVSR-ST");
  const sd = (r: Row | undefined, c: string) => Number(r?.[`${c}_std`] ?? 0) || 0;
  const verdict = (ok: boolean | null) => (ok === null ? "n/a (missing results)" : ok ? "holds" : "does NOT hold");
  const has = (...xs: unknown[]) => xs.every((x) => typeof x === "number" && Number.isFinite(x));
  if (st) {
    const [asr, vsr, av] = [st.asr_4, st.vsr_2, st.avsr_4_2];
    const spread = Math.max(sd(st, "asr_4"), sd(st, "vsr_2"), sd(st, "avsr_4_2"));
    out.push({ finding: "VSR worse than ASR (Omni-AVSR-ST, 4 / 2)", holds: verdict(has(asr, vsr) ? Number(vsr) - Number(asr) > 2 * spread : null), evidence: `VSR(2) ${fmt(vsr)} vs ASR(4) ${fmt(asr)}; seed std up to ${spread.toFixed(2)}` });
    out.push({ finding: "AVSR no worse than ASR (Omni-AVSR-ST, (4,2) vs 4)", holds: verdict(has(asr, av) ? Number(av) <= Number(asr) + 2 * spread : null), evidence: `AVSR(4,2) ${fmt(av)} vs ASR(4) ${fmt(asr)}; no worse = at most 2 seed std (${(2 * spread).toFixed(2)}) above` });
    const pairs: Array<[string, string]> = [
      ["asr_4", "asr_16"],
      ["vsr_2", "vsr_5"],
      ["avsr_4_2", "avsr_16_5"],
    ];
    const ok = pairs.map(([lo, hi]) => (has(st[lo], st[hi]) ? Number(st[hi]) >= Number(st[lo]) - 2 * Math.max(sd(st, lo), sd(st, hi)) : null));
    out.push({
      finding: "WER not lower at the higher compression rate (Omni-AVSR-ST)",
      holds: verdict(ok.includes(null) ? null : ok.every(Boolean)),
      evidence: pairs.map(([lo, hi]) => `${lo} ${fmt(st[lo])} -> ${hi} ${fmt(st[hi])}`).join("; "),
    });
    const sep = row("Llama-AVSR");
    if (sep) {
      const gap = Number(st.avg) - Number(sep.avg);
      const margin = Math.max(2, 2 * sd(st, "avg")) + 0.1 * Number(sep.avg);
      out.push({
        finding: "Unified Omni-AVSR-ST within a small margin of the separate models (avg WER, 1 model vs 8)",
        holds: verdict(has(st.avg, sep.avg) ? gap <= margin : null),
        evidence:
          `avg ${fmt(st.avg)} (±${sd(st, "avg").toFixed(2)}) vs ${fmt(sep.avg)}; gap ${Number.isFinite(gap) ? gap.toFixed(1) : "n/a"} points, margin ${fmt(margin)} = max(2, 2 std) + 10% of the separate models' avg; ` +
          `training: 1 model, ${fmt(st.train_minutes)} min vs ${sep.trained_models} models, ${fmt(sep.train_minutes)} min`,
      });
    }
  }
  const nz = noise.tables.noise!.filter((r) => r.method === "Omni-AVSR-ST");
  for (const rates of [...new Set(nz.filter((r) => r.task === "AVSR").map((r) => String(r.rates)))]) {
    const avr = nz.find((r) => r.task === "AVSR" && r.rates === rates);
    const asr = nz.find((r) => r.task === "ASR" && r.rates === rates.split("-")[0]);
    if (!avr || !asr) continue;
    const low = Object.keys(avr).filter((k) => /dB$/.test(k) && Number(k.replace("dB", "")) <= 0);
    const ok = low.map((k) => (has(avr[k], asr[k]) ? Number(asr[k]) - Number(avr[k]) > Math.max(2, 2 * Math.max(sd(avr, k), sd(asr, k))) : null));
    out.push({
      finding: `Under babble at 0 dB and below, AVSR clearly better than ASR (Omni-AVSR-ST, ${rates})`,
      holds: verdict(ok.includes(null) || ok.length === 0 ? null : ok.every(Boolean)),
      evidence: low.map((k) => `${k}: AVSR ${fmt(avr[k])} vs ASR ${fmt(asr[k])}`).join("; "),
    });
  }
  const sc = scaling.tables.llm_scaling!;
  if (sc.length >= 2) {
    const avgs = sc.map((r) => r.avg);
    const ok = has(...avgs) ? avgs.every((a, i) => i === 0 || Number(a) <= Number(avgs[i - 1]) + 1) : null;
    out.push({ finding: "Larger LMs not worse (avg WER by LM size)", holds: verdict(ok), evidence: sc.map((r) => `${r.lm} ${fmt(r.avg)}`).join("; ") + " (tolerance 1 point)" });
  }
  return out;
}
