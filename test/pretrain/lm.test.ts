/**
 * LM pretraining (src/pretrain/lm/) at smoke size: the tokeniser and the AVSR prompts, a tiny LM's
 * validation perplexity falling, the shipped-checkpoint round trip, kill-and-resume equal to an
 * uninterrupted run, no val/test transcript in the LM text, and the shipped default checkpoints.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { initBackend } from "../../src/backend/index.js";
import { DEFAULT_PROMPTS } from "../../src/models/avsr.js";
import { IGNORE, llmParamCount } from "../../src/models/llm.js";
import { AUDIO_END_ID, AUDIO_START_ID, BOS_ID, BpeTokenizer, EOS_ID, UNK_ID, VIDEO_END_ID, VIDEO_START_ID } from "../../src/text/tokenizer.js";
import { latestCheckpoint, loadCheckpoint } from "../../src/train/checkpoint.js";
import { Rng } from "../../src/util/rng.js";
import { repoRoot } from "../../src/util/paths.js";
import { runKillableChild } from "../helpers/kill-at-checkpoint.js";
import {
  LmPretrainConfig,
  LM_SIZE_NAMES,
  evaluateLm,
  exportPretrainedLm,
  findLeaks,
  lmCheckpointDir,
  lmPretrainConfig,
  loadPretrainedLm,
  prepareLmData,
  pretrainLm,
  readLmText,
  sha256,
  sampleBatch,
  splitLmLines,
  withRepeats,
  tokenStream,
  trainLmTokenizer,
} from "../../src/pretrain/lm/index.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "omni-lm-"));
}

/** A small, learnable text: sentences from a toy grammar (deterministic). */
function toyLines(n = 400, seed = 3): string[] {
  const rng = new Rng(seed);
  const subj = ["the cat", "a dog", "my friend", "the old man", "she", "he"];
  const verb = ["sees", "likes", "found", "wants", "took"];
  const obj = ["the ball", "a red house", "the small bird", "some water", "the green door"];
  const tail = ["", " today", " in the morning", " again"];
  return Array.from({ length: n }, () => `${rng.pick(subj)} ${rng.pick(verb)} ${rng.pick(obj)}${rng.pick(tail)}`);
}

/** A tiny config (dim 32, two layers) trained on the toy text. */
function toyConfig(over: Partial<LmPretrainConfig> = {}): LmPretrainConfig {
  const base = lmPretrainConfig("smoke", "tiny", { seed: 7, steps: 40 });
  return {
    ...base,
    valFraction: 0.1,
    tokenizer: { vocabSize: 90, minFrequency: 2 },
    model: { dim: 32, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 64, maxSeqLen: 64 },
    seqLen: 16,
    batchSize: 8,
    schedule: { baseLr: 1e-2, warmupSteps: 2, totalSteps: over.steps ?? 40 },
    checkpointEvery: 100,
    evalEvery: 0,
    evalTokens: 256,
    ...over,
  };
}

const quiet = () => {};

test("tokenizer: special tokens, the three task prompts and the AVSR layout", () => {
  const tok = trainLmTokenizer(toyLines(), { vocabSize: 120, minFrequency: 2 });
  assert.deepEqual(
    ["<pad>", "<bos>", "<eos>", "<unk>", "<audio>", "</audio>", "<video>", "</video>"].map((t) => tok.tokenToId(t)),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  for (const p of Object.values(DEFAULT_PROMPTS)) {
    const ids = tok.encode(p);
    assert.ok(!ids.includes(UNK_ID), `prompt ${p} has no <unk>`);
    assert.ok(ids.every((i) => i >= 8), "prompt text never encodes to a special token");
    assert.equal(tok.decode(ids), p);
  }
  // the AVSR sequence layout: [BOS] <audio> A </audio> <video> V </video> prompt transcript EOS
  const seq = [BOS_ID, AUDIO_START_ID, AUDIO_END_ID, VIDEO_START_ID, VIDEO_END_ID, ...tok.encode(DEFAULT_PROMPTS.avsr), ...tok.encode("the cat sees the ball"), EOS_ID];
  assert.equal(tok.decode(seq, true), "<bos><audio></audio><video></video> Transcribe speech and video to text. the cat sees the ball<eos>");
  assert.equal(tok.decode(seq), "Transcribe speech and video to text. the cat sees the ball");
  // a learnt sub-word vocabulary: frequent words are single tokens
  assert.equal(tok.encode("the").length, 1);
  // the stream wraps every line in <bos> ... <eos>
  const s = tokenStream(tok, ["the cat", "a dog"]);
  assert.equal(s[0], BOS_ID);
  assert.equal(s.filter((x) => x === EOS_ID).length, 2);
  assert.equal(BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON()))).encode(DEFAULT_PROMPTS.asr).join(), tok.encode(DEFAULT_PROMPTS.asr).join());
});

test("validation split is deterministic, disjoint, and independent of line order", () => {
  const lines = toyLines(2000, 11);
  const a = splitLmLines(lines, 0.1);
  const b = splitLmLines([...lines].reverse(), 0.1);
  assert.deepEqual(new Set(a.val), new Set(b.val));
  const valSet = new Set(a.val);
  assert.ok(a.train.every((l) => !valSet.has(l)), "no validation line in the training lines");
  assert.ok(a.val.length > 0 && a.train.length > a.val.length);
});

test("repeats: a picked line comes back after 0..maxGap other lines, once; nothing else changes", () => {
  const lines = Array.from({ length: 400 }, (_, i) => `line number ${i}`);
  const cfg = { fraction: 0.5, maxGap: 2 };
  const out = withRepeats(lines, cfg);
  assert.deepEqual(withRepeats(lines, cfg), out, "deterministic");
  assert.deepEqual(out.filter((l, i) => out.indexOf(l) === i), lines, "first occurrences keep the input order");
  const repeated = lines.filter((l) => out.filter((x) => x === l).length === 2);
  assert.ok(out.every((l) => out.filter((x) => x === l).length <= 2), "at most one repeat");
  assert.equal(out.length, lines.length + repeated.length);
  assert.ok(repeated.length > 150 && repeated.length < 250, `about half repeated (${repeated.length})`);
  const gaps = new Set<number>();
  for (const l of repeated) {
    const first = out.indexOf(l);
    const second = out.indexOf(l, first + 1);
    // original lines (first occurrences) between the two copies
    const between = out.slice(first + 1, second).filter((x, k) => out.indexOf(x) === first + 1 + k).length;
    assert.ok(between <= cfg.maxGap, `${l}: ${between} other lines between`);
    gaps.add(between);
  }
  assert.deepEqual([...gaps].sort(), [0, 1, 2], "every gap occurs");
  assert.deepEqual(withRepeats(lines, undefined), lines);
  assert.throws(() => withRepeats(lines, { fraction: 2, maxGap: 1 }), /fraction/);
});

test("copy windows: <bos> X <eos> repeated; only the repeats are scored; seeded", () => {
  const stream = Int32Array.from({ length: 500 }, (_, i) => 8 + (i % 50));
  const cfg = { fraction: 0.5, minLen: 3, maxLen: 6 };
  const a = sampleBatch(stream, 32, 40, new Rng(9), { cfg, vocabSize: 60 });
  const b = sampleBatch(stream, 32, 40, new Rng(9), { cfg, vocabSize: 60 });
  assert.deepEqual(a, b);
  let copies = 0;
  let scored = 0;
  for (let w = 0; w < 40; w++) {
    const ids = Array.from(a.ids.subarray(w * 32, (w + 1) * 32));
    const y = Array.from(a.targets.subarray(w * 32, (w + 1) * 32));
    if (ids[0] !== BOS_ID) continue; // a text window (the toy stream has no specials)
    copies++;
    const unit = ids.indexOf(BOS_ID, 1);
    const n = unit - 2;
    assert.ok(n >= 3 && n <= 6, `copy length ${n}`);
    assert.equal(ids[unit - 1], EOS_ID);
    for (let t = 0; t < 32; t++) {
      assert.equal(ids[t], ids[t % unit], "the unit repeats");
      const next = t + 1;
      if (next <= unit || ids[next % unit] === BOS_ID) assert.equal(y[t], IGNORE, `target ${t} is not scored`);
      else {
        assert.equal(y[t], ids[next % unit]);
        scored++;
      }
    }
    assert.ok(ids.slice(1, unit - 1).every((id) => id >= 8 && id < 60), "random ids from the ordinary vocabulary");
  }
  assert.ok(copies > 10 && copies < 30, `about half the windows are copy windows (${copies})`);
  assert.ok(scored > 0 && scored <= a.tokens);
});

test("a tiny LM trains a few steps and its validation perplexity drops; same seed, same numbers", () => {
  const dirs = [tmp(), tmp()];
  try {
    const cfg = toyConfig();
    const data = prepareLmData(toyLines(), cfg);
    const r1 = pretrainLm(cfg, data, { workDir: dirs[0]!, log: quiet });
    const m = r1.metrics!;
    assert.ok(m.val.perplexity < 0.5 * m.valInitial.perplexity, `val ppl ${m.valInitial.perplexity.toFixed(1)} -> ${m.val.perplexity.toFixed(1)}`);
    assert.ok(m.val.wordPerplexity! > m.val.perplexity, "a word has at least one token");
    assert.equal(m.trainTokens, 40 * 8 * 16);
    assert.equal(m.steps, 40);
    assert.ok(r1.llm.parameters().every((v) => !v.trainable), "the returned LM is frozen");
    // the same config and seed give the same weights
    const r2 = pretrainLm(cfg, data, { workDir: dirs[1]!, log: quiet, skipFinalEval: true });
    const p2 = r2.llm.parameterMap();
    for (const [n, v] of r1.llm.namedParameters()) assert.deepEqual(p2.get(n)!.dataSync(), v.dataSync(), n);
    r1.llm.dispose();
    r2.llm.dispose();
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});

test("shipped checkpoint round trip: loadPretrainedLm gives identical logits, frozen", () => {
  const work = tmp();
  const root = tmp();
  try {
    const cfg = toyConfig({ steps: 5, schedule: { baseLr: 1e-2, warmupSteps: 1, totalSteps: 5 } });
    const data = prepareLmData(toyLines(), cfg);
    const r = pretrainLm(cfg, data, { workDir: work, log: quiet });
    const prov = { command: "test", gitCommit: "x", gitDirty: false, seed: cfg.seed, lmTextSha256: "0", lmTextSource: "toy", lmTextLines: 400, heldOutTranscriptsChecked: 0, date: new Date().toISOString(), backend: "test", node: process.version };
    exportPretrainedLm(lmCheckpointDir("toy", "tiny", root), r.llm, data.tokenizer, cfg, r.metrics!, prov, join(work, "metrics.csv"));
    const loaded = loadPretrainedLm("toy", "tiny", { root });
    assert.deepEqual(loaded.config.model, r.llm.config);
    assert.deepEqual(loaded.tokenizer.toJSON(), data.tokenizer.toJSON());
    assert.deepEqual(loaded.metrics, JSON.parse(JSON.stringify(r.metrics)));
    assert.ok(loaded.llm.parameters().every((v) => !v.trainable));
    const ids = tf.tensor2d(Int32Array.from(data.val.subarray(0, 32)), [2, 16], "int32");
    const a = tf.tidy(() => r.llm.forward({ ids }).logits!.dataSync());
    const b = tf.tidy(() => loaded.llm.forward({ ids }).logits!.dataSync());
    assert.deepEqual(b, a);
    const ev = evaluateLm(loaded.llm, data.val, { seqLen: cfg.seqLen, batchSize: cfg.batchSize });
    assert.equal(ev.loss, r.metrics!.val.loss);
    ids.dispose();
    r.llm.dispose();
    loaded.llm.dispose();
    assert.throws(() => loadPretrainedLm("toy", "small", { root }), /npm run pretrain:lm -- --preset toy --size small/);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  }
});

const CHILD = `
const [{ initBackend }, lm, fs] = await Promise.all([import(process.env.BACKEND_URL), import(process.env.LM_URL), import("node:fs")]);
await initBackend({ warn: () => {} });
const { cfg, lines } = JSON.parse(fs.readFileSync(process.env.INPUT, "utf8"));
const data = lm.prepareLmData(lines, cfg);
const slow = Number(process.env.SLOW_MS ?? "0");
const r = lm.pretrainLm(cfg, data, {
  workDir: process.env.WORK_DIR,
  log: (l) => { if (l.includes("resumed from step")) process.stdout.write(l + "\\n"); },
  skipFinalEval: true,
  onCheckpoint: (step) => {
    process.stdout.write("checkpoint " + step + "\\n");
    const until = Date.now() + slow;
    while (Date.now() < until) {}
  },
});
process.stdout.write("done " + r.step + "\\n");
`;

function runChild(input: string, workDir: string, killAt?: number): Promise<{ out: string; killed: boolean }> {
  const root = repoRoot();
  return runKillableChild(["--input-type=module", "-e", CHILD], {
    cwd: root,
    env: {
      ...process.env,
      INPUT: input,
      WORK_DIR: workDir,
      SLOW_MS: killAt ? "150" : "0",
      BACKEND_URL: pathToFileURL(join(root, "src/backend/index.ts")).href,
      LM_URL: pathToFileURL(join(root, "src/pretrain/lm/index.ts")).href,
    },
  }, killAt);
}

test("a run killed with SIGKILL and resumed equals an uninterrupted run", async () => {
  const dir = tmp();
  try {
    const steps = 8;
    const cfg = toyConfig({ steps, checkpointEvery: 1, keepCheckpoints: 2, evalEvery: 3, schedule: { baseLr: 1e-2, warmupSteps: 2, totalSteps: steps } });
    const input = join(dir, "input.json");
    writeFileSync(input, JSON.stringify({ cfg, lines: toyLines() }));
    const a = join(dir, "a");
    const b = join(dir, "b");
    const [whole, killedRun] = await Promise.all([runChild(input, a), runChild(input, b, 3)]);
    assert.ok(whole.out.includes(`done ${steps}`), whole.out);
    assert.ok(killedRun.killed && !killedRun.out.includes("done"), "the second run was killed mid-way");
    const midStep = loadCheckpoint(latestCheckpoint(join(b, "checkpoints"))!).state.step;
    assert.ok(midStep >= 3 && midStep < steps, `killed at step ${midStep}`);
    const resumed = await runChild(input, b);
    assert.ok(resumed.out.includes(`resumed from step ${midStep}`) && resumed.out.includes(`done ${steps}`), resumed.out);
    const ca = loadCheckpoint(latestCheckpoint(join(a, "checkpoints"))!);
    const cb = loadCheckpoint(latestCheckpoint(join(b, "checkpoints"))!);
    assert.equal(cb.state.step, steps);
    for (const [k, v] of ca.params) assert.deepEqual(cb.params.get(k)!.data, v.data, k);
    for (const [k, v] of ca.m) assert.deepEqual(cb.m.get(k)!.data, v.data, `m.${k}`);
    assert.deepEqual(cb.state.rng, ca.state.rng);
    // the metrics rows agree (step, lr, loss, grad norm, tokens; timing columns differ), val loss too
    const rows = (d: string) => readFileSync(join(d, "metrics.csv"), "utf8").trim().split("\n").map((l) => { const c = l.split(","); return [...c.slice(0, 5), c[7]].join(","); });
    assert.deepEqual(rows(b), rows(a));
    assert.equal(rows(a).length, steps + 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no validation or test transcript is in the LM pretraining text", async () => {
  // the corpora present here (data/ is git-ignored); the smoke corpus is generated into a temp folder if absent
  const found = ["smoke", "default"].filter((c) => existsSync(join(repoRoot(), "data", c, "manifest.csv")) && existsSync(join(repoRoot(), "data", c, "lm_text.txt")));
  const gen = found.length === 0 ? tmp() : undefined;
  try {
    for (const corpus of found.length > 0 ? found : ["smoke"]) {
      const text = await readLmText(corpus, gen ? { dir: gen, generateIfMissing: true } : {}); // throws on a leak
      assert.ok(text.heldOutChecked > 0 && text.lines.length > 100);
      const { SyntheticCorpus } = await import("../../src/data/dataset.js");
      const ds = await SyntheticCorpus.open(gen ?? join(repoRoot(), "data", corpus));
      const held = [...ds.utterances("val"), ...ds.utterances("test")].map((u) => u.text);
      assert.deepEqual(findLeaks(text.lines, held), [], `${corpus}: held-out transcript in the LM text`);
      // what training actually sees: the training and validation lines of the split
      const cfg = lmPretrainConfig(corpus === "smoke" ? "smoke" : "default", "tiny");
      const { train, val } = splitLmLines(text.lines, cfg.valFraction);
      assert.deepEqual(findLeaks([...train, ...val], held), []);
      // the check itself finds a planted transcript
      assert.equal(findLeaks([...text.lines.slice(0, 50), `and so ${held[0]} he said`], held).length, 1);
    }
  } finally {
    if (gen) rmSync(gen, { recursive: true, force: true });
  }
});

test("shipped default checkpoints: load, frozen, complete records, under 20 MB", (t) => {
  const present = LM_SIZE_NAMES.filter((s) => existsSync(join(lmCheckpointDir("default", s), "metrics.json")));
  if (present.length === 0) {
    t.skip("no checkpoints/lm/default yet (npm run pretrain:lm -- --preset default --size all)");
    return;
  }
  const shared = readFileSync(join(repoRoot(), "checkpoints", "lm", "default", "tokenizer.json"), "utf8");
  const dataJson = JSON.parse(readFileSync(join(repoRoot(), "checkpoints", "lm", "default", "data.json"), "utf8")) as { lmTextSha256: string };
  const lmText = join(repoRoot(), "data", "default", "lm_text.txt");
  const params: number[] = [];
  for (const size of present) {
    const dir = lmCheckpointDir("default", size);
    assert.ok(statSync(join(dir, "model.safetensors")).size < 20 * 2 ** 20, `${size}: model.safetensors under 20 MB`);
    assert.equal(readFileSync(join(dir, "tokenizer.json"), "utf8"), shared, `${size}: the preset's one tokenizer`);
    const lm = loadPretrainedLm("default", size);
    assert.ok(lm.llm.parameters().every((v) => !v.trainable));
    assert.equal(lm.llm.numParams(), llmParamCount(lm.config.model));
    assert.equal(lm.metrics.params, lm.llm.numParams());
    assert.ok(Number.isFinite(lm.metrics.val.perplexity) && lm.metrics.val.perplexity < lm.metrics.valInitial.perplexity);
    assert.ok(lm.metrics.trainTokens > 0 && lm.metrics.wallTimeS > 0 && lm.metrics.tokensPerS > 0);
    const p = lm.provenance!;
    assert.ok(p.command.includes("pretrain:lm") && /^[0-9a-f]{40}$/.test(p.gitCommit) && p.date.length > 0);
    assert.equal(p.seed, lm.config.pretrain.seed);
    assert.equal(p.lmTextSha256, dataJson.lmTextSha256);
    if (existsSync(lmText)) assert.equal(sha256(readFileSync(lmText)), p.lmTextSha256, "the shipped LM was trained on this data/default/lm_text.txt");
    for (const prompt of Object.values(DEFAULT_PROMPTS)) assert.ok(!lm.tokenizer.encode(prompt).includes(UNK_ID));
    params.push(lm.metrics.params);
    lm.llm.dispose();
  }
  if (present.length === 3) assert.ok(params[2]! / params[0]! >= 8, `sizes span about 10x in parameters: ${params.join(", ")}`);
});
