import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXPERIMENTS, estimateParts, jobSecondsEstimator, planJobs, reproSize, trainingLeft, type TrainEvalParams } from "../../src/experiments/plan.js";

test("a run that resumes is estimated by the steps it has left; a finished one trains no more", () => {
  const root = mkdtempSync(join(tmpdir(), "plan-"));
  const jobs = planJobs(EXPERIMENTS, reproSize("default"));
  const job = jobs[0]!;
  const dir = join(root, job.id);
  const est = jobSecondsEstimator(jobs, 2, root);
  const parts = estimateParts(job.params as unknown as TrainEvalParams);
  assert.ok(Math.abs(est(job) - (2 * parts.train + parts.eval)) < 1e-6, "no checkpoint: the whole run, training rescaled by 2");

  mkdirSync(join(dir, "checkpoints"), { recursive: true });
  writeFileSync(join(dir, "checkpoints", "latest.json"), JSON.stringify({ checkpoint: "step-001000", step: 1000 }));
  assert.equal(trainingLeft(dir, 4000), 0.75);
  assert.ok(Math.abs(est(job) - (2 * parts.train * 0.75 + parts.eval)) < 1e-6, "a quarter trained: three quarters left");

  writeFileSync(join(dir, "checkpoints", "latest.json"), "{not json");
  assert.equal(trainingLeft(dir, 4000), 1, "an unreadable pointer counts as no progress (the safe side)");
  writeFileSync(join(dir, "done.json"), "{}");
  assert.equal(trainingLeft(dir, 4000), 0);
  assert.ok(Math.abs(est(job) - parts.eval) < 1e-6, "done: only its evaluation part remains in the estimate");
});
