/**
 * Runs independent jobs in a local pool of child processes (one per core by default), each writing to
 * its own run folder. A job is done when `<runDir>/done.json` exists; re-running the pool skips done jobs,
 * so an interrupted experiment resumes. Dependencies (`after`) are honoured. Progress: jobs done/total,
 * the running ones, elapsed and ETA (weighted by each job's cost).
 *
 * A deadline (`deadline`, epoch ms) starts only the jobs whose estimated seconds (`secondsOf`, default
 * the job's cost) fit before it, taking the first that fits in the jobs' order; the rest are
 * "deferred", not failed, and a later run of the pool starts them. For a session of fixed length: no
 * job is cut off half-way (a killed job resumes from its checkpoints, but those may not outlive the
 * machine). With `park`, the jobs that do not fit start as well and every job still running at the
 * deadline is stopped there ("parked"): it resumes from its last checkpoint, which the caller carries to
 * the next machine (a run longer than any one session gets done that way). With `park`, one core also
 * goes first to the longest job that cannot finish before the deadline (it spans sessions whatever the
 * order, so it is the grid's critical path: starting it last would add sessions); the other cores take
 * the jobs in order.
 *
 * The child is `scripts/run-job.ts`, which imports the job's module and calls its function with
 * (params, runDir); the function's return value (JSON) is written to done.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, createWriteStream } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import type { JobSpec } from "./grid.js";
import { repoRoot } from "../util/paths.js";
import { formatDuration } from "../util/progress.js";

export interface PoolOptions {
  /** Root folder of run folders: a job runs in `<root>/<job.id>`. */
  root: string;
  /** Jobs at once (default: the number of cores). */
  concurrency?: number;
  /** Extra environment for the children (OMNI_THREADS=1 is set unless given). */
  env?: NodeJS.ProcessEnv;
  /** Where the pool's lines go (default stderr). */
  log?: (line: string) => void;
  /** Forward the children's output lines (prefixed with the job id) to `log` (default true). */
  echo?: boolean;
  /** Stop starting new jobs after the first failure (default false: run all that can run). */
  failFast?: boolean;
  /** Start no job that would not finish by then (epoch ms; estimate from `secondsOf`). */
  deadline?: number;
  /** Estimated seconds of a job, for the deadline (default: its cost). */
  secondsOf?: (job: JobSpec) => number;
  /** With a deadline: start the jobs that do not fit too, and stop the running ones at the deadline. */
  park?: boolean;
}

export type JobStatus = "done" | "skipped" | "failed" | "blocked" | "deferred" | "parked";

export interface JobOutcome {
  id: string;
  status: JobStatus;
  runDir: string;
  seconds: number;
  /** done.json content for done/skipped jobs. */
  result?: unknown;
  error?: string;
}

export function runDirOf(root: string, job: JobSpec): string {
  return join(root, job.id);
}

export function isDone(root: string, job: JobSpec): boolean {
  return existsSync(join(runDirOf(root, job), "done.json"));
}

export function readDone(root: string, job: JobSpec): unknown {
  return JSON.parse(readFileSync(join(runDirOf(root, job), "done.json"), "utf8"));
}

function checkGraph(jobs: readonly JobSpec[]): void {
  const ids = new Set(jobs.map((j) => j.id));
  if (ids.size !== jobs.length) throw new Error("runJobs: duplicate job ids");
  for (const j of jobs) for (const a of j.after ?? []) if (!ids.has(a)) throw new Error(`runJobs: ${j.id} waits for unknown job ${a}`);
}

function runChild(job: JobSpec, runDir: string, o: PoolOptions, log: (l: string) => void, started: (c: ChildProcess) => void): Promise<{ ok: boolean; error?: string }> {
  mkdirSync(runDir, { recursive: true });
  const script = join(repoRoot(), "scripts", "run-job.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script, job.module, job.fn, JSON.stringify(job.params), runDir], {
    cwd: repoRoot(),
    env: { OMNI_THREADS: "1", ...process.env, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started(child);
  const logFile = createWriteStream(join(runDir, "job.log"), { flags: "a" });
  let tail = "";
  const onData = (d: Buffer) => {
    const text = d.toString();
    logFile.write(text);
    tail = (tail + text).slice(-4000);
    if (o.echo ?? true) for (const line of text.split("\n")) if (line.trim()) log(`  [${job.id}] ${line}`);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      logFile.end();
      if (code === 0 && existsSync(join(runDir, "done.json"))) resolve({ ok: true });
      else {
        const lines = tail.trim().split("\n");
        const reason = lines.filter((l) => l.startsWith("job failed: ")).pop() ?? lines.slice(-3).join(" | ");
        const last = reason.replace(/^job failed: /, "");
        resolve({ ok: false, error: `exit ${code ?? signal}: ${last} (log: ${join(runDir, "job.log")})` });
      }
    });
  });
}

export async function runJobs(jobs: readonly JobSpec[], o: PoolOptions): Promise<JobOutcome[]> {
  checkGraph(jobs);
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const concurrency = Math.max(1, o.concurrency ?? cpus().length);
  const outcomes = new Map<string, JobOutcome>();
  const started = Date.now();
  const totalCost = jobs.reduce((s, j) => s + (j.cost ?? 1), 0);
  let doneCost = 0;
  let ranCost = 0;

  for (const j of jobs) {
    if (isDone(o.root, j)) {
      outcomes.set(j.id, { id: j.id, status: "skipped", runDir: runDirOf(o.root, j), seconds: 0, result: readDone(o.root, j) });
      doneCost += j.cost ?? 1;
    }
  }
  const skipped = outcomes.size;
  if (skipped > 0) log(`[pool] ${skipped}/${jobs.length} jobs already done (skipped)`);

  const pending = jobs.filter((j) => !outcomes.has(j.id));
  const running = new Map<string, Promise<void>>();
  let stop = false;

  const ready = (j: JobSpec) => (j.after ?? []).every((a) => {
    const s = outcomes.get(a)?.status;
    return s === "done" || s === "skipped";
  });
  const blockedBy = (j: JobSpec) => (j.after ?? []).find((a) => {
    const s = outcomes.get(a)?.status;
    return s === "failed" || s === "blocked";
  });

  const secondsOf = o.secondsOf ?? ((j: JobSpec) => j.cost ?? 1);
  const fits = (j: JobSpec) =>
    o.deadline === undefined || (o.park ? Date.now() < o.deadline : Date.now() + secondsOf(j) * 1000 <= o.deadline);
  // With park: at most one job at a time that spans sessions (estimated past the deadline) jumps the
  // queue, the longest first; the rest keep the jobs' order.
  const spanning = (j: JobSpec) => o.park === true && o.deadline !== undefined && Date.now() + secondsOf(j) * 1000 > o.deadline;
  const spanningRunning = new Set<string>();
  const pick = (): number => {
    const startable = pending.map((j, i) => ({ j, i })).filter(({ j }) => ready(j) && fits(j));
    if (spanningRunning.size === 0) {
      const long = startable.filter(({ j }) => spanning(j)).sort((a, b) => secondsOf(b.j) - secondsOf(a.j));
      if (long.length > 0) return long[0]!.i;
    }
    return startable.length > 0 ? startable[0]!.i : -1;
  };
  const children = new Map<string, ChildProcess>();
  const parked = new Set<string>();
  const parkTimer =
    o.park && o.deadline !== undefined
      ? setTimeout(() => {
          for (const [id, c] of children) {
            parked.add(id);
            log(`[pool] deadline: parking ${id}`);
            c.kill("SIGTERM");
          }
        }, Math.max(0, o.deadline - Date.now()))
      : undefined;

  const report = () => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = ranCost > 0 ? elapsed / ranCost : NaN;
    const eta = Number.isFinite(rate) ? formatDuration(rate * (totalCost - doneCost) / Math.min(concurrency, Math.max(1, pending.length + running.size))) : "?";
    const finished = [...outcomes.values()].length;
    log(`[pool] jobs ${finished}/${jobs.length} | running ${[...running.keys()].join(", ") || "-"} | elapsed ${formatDuration(elapsed)} | eta ${eta}`);
  };

  while (pending.length > 0 || running.size > 0) {
    // Jobs whose dependency failed can never run.
    for (let i = pending.length - 1; i >= 0; i--) {
      const dep = blockedBy(pending[i]!);
      if (dep) {
        const j = pending.splice(i, 1)[0]!;
        outcomes.set(j.id, { id: j.id, status: "blocked", runDir: runDirOf(o.root, j), seconds: 0, error: `waits for ${dep}, which did not finish` });
      }
    }
    while (!stop && running.size < concurrency) {
      const idx = pick();
      if (idx < 0) break;
      const job = pending.splice(idx, 1)[0]!;
      if (spanning(job)) spanningRunning.add(job.id);
      const runDir = runDirOf(o.root, job);
      const t0 = Date.now();
      log(`[pool] start ${job.id}`);
      const p = runChild(job, runDir, o, log, (c) => children.set(job.id, c)).then((r) => {
        const seconds = (Date.now() - t0) / 1000;
        running.delete(job.id);
        children.delete(job.id);
        spanningRunning.delete(job.id);
        if (!r.ok && parked.has(job.id)) {
          outcomes.set(job.id, { id: job.id, status: "parked", runDir, seconds, error: `stopped at the deadline; resumes from ${join(runDir, "checkpoints")}` });
          log(`[pool] parked ${job.id} after ${formatDuration(seconds)}`);
          return;
        }
        doneCost += job.cost ?? 1;
        ranCost += job.cost ?? 1;
        if (r.ok) outcomes.set(job.id, { id: job.id, status: "done", runDir, seconds, result: readDone(o.root, job) });
        else {
          outcomes.set(job.id, { id: job.id, status: "failed", runDir, seconds, error: r.error });
          log(`[pool] FAILED ${job.id}: ${r.error}`);
          if (o.failFast) stop = true;
        }
        log(`[pool] ${r.ok ? "done" : "failed"} ${job.id} in ${formatDuration(seconds)}`);
        report();
      });
      running.set(job.id, p);
    }
    if (running.size === 0) {
      // Nothing runs and nothing can start: the rest waits for the next run (deadline), or is blocked
      // (or we stopped after a failure).
      if (!stop && o.deadline !== undefined && (pending.some(ready) || parked.size > 0)) {
        const at = new Date(o.deadline).toISOString().slice(11, 16);
        for (const j of pending.splice(0)) {
          const why = !ready(j)
            ? "waits for a deferred or parked job"
            : o.park
              ? `the deadline (${at} UTC) had passed`
              : `estimated ${formatDuration(secondsOf(j))}, which does not fit before the deadline (${at} UTC)`;
          outcomes.set(j.id, { id: j.id, status: "deferred", runDir: runDirOf(o.root, j), seconds: 0, error: `not started: ${why}` });
        }
        log(`[pool] deadline ${at} UTC: ${[...outcomes.values()].filter((x) => x.status === "deferred").length} job(s) deferred to the next run`);
        break;
      }
      for (const j of pending.splice(0)) {
        outcomes.set(j.id, { id: j.id, status: "blocked", runDir: runDirOf(o.root, j), seconds: 0, error: stop ? "not started after a failure (failFast)" : "dependencies not met" });
      }
      break;
    }
    await Promise.race(running.values());
  }
  if (parkTimer) clearTimeout(parkTimer);
  return jobs.map((j) => outcomes.get(j.id)!);
}
