import { test } from "node:test";
import assert from "node:assert/strict";
import { findings, type Report } from "../../src/experiments/results.js";
import type { Row } from "../../src/report/csv.js";

const report = (name: string, rows: Row[]): Report => ({ name, title: name, tables: { [name]: rows }, figures: {}, notes: [], coverage: { expected: 0, present: 0 } });

// Omni-AVSR-ST over two seeds (std 0.5 everywhere) and the eight separate models
const ST: Row = { method: "Omni-AVSR-ST", asr_4: 20, asr_16: 25, vsr_2: 40, vsr_5: 45, avsr_4_2: 19, avsr_16_5: 24, avg: 30, train_minutes: 50 };
for (const c of ["asr_4", "asr_16", "vsr_2", "vsr_5", "avsr_4_2", "avsr_16_5", "avg"]) ST[`${c}_std`] = 0.5;
const SEP: Row = { method: "Llama-AVSR", avg: 28, trained_models: 8, train_minutes: 100 };
const NOISE: Row[] = [
  { method: "Omni-AVSR-ST", task: "AVSR", rates: "4-2", clean: 19, "5dB": 22, "0dB": 30, "-5dB": 40 },
  { method: "Omni-AVSR-ST", task: "ASR", rates: "4", clean: 20, "5dB": 24, "0dB": 35, "-5dB": 50 },
];
const SCALING: Row[] = [
  { lm: "tiny", avg: 30 },
  { lm: "small", avg: 30.8 },
  { lm: "base", avg: 29 },
];

function verdicts(st: Row = ST, noise: Row[] = NOISE, scaling: Row[] = SCALING): Record<string, string> {
  const f = findings(report("table1", [st, SEP]), report("noise", noise), report("llm_scaling", scaling));
  const key = (s: string) => (s.startsWith("VSR worse") ? "vsr" : s.startsWith("AVSR no worse") ? "avsr" : s.startsWith("WER not lower") ? "rate" : s.startsWith("Unified") ? "unified" : s.startsWith("Under babble") ? "babble" : s.startsWith("Larger") ? "scaling" : s);
  return Object.fromEntries(f.map((x) => [key(x.finding), x.holds]));
}

test("findings: every check holds on numbers that show it", () => {
  assert.deepEqual(verdicts(), { vsr: "holds", avsr: "holds", rate: "holds", unified: "holds", babble: "holds", scaling: "holds" });
});

test("findings: a gap inside twice the seed spread does not count", () => {
  // VSR 0.9 above ASR with std 0.5: not clearly worse
  assert.equal(verdicts({ ...ST, vsr_2: 20.9 }).vsr, "does NOT hold");
  assert.equal(verdicts({ ...ST, vsr_2: 21.1 }).vsr, "holds");
  // AVSR may be up to 2 std above ASR
  assert.equal(verdicts({ ...ST, avsr_4_2: 20.9 }).avsr, "holds");
  assert.equal(verdicts({ ...ST, avsr_4_2: 21.1 }).avsr, "does NOT hold");
  // a higher rate clearly better than the lower one breaks the rate finding
  assert.equal(verdicts({ ...ST, asr_16: 18.9 }).rate, "does NOT hold");
  assert.equal(verdicts({ ...ST, asr_16: 19.1 }).rate, "holds");
});

test("findings: the unified-model margin is max(2, 2 std) + 10 % of the separate models' average", () => {
  // separate 28: margin = 2 + 2.8 = 4.8 at std 0.5
  assert.equal(verdicts({ ...ST, avg: 32.7 }).unified, "holds");
  assert.equal(verdicts({ ...ST, avg: 32.9 }).unified, "does NOT hold");
  // a seed std of 3 widens it to 6 + 2.8
  assert.equal(verdicts({ ...ST, avg: 36.7, avg_std: 3 }).unified, "holds");
  assert.equal(verdicts({ ...ST, avg: 36.9, avg_std: 3 }).unified, "does NOT hold");
});

test("findings: babble needs AVSR more than 2 points ahead at every SNR at or below 0 dB", () => {
  const close = NOISE.map((r) => (r.task === "ASR" ? { ...r, "0dB": 31.5 } : r));
  assert.equal(verdicts(ST, close).babble, "does NOT hold");
  // 5 dB is not among the low SNRs: a tie there changes nothing
  const tieAt5 = NOISE.map((r) => (r.task === "ASR" ? { ...r, "5dB": 22 } : r));
  assert.equal(verdicts(ST, tieAt5).babble, "holds");
});

test("findings: larger LMs may be at most 1 point worse than the next smaller one; missing results are n/a", () => {
  assert.equal(verdicts(ST, NOISE, [SCALING[0]!, { lm: "small", avg: 31.1 }, SCALING[2]!]).scaling, "does NOT hold");
  assert.equal(verdicts(ST, NOISE, [SCALING[0]!, { lm: "small", avg: null }, SCALING[2]!]).scaling, "n/a (missing results)");
  assert.equal(verdicts({ ...ST, vsr_2: null }).vsr, "n/a (missing results)");
  assert.equal(verdicts({ ...ST, avg: null }).unified, "n/a (missing results)");
});
