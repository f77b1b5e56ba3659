import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { evalFileName } from "../../src/pipeline/eval-files.js";
import { EXPERIMENTS, cellDone, evalJsonPath, estimateParts, jobComplete, jobSecondsEstimator, measuredSecondsPerStep, planJobs, reproSize, trainingLeft, type TrainEvalParams } from "../../src/experiments/plan.js";

test("a run that resumes is estimated by the steps it has left, at its own pace once measured; a finished one trains no more", () => {
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

  // once it has trained 50 steps, a run is timed by its own pace (metrics.csv), not the cost model
  const header = "step,lr,loss,elapsed_s\n";
  writeFileSync(join(dir, "metrics.csv"), header + "1,0.1,5,2\n49,0.1,4,98\n");
  assert.equal(measuredSecondsPerStep(dir), undefined, "49 steps: too few to time");
  writeFileSync(join(dir, "metrics.csv"), header + "1,0.1,5,2\n1000,0.1,4,3000\n");
  assert.equal(measuredSecondsPerStep(dir), 3);
  assert.ok(Math.abs(est(job) - (3 * 4000 * 0.75 + parts.eval)) < 1e-6, "3 s/step, 3,000 steps left");

  writeFileSync(join(dir, "checkpoints", "latest.json"), "{not json");
  assert.equal(trainingLeft(dir, 4000), 1, "an unreadable pointer counts as no progress (the safe side)");
  assert.ok(Math.abs(est(job) - (3 * 4000 + parts.eval)) < 1e-6);
  writeFileSync(join(dir, "done.json"), "{}");
  assert.equal(trainingLeft(dir, 4000), 0);
  assert.ok(Math.abs(est(job) - parts.eval) < 1e-6, "done: only its evaluation part remains in the estimate");
  // a job marked done is complete only with every planned cell; the estimate counts the missing cells
  const p = job.params as unknown as TrainEvalParams;
  assert.equal(jobComplete(root, job), false);
  mkdirSync(join(dir, "eval"), { recursive: true });
  const result = (c: (typeof p.cells)[number]) => ({ split: "test", beam: p.beam, maxNewTokens: p.maxNewTokens, utterances: p.evalLimit, ...(c.ctcDecode ? { ctcDecodeWeight: c.ctcDecode, ctcHeads: { use: ["audio"], coverage: {} } } : {}), ...(c.lexDecode ? { lexiconDecode: { weight: c.lexDecode, proposals: c.lexProposals } } : {}), ...(c.lengthPenalty !== undefined ? { lengthPenalty: c.lengthPenalty } : {}) });
  for (const c of p.cells) writeFileSync(evalJsonPath(dir, c, p.beam), JSON.stringify(result(c)));
  assert.equal(jobComplete(root, job), true);
  assert.equal(est(job), 0);
  const last = p.cells[p.cells.length - 1]!;
  writeFileSync(evalJsonPath(dir, last, p.beam), JSON.stringify({ ...result(last), utterances: 1 }));
  assert.equal(jobComplete(root, job), false, "a cell missing (the plan grew): not complete");
  assert.ok(Math.abs(est(job) - estimateParts({ ...p, cells: [last] }).eval) < 1e-6, "only the missing cell is estimated");
});

test("a planned cell is looked up under the name evaluation writes, and counts as done only with the plan's decoding settings", async () => {
  const { evalName } = await import("../../src/pipeline/eval.js");
  const jobs = planJobs(EXPERIMENTS, reproSize("default"));
  const cells = jobs.flatMap((j) => (j.params as unknown as TrainEvalParams).cells);
  assert.ok(cells.length > 100 && cells.some((c) => c.snr !== null));
  assert.ok(cells.some((c) => c.ctcDecode) && cells.some((c) => !c.ctcDecode), "attention-only and joint CTC/attention cells");
  assert.ok(cells.some((c) => c.lexDecode), "cells with lexicon scoring");
  for (const c of cells) assert.equal(basename(evalJsonPath("/r", c)), `${evalFileName({ task: c.task, rates: { audio: c.audio, video: c.video }, snr: c.snr, noise: "babble", ctcDecode: c.ctcDecode, lexDecode: c.lexDecode, lexProposals: c.lexProposals, lengthPenalty: c.lengthPenalty })}.json`);
  for (const c of cells.filter((c) => c.lexDecode)) assert.match(basename(evalJsonPath("/r", c)), /_lexdec[\d.]+_prop\d+_lp0\.json$/, "the lexicon cells name their proposals and length penalty");
  for (const c of cells.filter((c) => !c.lexDecode)) assert.equal(basename(evalJsonPath("/r", c)), `${evalName(c.task, { audio: c.audio, video: c.video }, c.snr, "babble", c.ctcDecode)}.json`);

  const dir = mkdtempSync(join(tmpdir(), "cell-"));
  const cell = { task: "avsr" as const, audio: 4, video: 2, snr: 0 };
  const plan = { evalLimit: 300, beam: 4, maxNewTokens: 32 };
  assert.equal(cellDone(dir, cell, plan), false, "no file");
  mkdirSync(join(dir, "eval"));
  const write = (j: object) => writeFileSync(evalJsonPath(dir, cell), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ...j }));
  write({});
  assert.equal(cellDone(dir, cell, plan), true);
  for (const other of [{ beam: 1 }, { maxNewTokens: 16 }, { utterances: 100 }, { split: "val" }]) {
    write(other);
    assert.equal(cellDone(dir, cell, plan), false, JSON.stringify(other));
  }
  const joint = { ...cell, ctcDecode: 0.3 };
  writeFileSync(evalJsonPath(dir, joint), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ctcDecodeWeight: 0.3 }));
  assert.equal(cellDone(dir, joint, plan), false, "a joint-decoding result that does not name its CTC heads is from before the coverage rule");
  writeFileSync(evalJsonPath(dir, joint), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ctcDecodeWeight: 0.3, ctcHeads: { use: ["audio"], coverage: { audio: 1 } } }));
  assert.equal(cellDone(dir, joint, plan), true, "a joint-decoding cell, under its own name");
  writeFileSync(evalJsonPath(dir, joint), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300 }));
  assert.equal(cellDone(dir, joint, plan), false, "attention-only decoding is not the joint cell");
  const lex = { ...joint, lexDecode: 0.2 };
  const heads = { ctcDecodeWeight: 0.3, ctcHeads: { use: ["audio"], coverage: { audio: 1 } } };
  writeFileSync(evalJsonPath(dir, lex), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ...heads, lexiconDecode: { weight: 0.2 } }));
  assert.equal(cellDone(dir, lex, plan), true, "a lexicon-scoring cell, under its own name");
  writeFileSync(evalJsonPath(dir, lex), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ...heads, lexiconDecode: { weight: 0.3 } }));
  assert.equal(cellDone(dir, lex, plan), false, "another μ is not the cell");
  // with proposals and a length penalty: named in the file, and both must match
  const prop = { ...lex, lexProposals: 8, lengthPenalty: 0 };
  assert.match(basename(evalJsonPath(dir, prop)), /_lexdec0\.2_prop8_lp0\.json$/);
  writeFileSync(evalJsonPath(dir, prop), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ...heads, lexiconDecode: { weight: 0.2, proposals: 8 }, lengthPenalty: 0 }));
  assert.equal(cellDone(dir, prop, plan), true, "a cell with lexicon proposals");
  writeFileSync(evalJsonPath(dir, prop), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ...heads, lexiconDecode: { weight: 0.2, proposals: 4 }, lengthPenalty: 0 }));
  assert.equal(cellDone(dir, prop, plan), false, "other proposals are not the cell");
  writeFileSync(evalJsonPath(dir, prop), JSON.stringify({ split: "test", beam: 4, maxNewTokens: 32, utterances: 300, ...heads, lexiconDecode: { weight: 0.2, proposals: 8 } }));
  assert.equal(cellDone(dir, prop, plan), false, "another length penalty is not the cell");
  writeFileSync(evalJsonPath(dir, cell), "{ half-written");
  assert.equal(cellDone(dir, cell, plan), false, "an unreadable result is redone");
});

test("the levers experiment: Table I's runs plus one run per lever, each scored clean and at 0 dB", async () => {
  const { experimentRuns, LEVER_VARIANTS, LEVER_CTC_DECODE, LEVER_LEXICON, table1Cells } = await import("../../src/experiments/plan.js");
  const { resolveRunConfig } = await import("../../src/pipeline/config.js");
  const size = reproSize("default");
  const levers = experimentRuns("levers", size);
  assert.equal(levers.length, 2 * LEVER_VARIANTS.length + 3, "Llama-AVSR ASR and AVSR per variant; Omni-AVSR-ST without levers, with both, and with both + splice");
  const ids = levers.map((r) => resolveRunConfig(r.train).runId);
  assert.equal(new Set(ids).size, ids.length, "every variant is its own run");
  const table1 = new Set(experimentRuns("table1", size).map((r) => resolveRunConfig(r.train).runId));
  assert.deepEqual(
    ids.filter((id) => table1.has(id)),
    ["default-llama-avsr-asr-a4-v2-tiny-s0", "default-llama-avsr-avsr-a4-v2-tiny-s0", "default-omni-st-a4_16-v2_5-tiny-s0"],
    "the paper's input is Table I's own run, not trained again",
  );
  assert.ok(ids.filter((id) => !table1.has(id)).every((id) => /-ctcemb(-splice16)?-s0$/.test(id)), ids.join(", "));
  assert.deepEqual(
    ids.filter((id) => id.includes("splice")),
    ["default-llama-avsr-asr-a4-v2-tiny-ctc0.5-ctcemb-splice16-s0", "default-llama-avsr-avsr-a4-v2-tiny-ctc0.5-ctcemb-splice16-s0", "default-omni-st-a4_16-v2_5-tiny-ctc0.5-ctcemb-splice16-s0"],
    "splicing on the separate models and the unified one",
  );
  assert.ok(ids.includes("default-omni-st-a4_16-v2_5-tiny-ctc0.5-ctcemb-s0"), "the unified model with ctc-embed + auxiliary CTC");
  for (const r of levers) {
    const snrs = r.cells.map((c) => c.snr);
    assert.ok(snrs.includes(null) && snrs.includes(0), "clean and 0 dB");
  }
  // a full rebuild trains the paper's runs first: every lever run comes after all of them
  const order = planJobs(EXPERIMENTS, size).map((j) => j.id);
  const leverIds = ids.filter((id) => !table1.has(id));
  const lastPaper = Math.max(...order.map((id, i) => (leverIds.includes(id) ? -1 : i)));
  for (const id of leverIds) assert.ok(order.indexOf(id) > lastPaper, `${id} is planned before a paper run`);
  const omni = levers.filter((r) => r.train.method === "omni-st");
  for (const r of omni) assert.equal(r.cells.filter((c) => c.snr === null && !c.ctcDecode).length, table1Cells(size).length);
  // runs with the auxiliary CTC head are also scored with joint CTC/attention decoding, every cell of
  // theirs; the splice runs a third time, with lexicon scoring too
  for (const r of levers) {
    const plain = r.cells.filter((c) => !c.ctcDecode && !c.lexDecode);
    const joint = r.cells.filter((c) => c.ctcDecode && !c.lexDecode);
    const lex = r.cells.filter((c) => c.lexDecode);
    if ((r.train.ctcWeight ?? 0) > 0) assert.deepEqual(joint, plain.map((c) => ({ ...c, ctcDecode: LEVER_CTC_DECODE })));
    else assert.equal(joint.length, 0);
    const recipe = { ctcDecode: LEVER_LEXICON.ctcDecode, lexDecode: LEVER_LEXICON.weight, lexProposals: LEVER_LEXICON.proposals, lengthPenalty: LEVER_LEXICON.lengthPenalty };
    if ((r.train.splice ?? 0) > 0) assert.deepEqual(lex, plain.map((c) => ({ ...c, ...recipe })));
    else assert.equal(lex.length, 0);
  }
});
