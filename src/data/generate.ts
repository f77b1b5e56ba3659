/**
 * The corpus generator behind `npm run corpus -- --preset <smoke|default> [--seed N]`.
 *
 * Output (data/<preset>/ unless `outDir` is given):
 *   config.json     the exact config (a different config in the same folder is an error)
 *   speakers.json   speaker voices and appearances
 *   audio/<id>.wav  16 kHz mono 16-bit PCM, length a multiple of 640 samples (whole 25 fps frames)
 *   align/<id>.json phoneme, word and viseme timings, voice, video render parameters
 *   manifest.csv    one row per utterance (see MANIFEST_COLUMNS)
 *   lexicon.json    pronunciation and viseme string of every vocabulary word
 *   lm_text.txt     LM pretraining text without any val/test transcript
 *   stats.json      hours, counts, vocabulary, homophene shares
 * Video is not stored: frames are re-rendered deterministically by the loader from align/<id>.json
 * (88x88 x 25 fps would be ~0.7 MB per utterance; rendering costs a few ms).
 *
 * Resume: an utterance is done when its align file exists (written after its WAV, both atomically);
 * a re-run skips done utterances, removes stale temp files and finishes the rest. Work is split over
 * worker threads (default: one per core). Because every utterance depends only on (config, id), and
 * espeak is reset to a fixed state before each synthesis, an interrupted and resumed run writes the
 * same bytes as an uninterrupted one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import Papa from "papaparse";
import { writeFileAtomicSync } from "../util/atomic.js";
import { Progress } from "../util/progress.js";
import { dataDir } from "../util/paths.js";
import { initAudio } from "../audio/dsp.js";
import type { CorpusConfig } from "./config.js";
import type { WorkerJob, WorkerMessage } from "./corpus-worker.js";
import { buildLexicon, homopheneStats, type HomopheneStats } from "./lexicon.js";
import { buildLmText } from "./lm-text.js";
import { MANIFEST_COLUMNS, type ManifestRow } from "./manifest.js";
import { buildPlan, SPLITS, type CorpusPlan, type PlannedUtterance } from "./plan.js";
import { EspeakSynth } from "./tts.js";
import { alignPath, audioPath, type AlignFile } from "./utterance.js";

export interface GenerateOptions {
  outDir?: string;
  workers?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface GenerateResult {
  dir: string;
  generated: number;
  skipped: number;
  seconds: number;
  utterancesPerMinute: number;
}

/** data/<preset>/ under the repository root (or OMNI_DATA_DIR), wherever the caller runs from. */
export function defaultCorpusDir(preset: string): string {
  return dataDir(preset);
}

function removeStaleTemps(dir: string): number {
  let n = 0;
  for (const sub of ["", "audio", "align"]) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) {
      if (f.startsWith(".") && f.endsWith(".tmp")) {
        rmSync(join(d, f), { force: true });
        n++;
      }
    }
  }
  return n;
}

function checkConfig(dir: string, config: CorpusConfig): void {
  const path = join(dir, "config.json");
  const text = JSON.stringify(config, null, 2) + "\n";
  if (existsSync(path)) {
    const old = readFileSync(path, "utf8");
    if (old !== text) {
      throw new Error(`${dir} holds a corpus made with a different config (see ${path}); delete the folder or choose another output`);
    }
  } else writeFileAtomicSync(path, text);
}

/**
 * Starts the worker module. From compiled JS it is loaded directly; from TypeScript sources (tsx) the
 * worker first registers tsx's ESM hooks (Node 20 does not pass --import hooks on to workers).
 */
function startWorker(data: WorkerJob): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./corpus-worker.js", import.meta.url), { workerData: data });
  const api = import.meta.resolve("tsx/esm/api");
  const entry = new URL("./corpus-worker.ts", import.meta.url).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}

function runWorkers(dir: string, plan: CorpusPlan, todo: PlannedUtterance[], nWorkers: number, onDone: () => void): Promise<void> {
  const parts: PlannedUtterance[][] = Array.from({ length: nWorkers }, () => []);
  todo.forEach((u, i) => parts[i % nWorkers]!.push(u));
  return new Promise((resolve, reject) => {
    let running = 0;
    let failed = false;
    const workers: Worker[] = [];
    for (const part of parts) {
      if (part.length === 0) continue;
      running++;
      const data: WorkerJob = { dir, config: plan.config, speakers: plan.speakers, utterances: part };
      const w = startWorker(data);
      workers.push(w);
      w.on("message", (m: WorkerMessage) => {
        if (m.type === "done") onDone();
        else if (m.type === "error" && !failed) {
          failed = true;
          for (const o of workers) void o.terminate();
          reject(new Error(`corpus generation failed at utterance ${m.id}: ${m.message}`));
        }
      });
      w.on("error", (err) => {
        if (!failed) {
          failed = true;
          for (const o of workers) void o.terminate();
          reject(err);
        }
      });
      w.on("exit", () => {
        running--;
        if (running === 0 && !failed) resolve();
      });
    }
    if (running === 0) resolve();
  });
}

const fmt = (x: number, d = 4) => x.toFixed(d);

/** Generates (or resumes) a corpus. */
export async function generateCorpus(config: CorpusConfig, opts: GenerateOptions = {}): Promise<GenerateResult> {
  const dir = opts.outDir ?? defaultCorpusDir(config.preset);
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  mkdirSync(join(dir, "audio"), { recursive: true });
  mkdirSync(join(dir, "align"), { recursive: true });
  checkConfig(dir, config);
  const stale = removeStaleTemps(dir);
  if (stale) log(`removed ${stale} temp files left by an interrupted run`);

  const plan = buildPlan(config);
  writeFileAtomicSync(join(dir, "speakers.json"), JSON.stringify(plan.speakers, null, 1) + "\n");
  const todo = plan.utterances.filter((u) => !existsSync(join(dir, alignPath(u.id))));
  const skipped = plan.utterances.length - todo.length;
  const nWorkers = Math.max(1, Math.min(opts.workers ?? availableParallelism(), todo.length || 1));
  log(`corpus ${config.preset} (seed ${config.seed}) -> ${dir}: ${plan.utterances.length} utterances, ${skipped} done, ${todo.length} to make on ${nWorkers} workers`);

  const t0 = Date.now();
  const progress = new Progress(plan.utterances.length, { unit: "utt", label: `corpus ${config.preset}`, startAt: skipped, write: log, intervalMs: 5000 });
  let done = skipped;
  if (todo.length > 0) await runWorkers(dir, plan, todo, nWorkers, () => progress.update(++done));
  const seconds = (Date.now() - t0) / 1000;

  await finalizeCorpus(dir, plan, log);
  return { dir, generated: todo.length, skipped, seconds, utterancesPerMinute: todo.length / Math.max(1e-9, seconds / 60) };
}

export interface CorpusStats {
  preset: string;
  seed: number;
  utterances: Record<string, number>;
  hours: Record<string, number>;
  speakers: Record<string, number>;
  vocabulary: { capped: number; used: number; perSplit: Record<string, number>; testWordsUnseenInTrain: number };
  durationSeconds: { mean: number; min: number; max: number; p50: number; p90: number };
  homophenes: HomopheneStats & { tokenHomopheneShare: number };
  lmText: { lines: number; words: number; removedHeldOut: number };
  unknownPhonemes: string[];
}

/** Writes manifest, lexicon, LM text and stats from the finished per-utterance files. */
export async function finalizeCorpus(dir: string, plan: CorpusPlan, log: (l: string) => void = () => {}): Promise<CorpusStats> {
  const rows: ManifestRow[] = [];
  const unknown = new Set<string>();
  for (const u of plan.utterances) {
    const align = JSON.parse(readFileSync(join(dir, alignPath(u.id)), "utf8")) as AlignFile;
    for (const p of align.unknownPhonemes) unknown.add(p);
    rows.push({
      id: u.id,
      split: u.split,
      speaker: u.speaker,
      text: u.text,
      duration_s: fmt(align.numSamples / align.sampleRate),
      audio_path: audioPath(u.id),
      align_path: alignPath(u.id),
      num_samples: String(align.numSamples),
      video_frames: String(align.numFrames),
      n_words: String(u.text.split(" ").length),
      voice: align.tts.voice + (align.tts.variant ? `+${align.tts.variant}` : ""),
      av_offset_ms: fmt(align.render.avOffset * 1000, 1),
    });
  }
  const csv = Papa.unparse({ fields: [...MANIFEST_COLUMNS], data: rows.map((r) => MANIFEST_COLUMNS.map((c) => r[c])) }, { newline: "\n" });
  writeFileAtomicSync(join(dir, "manifest.csv"), csv + "\n");

  const heldOut = plan.utterances.filter((u) => u.split !== "train").map((u) => u.text);
  const lm = buildLmText(plan.brown, [...heldOut, ...plan.sentences.val, ...plan.sentences.test]);
  writeFileAtomicSync(join(dir, "lm_text.txt"), lm.lines.join("\n") + "\n");

  await initAudio();
  const synth = await EspeakSynth.create();
  const used = new Set(plan.utterances.flatMap((u) => u.text.split(" ")));
  const lexicon = buildLexicon(synth, plan.vocab);
  writeFileAtomicSync(join(dir, "lexicon.json"), JSON.stringify(lexicon) + "\n");

  const wordsOf = (split: string) => plan.utterances.filter((u) => u.split === split).flatMap((u) => u.text.split(" "));
  const testTokens = wordsOf("test");
  const hs = homopheneStats(lexicon, testTokens);
  const visCount = new Map<string, number>();
  for (const e of Object.values(lexicon)) visCount.set(e.visemes, (visCount.get(e.visemes) ?? 0) + 1);
  const tokenHomopheneShare = testTokens.filter((w) => (visCount.get(lexicon[w]!.visemes) ?? 0) > 1).length / Math.max(1, testTokens.length);
  const trainWords = new Set(wordsOf("train"));

  const durs = rows.map((r) => Number(r.duration_s)).sort((a, b) => a - b);
  const q = (p: number) => durs[Math.min(durs.length - 1, Math.floor(p * durs.length))]!;
  const sum = (split: string) => rows.filter((r) => r.split === split).reduce((s, r) => s + Number(r.duration_s), 0) / 3600;
  const stats: CorpusStats = {
    preset: plan.config.preset,
    seed: plan.config.seed,
    utterances: Object.fromEntries(SPLITS.map((s) => [s, rows.filter((r) => r.split === s).length])),
    hours: Object.fromEntries([...SPLITS.map((s) => [s, Number(sum(s).toFixed(4))]), ["total", Number(SPLITS.reduce((a, s) => a + sum(s), 0).toFixed(4))]]),
    speakers: Object.fromEntries(SPLITS.map((s) => [s, new Set(rows.filter((r) => r.split === s).map((r) => r.speaker)).size])),
    vocabulary: {
      capped: plan.vocab.length,
      used: used.size,
      perSplit: Object.fromEntries(SPLITS.map((s) => [s, new Set(wordsOf(s)).size])),
      testWordsUnseenInTrain: [...new Set(testTokens)].filter((w) => !trainWords.has(w)).length,
    },
    durationSeconds: {
      mean: Number((durs.reduce((a, b) => a + b, 0) / durs.length).toFixed(3)),
      min: durs[0]!,
      max: durs.at(-1)!,
      p50: q(0.5),
      p90: q(0.9),
    },
    homophenes: { ...hs, tokenHomopheneShare: Number(tokenHomopheneShare.toFixed(4)) },
    lmText: { lines: lm.lines.length, words: lm.lines.reduce((a, l) => a + l.split(" ").length, 0), removedHeldOut: lm.removed },
    unknownPhonemes: [...unknown].sort(),
  };
  writeFileAtomicSync(join(dir, "stats.json"), JSON.stringify(stats, null, 2) + "\n");
  log(
    `corpus ${plan.config.preset}: ${stats.hours.total} h, homophene share ${(hs.homopheneShare * 100).toFixed(1)}% ` +
      `vs homophone share ${(hs.homophoneShare * 100).toFixed(1)}% of test word types`,
  );
  return stats;
}

/** Bytes used by a folder (recursively), for the size report. */
export function folderBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const st = statSync(p);
    total += st.isDirectory() ? folderBytes(p) : st.size;
  }
  return total;
}
