import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import { decodeSafetensors, encodeSafetensors, latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";
import { spawnSync } from "node:child_process";
import { transcribe } from "../../src/eval/decode.js";
import { corpusWer } from "../../src/eval/wer.js";
import { disposeSamples } from "../../src/train/synthetic.js";
import { trainStep } from "../../src/train/trainer.js";
import { AdamW } from "../../src/train/optim.js";
import type { StepPlan } from "../../src/train/methods.js";
import { makeSetup } from "./fixture.js";
import { runKillableChild } from "../helpers/kill-at-checkpoint.js";

const here = dirname(fileURLToPath(import.meta.url));

before(async () => {
  await initBackend({ warn: () => {} });
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "omni-train-"));
}

function paramsOf(dir: string): Map<string, Float32Array> {
  const ck = loadCheckpoint(dir);
  return new Map([...ck.params].map(([k, r]) => [k, r.data as Float32Array]));
}

function metricRows(runDir: string): string[] {
  // step .. tokens (timing columns differ between runs)
  return readFileSync(join(runDir, "metrics.csv"), "utf8").trim().split("\n").map((l) => l.split(",").slice(0, 11).join(","));
}

test("safetensors layout: 8-byte LE header length, JSON header, raw LE data; round trip", () => {
  const f = new Float32Array([1.5, -2, 3.25, 0]);
  const i = new Int32Array([7, -9]);
  const bytes = encodeSafetensors([["w", { dtype: "F32", shape: [2, 2], data: f }], ["ids", { dtype: "I32", shape: [2], data: i }]], { step: "3" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header.w, { dtype: "F32", shape: [2, 2], data_offsets: [0, 16] });
  assert.deepEqual(header.ids, { dtype: "I32", shape: [2], data_offsets: [16, 24] });
  assert.deepEqual(header.__metadata__, { step: "3" });
  assert.equal(bytes.length, 8 + n + 24);
  assert.equal(new DataView(bytes.buffer).getFloat32(8 + n + 4, true), -2);
  const back = decodeSafetensors(bytes);
  assert.deepEqual(Array.from(back.tensors.get("w")!.data), Array.from(f));
  assert.deepEqual(Array.from(back.tensors.get("ids")!.data), Array.from(i));
});

test("resume after stopping continues exactly (in process) and memory stays flat", () => {
  const a = tmp();
  const b = tmp();
  try {
    const full = makeSetup({ runDir: a, steps: 6, dropout: 0.1 });
    full.trainer.run(full.provider, 2);
    const n0 = tf.memory().numTensors;
    full.trainer.run(full.provider, 6);
    assert.equal(tf.memory().numTensors, n0, "no tensor leak across steps");
    full.dispose();

    const first = makeSetup({ runDir: b, steps: 6, dropout: 0.1 });
    first.trainer.run(first.provider, 3);
    first.dispose();
    const second = makeSetup({ runDir: b, steps: 6, dropout: 0.1 });
    assert.equal(second.trainer.resume(), 3);
    second.trainer.run(second.provider, 6);
    second.dispose();

    const pa = paramsOf(latestCheckpoint(join(a, "checkpoints"))!);
    const pb = paramsOf(latestCheckpoint(join(b, "checkpoints"))!);
    assert.ok(pa.size > 0);
    for (const [k, v] of pa) assert.deepEqual(pb.get(k), v, k);
    assert.deepEqual(metricRows(b), metricRows(a));
    // the clock (elapsed_s) runs on across segments of one process and across a resume
    for (const dir of [a, b]) {
      const elapsed = readFileSync(join(dir, "metrics.csv"), "utf8").trim().split("\n").slice(1).map((l) => Number(l.split(",")[12]));
      assert.equal(elapsed.length, 6);
      for (let i = 1; i < elapsed.length; i++) assert.ok(elapsed[i]! >= elapsed[i - 1]!, `${dir}: elapsed_s ${elapsed.join(" ")}`);
    }
    const ck = loadCheckpoint(latestCheckpoint(join(b, "checkpoints"))!);
    assert.equal(ck.state.step, 6);
    assert.equal(ck.state.optimizer.t, 6);
    assert.ok(ck.m.size > 0 && ck.v.size === ck.m.size);
    assert.ok(ck.tokenizer, "tokeniser saved");
    assert.ok(existsSync(join(b, "config.json")));
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

function runChild(runDir: string, steps: number, killAt?: number): Promise<{ out: string; killed: boolean }> {
  return runKillableChild([join(here, "kill-child.ts")], {
    env: { ...process.env, RUN_DIR: runDir, STEPS: String(steps), SLOW_MS: killAt ? "100" : "0" },
  }, killAt);
}

test("checkpoints: the newest `keep` are kept, and half-written folders of dead processes are removed", () => {
  const root = tmp();
  try {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, "w");
    const save = (step: number) =>
      saveCheckpoint(root, { params: [["w", w]], optimizer: { m: new Map(), v: new Map() }, state: { step, optimizer: { t: step, config: {} }, rng: {} }, config: {} }, 2);
    // a folder left by a process killed while writing, and one of a process that still runs
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    mkdirSync(join(root, `.step-00000003.${dead}.1700000000000.tmp`), { recursive: true });
    mkdirSync(join(root, `.step-00000003.${process.ppid}.1700000000000.tmp`));
    for (const step of [1, 2, 3, 4]) save(step);
    assert.deepEqual(readdirSync(root).sort(), [`.step-00000003.${process.ppid}.1700000000000.tmp`, "latest.json", "step-00000003", "step-00000004"]);
    assert.equal(loadCheckpoint(latestCheckpoint(root)!).state.step, 4);
    w.dispose();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a run killed with SIGKILL and resumed equals an uninterrupted run", async () => {
  const a = tmp();
  const b = tmp();
  try {
    const steps = 7;
    const [whole, killedRun] = await Promise.all([runChild(a, steps), runChild(b, steps, 2)]);
    assert.ok(whole.out.includes("done"));
    assert.ok(killedRun.killed && !killedRun.out.includes("done"), "the second run was killed mid-way");
    // no half-written checkpoint is visible: latest.json names a complete folder
    const mid = latestCheckpoint(join(b, "checkpoints"))!;
    const midStep = loadCheckpoint(mid).state.step;
    assert.ok(midStep >= 2 && midStep < steps, `killed at step ${midStep}`);
    const resumed = await runChild(b, steps);
    assert.ok(resumed.out.includes(`resumed ${midStep}`) && resumed.out.includes("done"));
    const pa = paramsOf(latestCheckpoint(join(a, "checkpoints"))!);
    const pb = paramsOf(latestCheckpoint(join(b, "checkpoints"))!);
    for (const [k, v] of pa) assert.deepEqual(pb.get(k), v, k);
    assert.deepEqual(metricRows(b), metricRows(a));
    // no half-written folder is left, not even one of the killed process
    assert.deepEqual(readdirSync(join(b, "checkpoints")).filter((d) => d.endsWith(".tmp")), []);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test("a training step optimises Σ λ·L / divisor: its loss and gradient norm equal the weighted objective's", () => {
  const dir = tmp();
  try {
    const s = makeSetup({ runDir: dir, seed: 11, batch: 3 });
    const samples = s.provider(0, new Rng(3));
    const rates = { audio: 8, video: 1 };
    const params = s.model.trainableParameters();
    // the objective by hand: the three task losses, weighted (1, 1.5, 1) and divided by 3, and the
    // global norm of its gradient over the trainable parameters
    const byHand = (w: number[], div: number) => {
      const { value, grads } = tf.variableGrads(() => {
        const ls = (["asr", "vsr", "avsr"] as const).map((t, i) => tf.mul(s.model.loss(samples, t, rates), w[i]!));
        return tf.div(tf.addN(ls), div) as tf.Scalar;
      }, params.map(([, v]) => v));
      const g = Object.values(grads);
      const norm = Math.sqrt(g.reduce((acc, t) => acc + (tf.sum(tf.square(t)).dataSync()[0] ?? 0), 0));
      const loss = value.dataSync()[0]!;
      tf.dispose([value, ...g]);
      return { loss, norm };
    };
    const L = Object.fromEntries((["asr", "vsr", "avsr"] as const).map((t) => [t, tf.tidy(() => s.model.loss(samples, t, rates).dataSync()[0]!)]));
    for (const [w, div] of [[[1, 1.5, 1], 3], [[0, 1, 0], 1], [[2, 0, 1], 4]] as const) {
      const plan: StepPlan = { passes: (["asr", "vsr", "avsr"] as const).map((task, i) => ({ task, rates, weight: w[i]! })), divisor: div };
      const want = byHand([...w], div);
      // lr 0 and no weight decay: the step reads the objective without moving the parameters
      const r = trainStep(s.model, new AdamW({ beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0 }), samples, plan, 0, 1e9);
      assert.ok(Math.abs(r.loss - (w[0]! * L.asr! + w[1]! * L.vsr! + w[2]! * L.avsr!) / div) < 1e-5, `loss ${r.loss} for λ ${w} / ${div}`);
      assert.ok(Math.abs(r.loss - want.loss) < 1e-5);
      assert.ok(Math.abs(r.gradNorm - want.norm) < 1e-4 * Math.max(1, want.norm), `grad norm ${r.gradNorm} vs ${want.norm} for λ ${w} / ${div}`);
      for (const t of ["asr", "vsr", "avsr"] as const) assert.ok(Math.abs(r.perTask[t] - L[t]!) < 1e-5, t);
    }
    s.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a tiny Omni-AVSR model learns a tiny task: every task's loss falls", () => {
  const dir = tmp();
  try {
    const s = makeSetup({ runDir: dir, steps: 30, scheduleSteps: 60, batch: 8, dim: 32, lr: 1e-2, checkpointEvery: 1000, seed: 5, tokens: [20, 21, 22, 23], minLen: 1, maxLen: 1, loraR: 8 });
    const first = s.trainer.run(s.provider, 1)!;
    const last = s.trainer.run(s.provider, 30)!;
    assert.ok(last.loss < first.loss * 0.3, `loss ${first.loss} -> ${last.loss}`);
    for (const t of ["asr", "vsr", "avsr"] as const) assert.ok(last.perTask[t] < first.perTask[t] * 0.4, `${t}: ${first.perTask[t]} -> ${last.perTask[t]}`);
    s.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a tiny model learns to transcribe: greedy decoding of held-out samples after training", () => {
  const dir = tmp();
  try {
    const s = makeSetup({ runDir: dir, method: "llama-avsr", task: "asr", steps: 60, batch: 8, dim: 32, lr: 1e-2, checkpointEvery: 1000, seed: 5, tokens: [20, 21, 22, 23], minLen: 1, maxLen: 1, loraR: 8 });
    const rng = new Rng(77);
    const samples = Array.from({ length: 12 }, () => s.task.sample(rng));
    const werOf = () => {
      const hyps = transcribe(s.model, samples, "asr", { audio: 4, video: 2 }, { maxNewTokens: 6 });
      return corpusWer(samples.map((x, i) => ({ ref: x.transcript!.join(" "), hyp: hyps[i]!.join(" ") }))).rate;
    };
    const before = werOf();
    s.trainer.run(s.provider, 60);
    const after = werOf();
    assert.ok(before >= 0.5, `untrained WER ${before}`);
    assert.ok(after <= 0.1, `trained WER ${after}`);
    disposeSamples(samples);
    s.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
