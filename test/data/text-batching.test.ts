import { test } from "node:test";
import assert from "node:assert/strict";
import { frameBudgetBatches } from "../../src/data/batching.js";
import { normalizeTranscript, TranscriptError, isNormalizedTranscript } from "../../src/data/text.js";

test("transcripts normalise to lower-case [a-z'] words", () => {
  assert.equal(normalizeTranscript("  HELLO,  World!  it\u2019s ME. ", "u1"), "hello world it's me");
  assert.ok(isNormalizedTranscript("it's a test"));
  assert.ok(!isNormalizedTranscript("It's"));
  assert.ok(!isNormalizedTranscript("a  b"));
});

test("characters outside the tokeniser are an error naming the utterance", () => {
  for (const bad of ["ROOM 101", "café", "well-known", "a+b"]) {
    assert.throws(
      () => normalizeTranscript(bad, "spk1/00042"),
      (e: unknown) => e instanceof TranscriptError && e.message.includes("spk1/00042") && e.message.includes("outside"),
      bad,
    );
  }
  assert.throws(() => normalizeTranscript(" ... ", "x9"), /x9: empty/);
});

test("frame-budget batches respect the budget, cover every item once, and are reproducible", () => {
  const lengths = Array.from({ length: 200 }, (_, i) => 20 + ((i * 37) % 130));
  const { batches, oversize } = frameBudgetBatches(lengths, { frameBudget: 1000, shuffle: true, seed: 7 });
  assert.deepEqual(oversize, []);
  const seen = batches.flat().sort((a, b) => a - b);
  assert.deepEqual(seen, [...lengths.keys()]);
  for (const b of batches) assert.ok(b.length * Math.max(...b.map((i) => lengths[i]!)) <= 1000);
  assert.deepEqual(frameBudgetBatches(lengths, { frameBudget: 1000, shuffle: true, seed: 7 }).batches, batches);
  assert.notDeepEqual(frameBudgetBatches(lengths, { frameBudget: 1000, shuffle: true, seed: 8 }).batches, batches);
  // short items travel in bigger batches
  const sizes = batches.map((b) => ({ n: b.length, max: Math.max(...b.map((i) => lengths[i]!)) }));
  const shortest = sizes.reduce((a, b) => (b.max < a.max ? b : a));
  const longest = sizes.reduce((a, b) => (b.max > a.max ? b : a));
  assert.ok(shortest.n > longest.n);
  const capped = frameBudgetBatches(lengths, { frameBudget: 1000, maxBatchSize: 4 });
  assert.ok(capped.batches.every((b) => b.length <= 4));
});

test("an item over the budget gets its own batch and is reported, not dropped", () => {
  const r = frameBudgetBatches([10, 5000, 20], { frameBudget: 100 });
  assert.deepEqual(r.oversize, [1]);
  assert.deepEqual(r.batches.flat().sort(), [0, 1, 2]);
  assert.throws(() => frameBudgetBatches([1], { frameBudget: 0 }), /positive/);
});
