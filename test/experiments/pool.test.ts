import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expandGrid, jobId, makeJobs, runJobs } from "../../src/experiments/index.js";

const FIXTURE = "test/experiments/fixtures/jobs.ts";

function marks(path: string): number[] {
  return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").filter(Boolean).map(Number).sort((a, b) => a - b) : [];
}

test("expandGrid is the cartesian product in axis order; ids are stable and readable", () => {
  const g = expandGrid({ method: ["omni-st", "llama-mt"], seed: [0, 1] });
  assert.deepEqual(g, [
    { method: "omni-st", seed: 0 }, { method: "omni-st", seed: 1 },
    { method: "llama-mt", seed: 0 }, { method: "llama-mt", seed: 1 },
  ]);
  assert.equal(jobId("train", { seed: 1, rates: [4, 2], method: "omni-st" }), "train/method=omni-st,rates=4-2,seed=1");
  assert.equal(jobId("train", { seed: 1, method: "omni-st", rates: [4, 2] }), "train/method=omni-st,rates=4-2,seed=1");
  assert.throws(() => expandGrid({ a: [] }), /axis "a" has no values/);
  assert.throws(() => makeJobs("k", "m", "f", [{ a: 1 }, { a: 1 }]), /two jobs with the id k\/a=1/);
});

test("the pool runs every job once on two processes, and a re-run skips what is done", async () => {
  const root = mkdtempSync(join(tmpdir(), "pool-"));
  const m = join(root, "marks.txt");
  const jobs = makeJobs("sq", FIXTURE, "square", [1, 2, 3, 4].map((x) => ({ x, marks: m })));
  const lines: string[] = [];
  const out = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, log: (l) => lines.push(l) });
  assert.deepEqual(out.map((o) => o.status), ["done", "done", "done", "done"]);
  assert.deepEqual(out.map((o) => (o.result as { y: number }).y), [1, 4, 9, 16]);
  assert.equal(new Set(out.map((o) => (o.result as { pid: number }).pid)).size, 4, "each job in its own process");
  assert.deepEqual(marks(m), [1, 2, 3, 4]);
  assert.equal(readFileSync(join(out[2]!.runDir, "out.txt"), "utf8"), "9");
  assert.ok(readFileSync(join(out[0]!.runDir, "job.log"), "utf8").includes("squared 1"));
  assert.ok(lines.some((l) => /^\[pool\] jobs 4\/4 .* eta/.test(l)));

  const again = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, log: () => {} });
  assert.deepEqual(again.map((o) => o.status), ["skipped", "skipped", "skipped", "skipped"]);
  assert.deepEqual(again.map((o) => (o.result as { y: number }).y), [1, 4, 9, 16]);
  assert.deepEqual(marks(m), [1, 2, 3, 4], "nothing ran twice");
});

test("a failed job is reported with its log, its dependants are blocked, the rest still runs; a re-run resumes", async () => {
  const root = mkdtempSync(join(tmpdir(), "pool-"));
  const m = join(root, "marks.txt");
  const flag = join(root, "fail-flag");
  writeFileSync(flag, "");
  const jobs = makeJobs("sq", FIXTURE, "square", [
    { x: 1, marks: m },
    { x: 2, marks: m, failIf: "POOL_TEST_FAIL" },
    { x: 3, marks: m },
  ]);
  jobs[2]!.after = [jobs[1]!.id];
  const out = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, env: { POOL_TEST_FAIL: "1" }, log: () => {} });
  assert.deepEqual(out.map((o) => o.status), ["done", "failed", "blocked"]);
  assert.match(out[1]!.error!, /asked to fail \(POOL_TEST_FAIL\).*job\.log/);
  assert.match(out[2]!.error!, /waits for sq\/failIf=POOL_TEST_FAIL,marks=.*,x=2/);
  // The cause is fixed: the re-run runs only what did not finish.
  const again = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, env: { POOL_TEST_FAIL: "" }, log: () => {} });
  assert.deepEqual(again.map((o) => o.status), ["skipped", "done", "done"]);
  assert.deepEqual(marks(m), [1, 2, 2, 3]);
});

test("a deadline starts only the jobs that fit before it (first that fits, in order); the rest are deferred and a later run starts them", async () => {
  const root = mkdtempSync(join(tmpdir(), "pool-"));
  const m = join(root, "marks.txt");
  // estimated seconds: 3600, 1, 1, 1; job 4 waits for job 1
  const jobs = makeJobs("sq", FIXTURE, "square", [1, 2, 3, 4].map((x) => ({ x, marks: m })));
  jobs.forEach((j, i) => (j.cost = i === 0 ? 3600 : 1));
  jobs[3]!.after = [jobs[0]!.id];
  const lines: string[] = [];
  const deadline = Date.now() + 60_000;
  const out = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, deadline, log: (l) => lines.push(l) });
  assert.deepEqual(out.map((o) => o.status), ["deferred", "done", "done", "deferred"]);
  assert.match(out[0]!.error!, /not started: estimated 1h00m.*does not fit before the deadline/);
  assert.match(out[3]!.error!, /waits for a deferred or parked job/);
  assert.deepEqual(marks(m), [2, 3], "the deferred jobs did not run");
  assert.ok(lines.some((l) => /\[pool\] deadline .* 2 job\(s\) deferred/.test(l)));
  // the estimate is the caller's: with a smaller one (or no deadline) the next run does the rest
  const again = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, deadline, secondsOf: () => 1, log: () => {} });
  assert.deepEqual(again.map((o) => o.status), ["done", "skipped", "skipped", "done"]);
  assert.deepEqual(marks(m), [1, 2, 3, 4]);
});

test("with park, jobs that do not fit start anyway and are stopped at the deadline (parked, not failed); the next run starts them again", async () => {
  const root = mkdtempSync(join(tmpdir(), "pool-"));
  const m = join(root, "marks.txt");
  const jobs = makeJobs("slow", FIXTURE, "slow", [{ x: 1, marks: m, ms: 60_000 }, { x: 2, marks: m, ms: 60_000 }, { x: 3, marks: m, ms: 10 }]);
  jobs.forEach((j) => (j.cost = 3600));
  const t0 = Date.now();
  const lines: string[] = [];
  const out = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, deadline: Date.now() + 4000, park: true, log: (l) => lines.push(l) });
  assert.ok(Date.now() - t0 < 30_000, "stopped at the deadline, not after the jobs' minute");
  assert.deepEqual(out.map((o) => o.status), ["parked", "parked", "deferred"]);
  assert.match(out[0]!.error!, /stopped at the deadline; resumes from .*checkpoints/);
  assert.match(out[2]!.error!, /the deadline \(.*\) had passed/);
  assert.ok(existsSync(join(out[0]!.runDir, "started.txt")) && !existsSync(join(out[0]!.runDir, "done.json")));
  assert.ok(lines.some((l) => /\[pool\] parked slow\/.*x=1/.test(l)));
  // without park the same deadline defers them: nothing starts
  const again = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, deadline: Date.now() + 4000, log: () => {} });
  assert.deepEqual(again.map((o) => o.status), ["deferred", "deferred", "deferred"]);
  assert.deepEqual(marks(m), [1, 2]);
});

test("with park, one core goes first to the longest job that spans sessions; the others keep the jobs' order", async () => {
  const root = mkdtempSync(join(tmpdir(), "pool-"));
  const m = join(root, "marks.txt");
  // estimated: 60 s, 60 s, 2 h, 3 h against a 4 s deadline: jobs 3 and 4 span sessions
  const jobs = makeJobs("slow", FIXTURE, "slow", [1, 2, 3, 4].map((x) => ({ x, marks: m, ms: 60_000 })));
  jobs.forEach((j, i) => (j.cost = [60, 60, 7200, 10800][i]!));
  const lines: string[] = [];
  const out = await runJobs(jobs, { root: join(root, "runs"), concurrency: 2, deadline: Date.now() + 4000, park: true, log: (l) => lines.push(l) });
  const started = lines.filter((l) => l.startsWith("[pool] start ")).map((l) => Number(/x=(\d+)/.exec(l)![1]));
  assert.deepEqual(started, [4, 1], "the 3 h job first, then the first job in order (not the 2 h one: one spanning job at a time)");
  assert.deepEqual(out.map((o) => o.status), ["parked", "deferred", "deferred", "parked"]);
  // without park, the order is the jobs' own
  const root2 = mkdtempSync(join(tmpdir(), "pool-"));
  const quick = makeJobs("sq", FIXTURE, "square", [1, 2, 3].map((x) => ({ x, marks: join(root2, "m.txt") })));
  quick.forEach((j, i) => (j.cost = [1, 1, 5][i]!));
  const lines2: string[] = [];
  await runJobs(quick, { root: join(root2, "runs"), concurrency: 1, log: (l) => lines2.push(l) });
  assert.deepEqual(lines2.filter((l) => l.startsWith("[pool] start ")).map((l) => Number(/x=(\d+)/.exec(l)![1])), [1, 2, 3]);
});
