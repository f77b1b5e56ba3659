/**
 * The reproduction pipeline (`npm run reproduce -- --smoke`) end to end at smoke size, into a temporary
 * results folder: every stage, every experiment's CSV and PNG, the findings, the README section (written
 * to results/README_results.md at smoke size, never to README.md), one executed notebook; then a second
 * run resumes with every job skipped. Plus the plan's structure (shared runs, cell unions) and the
 * README marker rewrite.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experimentRuns, planJobs, REPRO_SIZES, resolveTrainRunId, table1Cells, type TrainEvalParams } from "../../src/experiments/plan.js";
import { writeReadmeSection } from "../../src/experiments/reproduce.js";
import { readCsv } from "../../src/report/csv.js";
import { resolveRunConfig } from "../../src/pipeline/config.js";

const repo = join(import.meta.dirname, "..", "..");

test("the plan: Table I has 8+3+4 baseline models and 3 Omni models per seed; experiments share runs", () => {
  const size = REPRO_SIZES.default;
  const t1 = experimentRuns("table1", size);
  const count = (m: string) => t1.filter((r) => r.train.method === m).length;
  assert.equal(count("llama-avsr"), 8);
  assert.equal(count("llama-mtsk"), 3);
  assert.equal(count("llama-mt"), 4);
  assert.equal(count("omni-st"), size.omniSeeds.length);
  assert.equal(table1Cells(size).length, 8);
  const jobs = planJobs(["table1", "rate_curve", "noise", "llm_scaling", "lambda"], size);
  const ids = new Set(jobs.map((j) => j.id));
  assert.equal(ids.size, jobs.length);
  // Table I's Omni-AVSR-ST seed 0 also serves the noise sweep, LLM scaling (tiny) and λ = (1,1.5,1)
  const st0 = jobs.find((j) => j.id === resolveRunConfig({ method: "omni-st", preset: "default", seed: 0 }).runId)!;
  const p = st0.params as unknown as TrainEvalParams;
  assert.equal(p.cells.length, 8 + 4 * size.snrs.length, "8 clean Table I cells + 4 task/rate pairs x SNRs");
  // 15 baseline + 6 Omni + 2 more LMs + 2 more λ; the noise sweep's separate models are Table I's
  assert.equal(jobs.length, 15 + 3 * size.omniSeeds.length + (size.lmSizes.length - 1) + 2);
});

test("the README section is replaced between the markers only", () => {
  const dir = mkdtempSync(join(tmpdir(), "readme-"));
  const f = join(dir, "README.md");
  writeFileSync(f, "# T\n\nbefore\n<!-- results: begin (written by npm run reproduce) -->\nold\n<!-- results: end -->\nafter\n");
  writeReadmeSection(f, "new **table**\n");
  assert.equal(readFileSync(f, "utf8"), "# T\n\nbefore\n<!-- results: begin (written by npm run reproduce) -->\nnew **table**\n<!-- results: end -->\nafter\n");
});

test("npm run reproduce -- --smoke: every stage, tables, figures, findings, one notebook; a re-run resumes", { timeout: 600_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), "repro-smoke-"));
  const env = { ...process.env, OMNI_SMOKE: "1", OMNI_RESULTS_DIR: out };
  const readmeBefore = readFileSync(join(repo, "README.md"), "utf8");
  const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "scripts/reproduce.ts", "--smoke", ...args], { cwd: repo, env, encoding: "utf8" });
  const first = run(["--notebooks", "03_"]);
  assert.equal(first.status, 0, first.stderr.slice(-4000));
  for (let s = 1; s <= 7; s++) assert.match(first.stderr, new RegExp(`stage ${s}/7: .*eta`), `stage ${s}`);
  assert.match(first.stderr, /stage 8\/8: executing 1 notebooks/);
  for (const [dir, files] of Object.entries({
    table1: ["table1.csv", "table1.png", "table1_paper_lrs3.csv"],
    rate_curve: ["rate_curve.csv", "rate_curve_asr.png", "rate_curve_vsr.png", "rate_curve_avsr.png"],
    noise: ["noise.csv", "noise.png"],
    llm_scaling: ["llm_scaling.csv", "llm_scaling.png"],
    lambda: ["lambda.csv", "lambda.png"],
    levers: ["levers.csv", "levers.png"],
  })) {
    for (const f of files) assert.ok(existsSync(join(out, dir, f)), `${dir}/${f}`);
  }
  const t1 = readCsv(join(out, "table1", "table1.csv"));
  assert.deepEqual(t1.map((r) => r.method), ["Llama-AVSR", "Llama-MTSK", "Llama-MT", "Omni-AVSR-S", "Omni-AVSR-T", "Omni-AVSR-ST"]);
  for (const r of t1) {
    for (const c of ["asr_4", "asr_16", "vsr_2", "vsr_5", "avsr_4_2", "avsr_4_5", "avsr_16_2", "avsr_16_5", "avg"]) assert.ok(Number.isFinite(Number(r[c])), `${r.method} ${c}`);
  }
  // avg is the mean of the eight cells; a cell is the mean over seeds of the WER its run's eval wrote
  const cols = ["asr_4", "asr_16", "vsr_2", "vsr_5", "avsr_4_2", "avsr_4_5", "avsr_16_2", "avsr_16_5"];
  for (const r of t1) {
    const m = cols.reduce((a, c) => a + Number(r[c]), 0) / cols.length;
    assert.ok(Math.abs(Number(r.avg) - m) <= 0.011, `${r.method}: avg ${r.avg} vs mean of cells ${m}`);
  }
  const stRuns = experimentRuns("table1", REPRO_SIZES.smoke).filter((r) => r.train.method === "omni-st").map((r) => resolveTrainRunId(r.train));
  assert.equal(stRuns.length, REPRO_SIZES.smoke.omniSeeds.length);
  const wer = (runId: string, cell: string) => JSON.parse(readFileSync(join(out, "runs", runId, "eval", `${cell}_beam${REPRO_SIZES.smoke.beam}.json`), "utf8")).wer as number;
  const st = t1.find((r) => r.method === "Omni-AVSR-ST")!;
  for (const [col, cell] of [["asr_4", "asr_4-0"], ["vsr_5", "vsr_0-5"], ["avsr_16_2", "avsr_16-2"]] as const) {
    const m = (100 * stRuns.reduce((a, id) => a + wer(id, cell), 0)) / stRuns.length;
    assert.ok(Math.abs(Number(st[col]) - m) <= 0.006, `Omni-AVSR-ST ${col}: ${st[col]} vs ${m} from the runs' eval files`);
  }
  assert.equal(Number(t1.find((r) => r.method === "Llama-AVSR")!.trained_models), 8);
  assert.equal(Number(t1.find((r) => r.method === "Omni-AVSR-ST")!.trained_models), 1);
  assert.equal(Number(t1.find((r) => r.method === "Omni-AVSR-ST")!.seeds), 2);
  assert.ok(readCsv(join(out, "findings.csv")).length >= 5);
  const md = readFileSync(join(out, "README_results.md"), "utf8");
  assert.match(md, /### Table I \(ours\)/);
  assert.match(md, /### Noise sweep/);
  assert.match(md, /### LLM scaling/);
  assert.match(md, /### Levers on the LLM's audio input/);
  // the levers: every model trained and scored; the ctc-embed runs are their own runs beside Table I's
  const lv = readCsv(join(out, "levers", "levers.csv"));
  // a row per (model, decoding): the 6 runs with an auxiliary CTC head also with joint CTC/attention
  // decoding, and the 3 splice runs with lexicon scoring on top
  assert.equal(lv.length, 11 + 6 + 3);
  assert.equal(lv.filter((r) => String(r.decoding).startsWith("joint CTC/attention")).length, 6 + 3);
  assert.equal(lv.filter((r) => String(r.decoding).endsWith("+ lexicon (μ 0.5, 8 proposals, length penalty 0)")).length, 3);
  assert.deepEqual(lv.filter((r) => String(r.run).endsWith("-ctcemb-s0")).map((r) => r.method), [...Array(6).fill("Llama-AVSR"), "Omni-AVSR-ST", "Omni-AVSR-ST"]);
  assert.deepEqual(lv.filter((r) => String(r.run).endsWith("-splice16-s0")).map((r) => `${r.method}, ${r.input}`), [
    ...Array(6).fill("Llama-AVSR, + ctc-embed + auxiliary CTC 0.5 + splice 16"),
    ...Array(3).fill("Omni-AVSR-ST, + ctc-embed + auxiliary CTC 0.5 + splice 16"),
  ]);
  for (const r of lv) {
    const cell = r.method === "Omni-AVSR-ST" ? "avg" : Number.isFinite(Number(r.asr_4)) && r.asr_4 !== null && r.asr_4 !== "" ? "asr_4" : "avsr_4_2";
    assert.ok(Number.isFinite(Number(r[cell])) && r[cell] !== "" && r[cell] !== null, `${r.method} ${r.input}: ${cell} = ${r[cell]}`);
  }
  assert.equal(readFileSync(join(repo, "README.md"), "utf8"), readmeBefore, "the smoke size never writes README.md");
  const nbs = readdirSync(join(out, "notebooks"));
  assert.ok(nbs.some((n) => n.startsWith("03_") && n.endsWith(".ipynb") && !n.includes("failed")), nbs.join(", "));
  const jobs = readdirSync(join(out, "runs")).filter((d) => existsSync(join(out, "runs", d, "done.json")));
  assert.ok(jobs.length >= 20, `${jobs.length} runs done`);
  assert.match(first.stderr, /stage 4\/7: feature cache .*\(train, val, test\)/);

  const second = run(["--no-notebooks"]);
  assert.equal(second.status, 0, second.stderr.slice(-4000));
  assert.match(second.stderr, new RegExp(`\\[pool\\] ${jobs.length}/${jobs.length} jobs already done`));
  assert.doesNotMatch(second.stderr, /\[pool\] start /);
  // every run done: only the test split's features are needed (the notebooks decode test utterances)
  assert.match(second.stderr, /stage 4\/7: feature cache \S+ \(test\)/);
});
