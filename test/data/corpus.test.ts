/**
 * End-to-end checks of the generator on the smoke preset: determinism across an interrupted and
 * resumed run, splits, LM-text leakage, loaders, and the AV sync of the rendered video.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { presetConfig } from "../../src/data/config.js";
import { SyntheticCorpus, loadAvPair, DataError } from "../../src/data/dataset.js";
import { generateCorpus } from "../../src/data/generate.js";
import { createNoiseBank } from "../../src/data/noise-bank.js";
import { measureSnr } from "../../src/audio/noise.js";
import { Rng } from "../../src/util/rng.js";
import { LeakDetector } from "../../src/data/lm-text.js";
import { MANIFEST_COLUMNS, readManifest } from "../../src/data/manifest.js";
import { buildPlan } from "../../src/data/plan.js";
import { drawSpeakers } from "../../src/data/speakers.js";
import { audioEnvelope, laggedCorrelation, mouthOpeningFromFrames } from "../../src/data/sync.js";
import { isNormalizedTranscript } from "../../src/data/text.js";
import { readWav } from "../../src/audio/wav.js";

const root = mkdtempSync(join(tmpdir(), "omni-corpus-"));
after(() => rmSync(root, { recursive: true, force: true }));
const dirA = join(root, "a");
const dirB = join(root, "b");
const config = presetConfig("smoke");
const quiet = () => {};

function hashTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
    }
  };
  walk(dir);
  return out;
}

async function killedRun(dir: string, afterFiles: number): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/corpus.ts", "--preset", "smoke", "--out", dir], {
    cwd: join(import.meta.dirname, "..", ".."),
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const n = existsSync(join(dir, "align")) ? readdirSync(join(dir, "align")).filter((f) => f.endsWith(".json")).length : 0;
    if (n >= afterFiles || child.exitCode !== null) break;
  }
  child.kill("SIGKILL");
  await exited;
  return readdirSync(join(dir, "align")).filter((f) => f.endsWith(".json")).length;
}

test("a killed and resumed run writes the same bytes as an uninterrupted run", { timeout: 120_000 }, async () => {
  // one after the other, so that the two runs do not compete for the two cores
  const killedAt = await killedRun(dirB, 25);
  assert.ok(killedAt < 100, `the run was killed after ${killedAt} utterances`);
  assert.ok(!existsSync(join(dirB, "manifest.csv")), "killed run must not have finished");
  const b = await generateCorpus(config, { outDir: dirB, log: quiet });
  assert.ok(b.skipped >= 25 && b.generated === 100 - b.skipped, `resumed: skipped ${b.skipped}`);
  const a = await generateCorpus(config, { outDir: dirA, log: quiet });
  assert.equal(a.generated, 100);
  const ha = hashTree(dirA);
  const hb = hashTree(dirB);
  assert.deepEqual([...hb.keys()], [...ha.keys()]);
  for (const [k, v] of ha) assert.equal(hb.get(k), v, `file ${k} differs`);
  // a third call does nothing and changes nothing
  const c = await generateCorpus(config, { outDir: dirA, log: quiet });
  assert.equal(c.generated, 0);
  assert.deepEqual(hashTree(dirA), ha);
});

test("manifest, splits and files follow the contract", () => {
  const rows = readManifest(join(dirA, "manifest.csv"));
  assert.deepEqual(Object.keys(rows[0]!), [...MANIFEST_COLUMNS]);
  const by = (s: string) => rows.filter((r) => r.split === s);
  assert.equal(by("train").length, 64);
  assert.equal(by("val").length, 12);
  assert.equal(by("test").length, 24);
  const trainSpk = new Set(by("train").map((r) => r.speaker));
  for (const r of by("test")) assert.ok(!trainSpk.has(r.speaker), `test speaker ${r.speaker} seen in training`);
  for (const r of by("val")) assert.ok(trainSpk.has(r.speaker));
  const trainText = new Set(by("train").map((r) => r.text));
  for (const r of [...by("val"), ...by("test")]) assert.ok(!trainText.has(r.text), `held-out sentence in training: ${r.text}`);
  for (const r of rows) {
    assert.ok(isNormalizedTranscript(r.text), r.text);
    const wav = readWav(join(dirA, r.audio_path), { onWrongRate: "error", onMultiChannel: "error" });
    assert.equal(wav.samples.length, Number(r.video_frames) * 640);
    assert.equal(Number(r.num_samples), wav.samples.length);
    const align = JSON.parse(readFileSync(join(dirA, r.align_path), "utf8")) as { phonemes: [string, number, number][]; visemes: [string, number, number][]; words: [string, number, number][] };
    assert.equal(align.words.map((w) => w[0]).join(" "), r.text);
    let prev = 0;
    for (const [, s, e] of align.phonemes) {
      assert.ok(s >= prev - 1e-9 && e >= s && e <= Number(r.duration_s) + 1e-9);
      prev = s;
    }
  }
  const stats = JSON.parse(readFileSync(join(dirA, "stats.json"), "utf8"));
  assert.deepEqual(stats.unknownPhonemes, []);
  assert.ok(stats.homophenes.homopheneShare > stats.homophenes.homophoneShare);
});

test("lm_text.txt holds no validation or test transcript", () => {
  const rows = readManifest(join(dirA, "manifest.csv"));
  const held = rows.filter((r) => r.split !== "train").map((r) => r.text);
  const lines = readFileSync(join(dirA, "lm_text.txt"), "utf8").split("\n").filter(Boolean);
  assert.ok(lines.length > 40000);
  const detector = new LeakDetector(held);
  const exact = new Set(held);
  for (const l of lines) {
    assert.ok(!exact.has(l), `leaked: ${l}`);
    assert.equal(detector.find(l), undefined, `leaked inside: ${l}`);
  }
  // the detector itself finds a planted leak
  assert.equal(detector.find(`and then ${held[0]} again`), held[0]);
  // training transcripts are kept
  assert.ok(lines.includes(rows.find((r) => r.split === "train")!.text));
});

test("plan depends on the seed", () => {
  const p1 = buildPlan(config);
  const p2 = buildPlan(presetConfig("smoke", { seed: 2 }));
  assert.notDeepEqual(p1.utterances.map((u) => u.text), p2.utterances.map((u) => u.text));
  assert.deepEqual(buildPlan(config).utterances, p1.utterances);
});


test("a wider training vocabulary adds distinct training sentences and leaves val and test as they were", () => {
  const narrow = buildPlan(config);
  const wide = buildPlan(presetConfig("smoke", { trainVocabSize: 4000 }));
  const of = (p: typeof narrow, s: string) => p.utterances.filter((u) => u.split === s);
  assert.deepEqual(of(wide, "val"), of(narrow, "val"));
  assert.deepEqual(of(wide, "test"), of(narrow, "test"));
  assert.ok(wide.sentences.train.length > 2 * narrow.sentences.train.length, `${wide.sentences.train.length} vs ${narrow.sentences.train.length}`);
  // no training transcript is, or contains, a held-out one
  const held = [...wide.sentences.val, ...wide.sentences.test];
  const detector = new LeakDetector(held);
  for (const s of wide.sentences.train) assert.equal(detector.find(s), undefined, `held-out sentence inside training sentence: ${s}`);
  // every training word is in the (wider) vocabulary the lexicon is built from
  const vocab = new Set(wide.vocab);
  for (const u of of(wide, "train")) for (const w of u.text.split(" ")) assert.ok(vocab.has(w), w);
  assert.throws(() => buildPlan(presetConfig("smoke", { trainVocabSize: 100 })), /trainVocabSize must be an integer above vocabSize/);
});
test("a voice bank: further voices read training sentences; it joins the train split only", async () => {
  const bankConfig = presetConfig("smoke-voicebank");
  const bank = buildPlan(bankConfig);
  const base = buildPlan(config);
  const pair = (s: { tts: { voice: string; variant?: string } }) => `${s.tts.voice}+${s.tts.variant}`;
  // the bank's voices are new (voice, variant) pairs; the corpus's speakers do not move when a bank is drawn
  const basePairs = new Set(base.speakers.map(pair));
  assert.equal(bank.speakers.length, 4);
  for (const s of bank.speakers) assert.ok(!basePairs.has(pair(s)) && !base.speakers.some((b) => b.id === s.id), `${s.id} ${pair(s)}`);
  assert.deepEqual(drawSpeakers(config.seed, config.trainSpeakers, config.testSpeakers, 4).slice(0, base.speakers.length), base.speakers);
  assert.ok(bank.speakers.every((s) => s.split === "train"));
  // training sentences only, every bank voice used, ids of their own
  const trainSentences = new Set(base.sentences.train);
  assert.equal(bank.utterances.length, 12);
  for (const u of bank.utterances) {
    assert.equal(u.split, "train");
    assert.match(u.id, /^bank-\d{5}$/);
    assert.ok(trainSentences.has(u.text), u.text);
  }
  assert.equal(new Set(bank.utterances.map((u) => u.speaker)).size, 4);
  assert.throws(() => drawSpeakers(1, 200, 10, 100), /at most 288 distinct speakers, 310 asked for/);
  // generated and merged: the corpus's train split gains the bank, val and test stay as they were
  const bankDir = join(root, "bank");
  await generateCorpus(bankConfig, { outDir: bankDir, log: quiet });
  const ds = await SyntheticCorpus.open(dirA, { videoSize: 32 });
  const merged = ds.withExtraTraining(await SyntheticCorpus.open(bankDir));
  assert.equal(merged.utterances("train").length, ds.utterances("train").length + 12);
  assert.deepEqual(merged.utterances("val"), ds.utterances("val"));
  assert.deepEqual(merged.utterances("test"), ds.utterances("test"));
  const b0 = bank.utterances[0]!;
  assert.deepEqual(merged.loadAudioSync(b0.id), readWav(join(bankDir, "audio", `${b0.id}.wav`)).samples);
  assert.equal(merged.alignment(b0.id).speaker, b0.speaker);
  assert.equal(ds.utterances().length, merged.utterances().length - 12, "the corpus itself is unchanged");
  // only a bank of this corpus joins it
  assert.throws(() => ds.withExtraTraining(ds), /not a voice bank of corpus smoke/);
});

test("the loader gives aligned audio and deterministic video; a missing alignment is an error", async () => {
  const ds = await SyntheticCorpus.open(dirA, { videoSize: 32 });
  const id = ds.utterances("test")[0]!.id;
  const pair = await loadAvPair(ds, id);
  assert.equal(pair.audio.length, pair.video.frames * 640);
  assert.equal(pair.video.height, 32);
  const again = await ds.loadVideo(id);
  assert.deepEqual(again.data, pair.video.data);
  const big = await ds.loadVideo(id, { size: 48 });
  assert.equal(big.data.length, big.frames * 48 * 48);
  const path = join(dirB, "align", `${id}.json`);
  renameSync(path, path + ".gone");
  const dsB = await SyntheticCorpus.open(dirB);
  await assert.rejects(dsB.loadVideo(id), (e: unknown) => e instanceof DataError && e.message.includes(path));
});

test("AV sync: mouth opening correlates with audio energy, peaking near lag 0", async () => {
  const ds = await SyntheticCorpus.open(dirA, { videoSize: 44 });
  const pairs = [];
  for (const u of ds.utterances().slice(0, 40)) {
    const audio = ds.loadAudioSync(u.id);
    const video = ds.loadVideoSync(u.id);
    pairs.push({ video: mouthOpeningFromFrames(video), audio: audioEnvelope(audio, video.frames) });
  }
  const byLag = laggedCorrelation(pairs, 5);
  const best = byLag.reduce((a, b) => (b.r > a.r ? b : a));
  assert.ok(Math.abs(best.lag) <= 1, `best lag ${best.lag}`);
  assert.ok(best.r > 0.3, `correlation ${best.r}`);
  assert.ok(byLag.find((x) => x.lag === 5)!.r < best.r - 0.1);
});

test("noise bank from the corpus: babble from training speech only, exact SNR on a real utterance", async () => {
  const ds = await SyntheticCorpus.open(dirA);
  // record which utterances the bank reads: 16 distinct training ones, none by a test speaker or of a test sentence
  const read: string[] = [];
  const spy = Object.assign(Object.create(ds) as typeof ds, { loadAudio: (id: string) => (read.push(id), ds.loadAudio(id)) });
  const bank = await createNoiseBank(spy, { sources: 16, seed: 1 });
  const train = new Map(ds.utterances("train").map((u) => [u.id, u]));
  const test = ds.utterances("test");
  assert.equal(new Set(read).size, 16);
  for (const id of read) {
    const u = train.get(id);
    assert.ok(u, `${id} is a training utterance`);
    assert.ok(!test.some((t) => t.speaker === u.speaker || t.text === u.text), `${id} shares no speaker or sentence with the test set`);
  }
  const id = ds.utterances("test")[1]!.id;
  const clean = await ds.loadAudio(id);
  for (const snr of [-5, 0, 10]) assert.ok(Math.abs(measureSnr(clean, bank.mixForEval(clean, id, "babble", snr)) - snr) < 0.1);
  const b = bank.babble(clean.length, new Rng(2));
  assert.ok(b.some((v) => Math.abs(v) > 0.1));
});
