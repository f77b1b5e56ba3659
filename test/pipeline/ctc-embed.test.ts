import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CtcEmbedding } from "../../src/pipeline/ctc-embed.js";
import { resolveRunConfig } from "../../src/pipeline/config.js";
import { buildModel, disposeInputs } from "../../src/pipeline/model.js";
import { ensureSmokeModels } from "../helpers/smoke-models.js";
import { buildFeatureCache } from "../../src/features/cache.js";
import { disposeSamples, evalSamples, openEvalSet } from "../../src/pipeline/data.js";
import { readCsv } from "../../src/report/csv.js";
import { Rng } from "../../src/util/rng.js";

const repo = join(import.meta.dirname, "..", "..");
const root = mkdtempSync(join(tmpdir(), "omni-ctcemb-"));
const env = { ...process.env, OMNI_RESULTS_DIR: join(root, "results") };

before(async () => {
  await ensureSmokeModels();
  await buildFeatureCache({ preset: "smoke", log: () => {} });
});

function rand(rng: Rng, n: number, scale = 1): number[] {
  return Array.from({ length: n }, () => scale * rng.normal());
}

test("CTC embedding: [h ; s·Σ_{c≥1} p(c)·E[c−1]] with s = 1/RMS(E rows used), against a hand computation", () => {
  const rng = new Rng(7);
  const D = 3, C = 4, V = 5, d = 2, T = 3; // C classes = blank + 3 sub-words; the LM has 5 tokens
  const W = rand(rng, D * C), b = rand(rng, C), E = rand(rng, V * d, 0.1), H = rand(rng, T * D);
  const e = new CtcEmbedding(tf.tensor2d(W, [D, C]), tf.tensor1d(b), tf.tensor2d(E, [V, d]));
  assert.equal(e.outDim, D + d);
  const out = e.apply(tf.tensor2d(H, [T, D]));
  assert.deepEqual(out.shape, [T, D + d]);
  const got = out.arraySync();
  const used = E.slice(0, (C - 1) * d); // rows 0..C-2: the tokens classes 1..C-1 stand for
  const s = 1 / Math.sqrt(used.reduce((a, x) => a + x * x, 0) / used.length);
  for (let t = 0; t < T; t++) {
    const logits = Array.from({ length: C }, (_, c) => b[c]! + Array.from({ length: D }, (_, k) => H[t * D + k]! * W[k * C + c]!).reduce((a, x) => a + x, 0));
    const m = Math.max(...logits);
    const z = logits.reduce((a, l) => a + Math.exp(l - m), 0);
    const p = logits.map((l) => Math.exp(l - m) / z);
    for (let k = 0; k < D; k++) assert.ok(Math.abs(got[t]![k]! - H[t * D + k]!) < 1e-6, `frame ${t}: h[${k}] kept`);
    for (let j = 0; j < d; j++) {
      let want = 0;
      for (let c = 1; c < C; c++) want += p[c]! * E[(c - 1) * d + j]! * s;
      assert.ok(Math.abs(got[t]![D + j]! - want) < 1e-5, `frame ${t}, dim ${j}: ${got[t]![D + j]} vs ${want}`);
    }
  }
  e.dispose();
});

test("CTC embedding: a confident frame gives its token's scaled embedding, a blank one nothing; bad shapes are refused", () => {
  const D = 2, C = 3, d = 2;
  // frame features select the class directly: logits = 50 * h
  const W = tf.tensor2d([50, 0, 0, 0, 50, 0], [D, C]);
  const E = tf.tensor2d([3, 4, 0, 0, 9, 9], [3, d]); // rows used: [3,4] and [0,0]; RMS = sqrt(25/4) = 2.5
  const e = new CtcEmbedding(W, tf.zeros([C]) as tf.Tensor1D, E);
  const got = e.apply(tf.tensor2d([1, 0, 0, 1], [2, D])).arraySync();
  assert.ok(Math.abs(got[0]![2]!) < 1e-6 && Math.abs(got[0]![3]!) < 1e-6, "blank frame: no embedding");
  assert.ok(Math.abs(got[1]![2]! - 3 / 2.5) < 1e-5 && Math.abs(got[1]![3]! - 4 / 2.5) < 1e-5, "class 1 -> token 0 embedding / RMS");
  assert.throws(() => e.apply(tf.zeros([2, 3]) as tf.Tensor2D), /frames are 3 wide, the CTC head expects 2/);
  assert.throws(() => new CtcEmbedding(W, tf.zeros([C]) as tf.Tensor1D, tf.zeros([1, d]) as tf.Tensor2D, "enc"), /enc: the CTC head has 2 sub-word classes but the LM only 1/);
  e.dispose();
});

test("run config: audioInput ctc-embed shows in the run id and config, features leaves both as before", () => {
  const plain = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "asr", audioRates: [4], videoRates: [2] });
  assert.equal(plain.runId, "default-llama-avsr-asr-a4-v2-tiny-s0");
  assert.ok(!("audioInput" in plain), "committed runs' config.json stay valid");
  assert.ok(!("audioInput" in resolveRunConfig({ method: "omni-st", preset: "smoke", audioInput: "features" })));
  const c = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "asr", audioRates: [4], videoRates: [2], audioInput: "ctc-embed" });
  assert.equal(c.audioInput, "ctc-embed");
  assert.equal(c.runId, "default-llama-avsr-asr-a4-v2-tiny-ctcemb-s0");
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "smoke", audioInput: "ctc-embed", audioSource: "oracle" }), /not the oracle/);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "smoke", audioInput: "posteriors" as never }), /audioInput must be/);
  const v = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "vsr", audioRates: [4], videoRates: [2], videoInput: "ctc-embed" });
  assert.equal(v.videoInput, "ctc-embed");
  assert.ok(!("audioInput" in v));
  assert.equal(v.runId, "default-llama-avsr-vsr-a4-v2-tiny-vctcemb-s0");
  assert.ok(!("videoInput" in resolveRunConfig({ method: "omni-st", preset: "smoke", videoInput: "features" })));
  assert.equal(resolveRunConfig({ method: "omni-st", preset: "smoke", audioInput: "ctc-embed", videoInput: "ctc-embed" }).runId, "smoke-omni-st-a4_16-v2_5-tiny-ctcemb-vctcemb-s0");
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "smoke", videoInput: "visemes" as never }), /videoInput must be/);
});

test("ctc-embed: the audio projector widens by the LM width; train and eval run end to end (smoke)", async () => {
  const base = await buildModel(resolveRunConfig({ method: "omni-st", preset: "smoke" }));
  const built = await buildModel(resolveRunConfig({ method: "omni-st", preset: "smoke", audioInput: "ctc-embed" }));
  assert.ok(built.inputs.audioTransform && !base.inputs.audioTransform && !built.inputs.videoTransform);
  assert.equal(built.model.cfg.audioDim, base.model.cfg.audioDim + built.model.cfg.llm.dim);
  assert.equal(built.model.cfg.videoDim, base.model.cfg.videoDim);
  base.model.dispose();
  built.model.dispose();
  disposeInputs(built);

  const out = join(root, "run");
  const go = (script: string, args: string[]) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", join("scripts", script), ...args], { cwd: repo, env, encoding: "utf8" });
    assert.equal(r.status, 0, `${script} ${args.join(" ")} failed:\n${r.stderr.slice(-3000)}`);
  };
  go("train.ts", ["--method", "llama-avsr", "--task", "asr", "--rates", "4,2", "--preset", "smoke", "--audio-input", "ctc-embed", "--out", out]);
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.equal(cfg.run.audioInput, "ctc-embed");
  assert.equal(cfg.model.audioDim, base.model.cfg.audioDim + base.model.cfg.llm.dim);
  assert.ok(readCsv(join(out, "metrics.csv")).every((r) => Number.isFinite(Number(r.loss))));
  go("eval.ts", ["--run", out, "--task", "asr", "--rates", "4,2", "--limit", "6", "--beam", "1", "--max-new-tokens", "4"]);
  assert.equal(readCsv(join(out, "eval", "asr_4-0_beam1.csv")).length, 6);
  // another split is written beside the test scores, never over them
  go("eval.ts", ["--run", out, "--task", "asr", "--rates", "4,2", "--split", "val", "--limit", "3", "--beam", "1", "--max-new-tokens", "4"]);
  assert.equal(readCsv(join(out, "eval", "asr_4-0_beam1_val.csv")).length, 3);
  assert.equal(readCsv(join(out, "eval", "asr_4-0_beam1.csv")).length, 6);
  // joint CTC decoding needs the auxiliary CTC head: a clear error, no file
  const r = spawnSync(process.execPath, ["--import", "tsx", join("scripts", "eval.ts"), "--run", out, "--task", "asr", "--rates", "4,2", "--limit", "3", "--ctc-decode", "0.3"], { cwd: repo, env, encoding: "utf8" });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /^error: run .* has no auxiliary CTC head \(trained with ctcWeight 0\)/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "a refusal is one line, not a stack trace");
  assert.ok(!existsSync(join(out, "eval", "asr_4-0_ctcdec0.3.csv")));
});

test("video ctc-embed: the video projector widens by the LM width, the samples carry the embedding, the lexicon's features stay raw; VSR trains (smoke)", async () => {
  const cfgOf = (videoInput?: "ctc-embed") => resolveRunConfig({ method: "llama-avsr", preset: "smoke", task: "vsr", audioRates: [4], videoRates: [2], videoInput });
  const base = await buildModel(cfgOf());
  const built = await buildModel(cfgOf("ctc-embed"));
  assert.ok(built.inputs.videoTransform && !built.inputs.audioTransform && !base.inputs.videoTransform);
  assert.equal(built.model.cfg.videoDim, base.model.cfg.videoDim + built.model.cfg.llm.dim);
  assert.equal(built.model.cfg.audioDim, base.model.cfg.audioDim);
  const set = await openEvalSet("smoke", "val", { needAudio: false, needVideo: true, limit: 2, ...built.inputs });
  const [s] = evalSamples(set, set.utterances.slice(0, 1));
  const raw = set.video!.get(set.utterances[0]!.id);
  assert.deepEqual(s!.video!.shape, [raw.frames, raw.dim + built.model.cfg.llm.dim]);
  // the first raw.dim columns are the cached frames themselves
  const head = s!.video!.slice([0, 0], [raw.frames, raw.dim]).dataSync();
  let maxDiff = 0;
  for (let i = 0; i < head.length; i++) maxDiff = Math.max(maxDiff, Math.abs(head[i]! - raw.data[i]!));
  assert.ok(maxDiff < 1e-6, `raw frames kept (max diff ${maxDiff})`);
  disposeSamples([s!]);
  base.model.dispose();
  built.model.dispose();
  disposeInputs(built);

  const out = join(root, "run-vctcemb");
  const r = spawnSync(process.execPath, ["--import", "tsx", join("scripts", "train.ts"), "--method", "llama-avsr", "--task", "vsr", "--rates", "4,2", "--preset", "smoke", "--video-input", "ctc-embed", "--ctc-weight", "0.5", "--splice", "2", "--out", out], { cwd: repo, env, encoding: "utf8" });
  assert.equal(r.status, 0, `train failed:\n${r.stderr.slice(-3000)}`);
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.equal(cfg.run.videoInput, "ctc-embed");
  assert.equal(cfg.model.videoDim, base.model.cfg.videoDim + base.model.cfg.llm.dim);
  assert.ok(readCsv(join(out, "metrics.csv")).every((row) => Number.isFinite(Number(row.loss))));
  const e = spawnSync(process.execPath, ["--import", "tsx", join("scripts", "eval.ts"), "--run", out, "--task", "vsr", "--rates", "4,2", "--limit", "4", "--beam", "2", "--max-new-tokens", "4", "--ctc-decode", "0.3"], { cwd: repo, env, encoding: "utf8" });
  assert.equal(e.status, 0, `eval failed:\n${e.stderr.slice(-3000)}`);
  assert.equal(readCsv(join(out, "eval", "vsr_0-2_ctcdec0.3_beam2.csv")).length, 4);
});
