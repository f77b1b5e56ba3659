/**
 * The reproduction pipeline behind `npm run reproduce` (scripts/reproduce.ts adds the notebook stage):
 *
 *   1. corpus            data/<preset>/ (generated when missing; the generator resumes)
 *   2. language models   checkpoints/lm/<preset>/<size>/ (shipped; pretrained when missing)
 *   3. encoders          checkpoints/encoders/<preset>/{audio,video}/ (shipped; pretrained when missing;
 *                        after the LMs: their sub-word objective uses the LM tokeniser)
 *   4. feature cache     data/<preset>/features/ (complete parts skipped; the test split only once every run is done)
 *   5. experiment grid   every run of every experiment (plan.ts), two jobs at a time, one thread each
 *   6. aggregation       results/<experiment>/*.csv, *.png, *.html; results/findings.csv
 *   7. README            the results section between the README's markers (default size only; the
 *                        smoke size writes results/smoke/README_results.md instead)
 *
 * Every stage skips what exists, so a re-run after an interruption resumes. Progress: a line per stage
 * with the elapsed time and an overall ETA (from the cost model of the jobs still to run), and the
 * pool's own line after each job.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { initBackend, describeBackend } from "../backend/index.js";
import { openCorpus, type Split } from "../data/index.js";
import { buildFeatureCache, EVAL_SNRS } from "../features/cache.js";
import { ensurePretrained } from "../pretrain/ensure.js";
import { writeCsv, type Row } from "../report/csv.js";
import { tableToMarkdown } from "../report/table.js";
import { closePlotBrowser } from "../plot/browser.js";
import { repoRoot, resultsDir } from "../util/paths.js";
import { formatDuration } from "../util/progress.js";
import { resolveRunConfig } from "../pipeline/config.js";
import { EXPERIMENTS, jobComplete, planJobs, reproSize, runExperiments, runsRoot, secondsLeft, type ReportedExperiment, type ReproSize } from "./plan.js";
import { findings, REPORTS, writeReport, type Finding, type Report } from "./results.js";
import { isDone } from "./pool.js";
import { latestCheckpoint } from "../train/checkpoint.js";

export interface ReproduceOptions {
  size?: ReproSize;
  experiments?: readonly ReportedExperiment[];
  log?: (line: string) => void;
  /** Write the README section (default: at the default size only). */
  readme?: boolean;
  /** Seconds the caller expects after the pipeline (the notebooks), for the overall ETA. */
  tailSeconds?: number;
  /** Only aggregate what exists (stages 6-7): tables, figures, findings and README from the runs done so far. */
  reportOnly?: boolean;
  /** Start only the grid runs estimated to finish by then (epoch ms); the rest wait for the next run. */
  deadline?: number;
  /** With a deadline: start the rest too and stop what still runs at the deadline (parked runs). */
  park?: boolean;
}

export interface ReproduceResult {
  size: ReproSize;
  reports: Report[];
  findings: Finding[];
  written: string[];
  seconds: number;
  /** Grid runs not started because they would not finish before the deadline, or parked at it. */
  deferred: string[];
}

export const README_BEGIN = "<!-- results: begin";
export const README_END = "<!-- results: end -->";

export async function reproduce(o: ReproduceOptions = {}): Promise<ReproduceResult> {
  const size = o.size ?? reproSize();
  const experiments = o.experiments ?? EXPERIMENTS;
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const started = Date.now();
  const total = 7;
  const gridLeft = () => secondsLeft(planJobs(experiments, size)).seconds;
  const stage = (n: number, what: string) => {
    const elapsed = (Date.now() - started) / 1000;
    const left = (n <= 5 ? gridLeft() : 0) + (o.tailSeconds ?? 0) + 10;
    log(`\n[reproduce] stage ${n}/${total}: ${what} | size ${size.name} | elapsed ${formatDuration(elapsed)} | eta ${formatDuration(left)}`);
  };

  let deferred: string[] = [];
  if (!o.reportOnly) deferred = await runStages(size, experiments, log, stage, o.deadline, o.park);
  else log(`[reproduce] report only: aggregating the runs that exist (${reproStatus(size, experiments).done}/${planJobs(experiments, size).length} done)`);

  stage(6, "aggregation: tables, figures, findings");
  const reports: Report[] = [];
  const written: string[] = [];
  for (const e of experiments) {
    const r = await REPORTS[e](size);
    reports.push(r);
    written.push(...(await writeReport(r)));
    log(`[reproduce] ${e}: ${r.coverage.present}/${r.coverage.expected} cells`);
  }
  const byName = (n: string) => reports.find((r) => r.name === n);
  const f = byName("table1") && byName("noise") && byName("llm_scaling") ? findings(byName("table1")!, byName("noise")!, byName("llm_scaling")!) : [];
  await writeCsv(resultsDir("findings.csv"), f);
  written.push(resultsDir("findings.csv"));
  await closePlotBrowser();
  for (const x of f) log(`[reproduce] ${x.holds.padEnd(14)} ${x.finding}: ${x.evidence}`);

  stage(7, "README results section");
  const md = resultsMarkdown(reports, f, size);
  if (o.readme ?? size.name === "default") {
    writeReadmeSection(join(repoRoot(), "README.md"), md);
    log("[reproduce] README.md results section updated");
  } else {
    writeFileSync(resultsDir("README_results.md"), md);
    written.push(resultsDir("README_results.md"));
    log(`[reproduce] results section written to ${resultsDir("README_results.md")} (README.md is only written at the default size)`);
  }
  return { size, reports, findings: f, written, seconds: (Date.now() - started) / 1000, deferred };
}

/** Stages 1-5: corpus, LMs, encoders, features, the experiment grid. Returns the ids of the deferred runs. */
async function runStages(
  size: ReproSize,
  experiments: readonly ReportedExperiment[],
  log: (l: string) => void,
  stage: (n: number, what: string) => void,
  deadline?: number,
  park?: boolean,
): Promise<string[]> {
  const backend = await initBackend();
  log(`[reproduce] ${describeBackend(backend)}`);

  stage(1, `corpus data/${size.preset}`);
  const corpus = await openCorpus(size.preset, { generateIfMissing: true });
  log(`[reproduce] corpus: ${corpus.utterances("train").length} train / ${corpus.utterances("val").length} val / ${corpus.utterances("test").length} test utterances`);

  await ensurePretrained(size.preset, {
    lmSizes: size.lmSizes,
    log,
    command: "npm run reproduce",
    onPart: (part) => (part === "lm" ? stage(2, `language models checkpoints/lm/${size.preset}`) : stage(3, `encoders checkpoints/encoders/${size.preset}`)),
  });

  const jobs = planJobs(experiments, size);
  const done = jobs.filter((j) => isDone(runsRoot(), j)).length;

  // Training needs the train and val features; once every run is done (a fresh clone with the
  // committed runs), only the notebooks' test-split decoding needs features.
  const splits: Split[] = done < jobs.length ? ["train", "val", "test"] : ["test"];
  stage(4, `feature cache data/${size.preset}/features (${splits.join(", ")})`);
  const snrs = [...new Set([...EVAL_SNRS, ...size.snrs])];
  const fc = await buildFeatureCache({ preset: size.preset, splits, evalSnrs: snrs, log });
  log(`[reproduce] features: ${fc.parts.written} parts written, ${fc.parts.skipped} present (${fc.seconds.toFixed(0)} s)`);

  stage(5, `experiment grid: ${jobs.length} runs (${done} done), ${experiments.join(", ")}`);
  const out = await runExperiments(experiments, { size, log, deadline, park });
  const deferred = out.filter((r) => r.status === "deferred" || r.status === "parked").map((r) => r.id);
  if (deferred.length > 0) log(`[reproduce] ${deferred.length} run(s) deferred or parked by the deadline; run again to continue: ${deferred.join(", ")}`);
  // the run folder (metrics.csv, val.csv, config, inputs) and its newest checkpoint (git-ignored)
  const parked = out.filter((r) => r.status === "parked");
  const rel = (f: string) => relative(repoRoot(), f);
  if (parked.length > 0)
    log(
      `[reproduce] a parked run resumes from its folder and last checkpoint; to carry it to another clone: ` +
        `git add ${parked.map((r) => rel(r.runDir)).join(" ")} && git add -f ${parked.flatMap((r) => parkedCheckpointFiles(r.runDir)).map(rel).join(" ")}`,
    );
  return deferred;
}

/** The files a parked run resumes from: its newest checkpoint folder and checkpoints/latest.json. */
export function parkedCheckpointFiles(runDir: string): string[] {
  const dir = latestCheckpoint(join(runDir, "checkpoints"));
  return dir ? [join(runDir, "checkpoints", "latest.json"), dir] : [];
}

/** Where a (possibly running) reproduction stands: runs done / total and the estimated work left (both cores). */
export function reproStatus(size: ReproSize = reproSize(), experiments: readonly ReportedExperiment[] = EXPERIMENTS): { total: number; done: number; secondsLeft: number; pending: string[] } {
  const jobs = planJobs(experiments, size);
  const left = jobs.filter((j) => !jobComplete(runsRoot(), j));
  return { total: jobs.length, done: jobs.length - left.length, secondsLeft: secondsLeft(jobs).seconds, pending: left.map((j) => j.id) };
}

/** Replaces what lies between the README's results markers (the marker lines are kept). */
export function writeReadmeSection(path: string, body: string): void {
  const text = readFileSync(path, "utf8");
  const b = text.indexOf(README_BEGIN);
  const e = text.indexOf(README_END);
  if (b < 0 || e < b) throw new Error(`${path}: no results markers (${README_BEGIN} ... ${README_END})`);
  const beginLineEnd = text.indexOf("\n", b) + 1;
  writeFileSync(path, text.slice(0, beginLineEnd) + body.trimEnd() + "\n" + text.slice(e));
}

function pick(rows: readonly Row[], cols: readonly string[]): Row[] {
  return rows.map((r) => Object.fromEntries(cols.filter((c) => c in r).map((c) => [c, r[c] ?? null])));
}

/** With the seed spread as "mean ± std" where there is one. */
function withSpread(rows: readonly Row[], cols: readonly string[]): Row[] {
  return rows.map((r) => {
    const o: Row = {};
    for (const c of cols) {
      const v = r[c];
      const s = r[`${c}_std`];
      o[c] = typeof v === "number" && typeof s === "number" ? `${v.toFixed(1)} ± ${s.toFixed(1)}` : typeof v === "number" ? v.toFixed(1) : (v ?? "");
    }
    return o;
  });
}

/** The README's results section: Table I, the noise sweep and LLM scaling, ours beside the paper's, and the findings. */
export function resultsMarkdown(reports: readonly Report[], f: readonly Finding[], size: ReproSize): string {
  const r = (n: string) => reports.find((x) => x.name === n);
  const out: string[] = [];
  const at = size.name === "smoke" ? "results/smoke" : "results";
  out.push(
    `Written by \`npm run reproduce\` (${new Date().toISOString().slice(0, 10)}, size \`${size.name}\`). WER in %, corpus level, on the first ${size.evalLimit} test utterances ` +
      `(10 speakers never seen in training), beam ${size.beam}. "± x" is the standard deviation over seeds (Omni-AVSR rows: ${size.omniSeeds.length} seeds; ` +
      `baselines and ablations: 1 seed, no spread). Our numbers come from a synthetic corpus (espeak-ng speech, rendered lips), encoders and LMs of ` +
      `~0.1–5 M parameters trained here, and ${resolveRunConfig({ method: "omni-st", preset: size.preset, ...(size.steps ? { steps: size.steps } : {}) }).steps.toLocaleString("en-US")} training steps per model (at the default size 10 min to 1.8 h each on one core with the tiny LM, 2.3 h with the small LM, 5.5 h with the base LM) on 2 CPU cores: compare trends (which task/rate/method is better), not absolute values, with the paper's (LRS3, Whisper/AV-HuBERT, Llama 3.2-1B, 8 GPUs).`,
  );
  const t1 = r("table1");
  if (t1) {
    const cols = ["method", "asr_4", "asr_16", "vsr_2", "vsr_5", "avsr_4_2", "avsr_4_5", "avsr_16_2", "avsr_16_5", "avg"];
    out.push(`\n### Table I (ours) — ${t1.coverage.present}/${t1.coverage.expected} cells evaluated\n`);
    out.push(tableToMarkdown([...withSpread(t1.tables.table1!, cols)].map((x, i) => ({ ...x, ...pick([t1.tables.table1![i]!], ["trained_models", "llm_passes_per_step", "trainable_params", "train_minutes"])[0] }))));
    out.push(`\nColumns: task_audio-rate[_video-rate]; trained_models / trainable_params / train_minutes: per seed, summed over the models a method needs to cover all eight cells (train minutes on one core each: the wall time of each run on the machine that trained it, beside whatever else ran there, so not a clean cost comparison; per-step costs side by side: \`npm run bench\`). Files: \`${at}/table1/\`.\n`);
    out.push("\n### Table I (paper, LRS3)\n");
    out.push(tableToMarkdown(t1.tables.table1_paper_lrs3!, { digits: 1 }));
  }
  const nz = r("noise");
  if (nz) {
    const cols = ["method", "task", "rates", "clean", ...size.snrs.map((s) => `${s}dB`)];
    out.push(`\n### Noise sweep: WER under babble (ours) — ${nz.coverage.present}/${nz.coverage.expected} cells\n`);
    out.push(tableToMarkdown(withSpread(nz.tables.noise!, cols)));
    out.push("\n### Noise sweep (paper, LRS3, AVSR only)\n");
    out.push(tableToMarkdown(nz.tables.noise_paper_lrs3!, { digits: 1 }));
    out.push(`\nBabble of 4–8 other test speakers mixed into the test audio at the given SNR; the video stays clean. Files: \`${at}/noise/\`.\n`);
  }
  const sc = r("llm_scaling");
  if (sc) {
    out.push(`\n### LLM scaling (ours, Omni-AVSR-ST) — ${sc.coverage.present}/${sc.coverage.expected} cells\n`);
    out.push(tableToMarkdown(sc.tables.llm_scaling!));
    out.push("\n### LLM scaling (paper, LRS3, read from its figure)\n");
    out.push(tableToMarkdown(sc.tables.llm_scaling_paper!));
    out.push(`\nlm_val_perplexity: token perplexity of the frozen LM on held-out LM text. Files: \`${at}/llm_scaling/\`.\n`);
  }
  const lv = r("levers");
  if (lv) {
    const noisy = Object.keys(lv.tables.levers![0] ?? {}).filter((k) => k.endsWith("dB"));
    out.push(`\n### Levers on the LLM's audio input (not in the paper) — ${lv.coverage.present}/${lv.coverage.expected} cells\n`);
    out.push(tableToMarkdown(pick(lv.tables.levers!, ["method", "input", "decoding", "asr_4", "vsr_2", "avsr_4_2", ...noisy, "avg", "train_minutes"]), { digits: 1 }));
    out.push(`\nSeed 0; the rows without levers are Table I's own runs. ${lv.notes.join(" ")} Every cell and the run ids: \`${at}/levers/levers.csv\`.\n`);
  }
  if (f.length) {
    out.push("\n### The paper's findings, checked on our numbers\n");
    out.push(tableToMarkdown(f));
    out.push(`\n"holds" requires the gap to exceed twice the seed spread where there is one. Rate curve, λ ablation and the executed notebooks: \`${at}/rate_curve/\`, \`${at}/lambda/\`, \`${at}/notebooks/\`.\n`);
  }
  out.push(
    `\n### Notebooks (executed copies in \`${at}/notebooks/\`)\n\n` +
      "| notebook | what it shows |\n| --- | --- |\n" +
      "| `02_pretraining` | the frozen encoders (CTC error rates) and the three LMs (loss curves, perplexity per size) |\n" +
      "| `03_omni_avsr` | one Omni-AVSR-ST model trained; elastic inference: one test utterance at every task and rate, LLM input tokens and decode time |\n" +
      "| `04_table1` | Table I: six methods, eight task/rate cells, models, LLM passes, trainable parameters, training time |\n" +
      "| `05_rate_curve` | WER against compression rate per task, one unified model against separate models, the paper's curves dashed |\n" +
      "| `06_noise_sweep` | WER against babble SNR for ASR and AVSR at (4,2) and (16,5) |\n" +
      "| `07_llm_scaling` | WER and cost against LM size (tiny, small, base) |\n" +
      "| `08_lambda_ablation` | λ = (1,1,1), (1,1.5,1), (1,2,1) |\n" +
      "| `09_levers` | levers on the LLM's audio input (not in the paper): ctc-embed, the auxiliary CTC loss, splice, joint CTC/attention decoding |\n",
  );
  return out.join("\n");
}
