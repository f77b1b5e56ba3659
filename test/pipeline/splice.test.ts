/**
 * Spliced utterances (pipeline/splice.ts): the bank, the pool of word sequences, the frame cutting at
 * the encoders' rates, and the training batches that carry them (smoke corpus and features).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { buildFeatureCache, featureDir, FeatureSet } from "../../src/features/cache.js";
import { resolveRunConfig } from "../../src/pipeline/config.js";
import { encoderRef, openTrainData } from "../../src/pipeline/data.js";
import { ENCODER_FPS, drawSplice, spliceBankOf, spliceFrames, splicePool, type FrameSource } from "../../src/pipeline/splice.js";
import { openCorpus } from "../../src/data/index.js";
import { Rng } from "../../src/util/rng.js";
import { ensureSmokeModels } from "../helpers/smoke-models.js";
import { join } from "node:path";

before(async () => {
  await ensureSmokeModels();
  await buildFeatureCache({ preset: "smoke", log: () => {} });
});

const utts = [
  { id: "u1", words: [["the", 0.2, 0.3], ["cat", 0.3, 0.62]] as const },
  { id: "u2", words: [["a", 0.1, 0.18], ["cat", 0.18, 0.5], ["sat", 0.5, 0.9]] as const },
];

test("splice bank: every spoken occurrence of a word, each utterance's leading and trailing silence", () => {
  const b = spliceBankOf(utts);
  assert.deepEqual(b.words.get("cat"), [
    { id: "u1", t0: 0.3, t1: 0.62 },
    { id: "u2", t0: 0.18, t1: 0.5 },
  ]);
  assert.deepEqual(b.words.get("sat"), [{ id: "u2", t0: 0.5, t1: 0.9 }]);
  assert.deepEqual(b.leadIns, [
    { id: "u1", t0: 0, t1: 0.2 },
    { id: "u2", t0: 0, t1: 0.1 },
  ]);
  assert.deepEqual(b.tails, [
    { id: "u1", t0: 0.62, t1: Infinity },
    { id: "u2", t0: 0.9, t1: Infinity },
  ]);
  assert.throws(() => spliceBankOf([{ id: "bad", words: [["x", 0.5, 0.5]] }]), /bad: word "x" has an empty time span/);
});

test("splice pool: maximal runs of known words, cut at maxWords, short pieces, repeats and held-out sentences dropped", () => {
  const known = new Set("a b c d e f g".split(" "));
  const lines = ["a b c x d e f g a b", "a b c", "z a b c d e f g", "b c d e"].map((l) => l.split(" "));
  // line 1: runs "a b c" (under 4 words) and "d e f g a b" -> "d e f g a" + "b" (under 4); line 2: under 4;
  // line 3: "a b c d e f g" -> "a b c d e" + "f g" (under 4); line 4: held out
  const pool = splicePool(lines, (w) => known.has(w), { minWords: 4, maxWords: 5, exclude: new Set(["b c d e"]) });
  assert.deepEqual(pool, ["d e f g a", "a b c d e"]);
  assert.deepEqual(splicePool(lines, (w) => known.has(w), { minWords: 3, maxWords: 14, exclude: new Set() }), ["a b c", "d e f g a b", "a b c d e f g", "b c d e"]);
  assert.throws(() => splicePool(lines, () => true, { minWords: 5, maxWords: 4, exclude: new Set() }), /minWords ≤ maxWords/);
});

test("drawSplice: one occurrence per word between a lead-in and a tail; a word never spoken is an error", () => {
  const b = spliceBankOf(utts);
  const rng = new Rng(3);
  for (let k = 0; k < 20; k++) {
    const s = drawSplice(["a cat sat", "the cat"], b, rng);
    const words = s.text.split(" ");
    assert.equal(s.segments.length, words.length + 2);
    assert.equal(s.segments[0]!.t0, 0);
    assert.equal(s.segments.at(-1)!.t1, Infinity);
    words.forEach((w, i) => assert.ok(b.words.get(w)!.includes(s.segments[i + 1]!), `${w} from its own occurrences`));
  }
  assert.throws(() => drawSplice(["a dog"], b, rng), /"dog" was never spoken/);
  assert.throws(() => drawSplice([], b, rng), /empty/);
});

test("spliceFrames: rows [round(t0·fps), round(t1·fps)) per segment, clamped, at least one row each", () => {
  // utterance u has 10 frames of width 2; row t holds [t, 100 + t]
  const src: FrameSource = {
    dim: 2,
    frames: () => 10,
    rows: (_id, a, b) => Float32Array.from({ length: (b - a) * 2 }, (_, k) => (k % 2 === 0 ? a + (k >> 1) : 100 + a + (k >> 1))),
  };
  const f = spliceFrames(
    [
      { id: "u", t0: 0, t1: 0.05 }, // at 50 fps: rows [0, round(2.5) = 3)
      { id: "u", t0: 0.1, t1: 0.101 }, // shorter than a frame: one row, 5
      { id: "u", t0: 0.16, t1: Infinity }, // rows 8, 9
    ],
    src,
    50,
  );
  assert.equal(f.frames, 6);
  assert.deepEqual([...f.data], [0, 100, 1, 101, 2, 102, 5, 105, 8, 108, 9, 109]);
});

test("FeatureSet.rows equals the matching slice of get and rejects rows outside the utterance", async () => {
  const ref = encoderRef("smoke", "audio");
  const set = FeatureSet.open(join(featureDir("smoke", "audio", ref.hash), "train", "clean"));
  const id = set.ids[0]!;
  const all = set.get(id);
  assert.deepEqual([...set.rows(id, 2, 5)], [...all.data.subarray(2 * all.dim, 5 * all.dim)]);
  assert.throws(() => set.rows(id, 0, all.frames + 1), /outside its \d+ frames/);
  assert.throws(() => set.rows(id, 3, 3), /outside/);
});

test("run config: splice shows in the run id, must be a whole number, not with the oracle", () => {
  const c = resolveRunConfig({ method: "llama-avsr", preset: "default", task: "asr", audioInput: "ctc-embed", ctcWeight: 0.5, splice: 16 });
  assert.equal(c.runId, "default-llama-avsr-asr-a4-v2-tiny-ctc0.5-ctcemb-splice16-s0");
  assert.equal(c.splice, 16);
  assert.equal("splice" in resolveRunConfig({ method: "omni-st", preset: "default", splice: 0 }), false);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "default", splice: 1.5 }), /whole number/);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "smoke", splice: 2, audioSource: "oracle" }), /oracle/);
});

test("training batches with splice: n extra samples of pool sequences, audio and video cut from the same occurrences, same per step", async () => {
  const corpus = await openCorpus("smoke");
  const byText = new Map<string, string>(); // identity tokenizer over words, so transcripts read back
  const vocab: string[] = [];
  const tokenizer = {
    encode: (t: string) =>
      t.split(" ").map((w) => {
        if (!byText.has(w)) {
          byText.set(w, String(vocab.length));
          vocab.push(w);
        }
        return Number(byText.get(w));
      }),
    decode: (ids: readonly number[]) => ids.map((i) => vocab[i]).join(" "),
  };
  const o = { preset: "smoke", seed: 0, batchSize: 2, trainLimit: 0, noiseAug: false, needAudio: true, needVideo: true, splice: 3 };
  const data = await openTrainData(o, tokenizer as never);
  assert.ok(data.splicePool > 0);
  const batch = data.provider(1, new Rng(1));
  assert.equal(batch.length, 2 + 3);
  const trainTexts = new Set(corpus.utterances("train").map((u) => u.text));
  const held = new Set([...corpus.utterances("val"), ...corpus.utterances("test")].map((u) => u.text));
  const spliced = batch.slice(2).map((s) => tokenizer.decode(s.transcript!));
  for (const [k, s] of batch.slice(2).entries()) {
    const words = spliced[k]!.split(" ");
    assert.ok(words.length >= corpus.config.minWords && words.length <= corpus.config.maxWords, spliced[k]);
    assert.ok(!held.has(spliced[k]!), "never a validation or test sentence");
    assert.ok(words.every((w) => [...trainTexts].some((t) => t.split(" ").includes(w))), "every word was spoken in training");
    // audio at 50 /s and video at 25 /s cover the same spans: about two audio frames per video frame
    const a = s.audio!.shape[0], v = s.video!.shape[0];
    assert.ok(Math.abs(a - 2 * v) <= words.length + 2, `audio ${a} vs video ${v} frames`);
  }
  const again = data.provider(1, new Rng(99)).slice(2).map((s) => tokenizer.decode(s.transcript!));
  assert.deepEqual(again, spliced, "a pure function of (seed, step): a resumed run draws the same");
  assert.equal(ENCODER_FPS.audio, 2 * ENCODER_FPS.video);
  data.dispose();
});
