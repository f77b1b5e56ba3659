import { test } from "node:test";
import assert from "node:assert/strict";
import { cer, charEdits, corpusCer, corpusWer, editCounts, normalizeText, wer, wordEdits } from "../../src/eval/wer.js";

test("normalisation lower-cases and collapses whitespace", () => {
  assert.equal(normalizeText("  The  CAT\tsat \n"), "the cat sat");
  assert.equal(normalizeText("   "), "");
});

test("edit counts on hand-worked word cases", () => {
  // identical
  assert.deepEqual(wordEdits("a b c", "a b c"), { sub: 0, del: 0, ins: 0, hit: 3, errors: 0, refLen: 3, hypLen: 3 });
  // one substitution
  const s = wordEdits("the cat sat", "the bat sat");
  assert.equal(s.sub, 1);
  assert.equal(s.errors, 1);
  // one deletion
  const d = wordEdits("the cat sat", "the sat");
  assert.deepEqual([d.sub, d.del, d.ins], [0, 1, 0]);
  // one insertion
  const i = wordEdits("the cat", "the big cat");
  assert.deepEqual([i.sub, i.del, i.ins], [0, 0, 1]);
  // case-insensitive
  assert.equal(wordEdits("The Cat", "the cat").errors, 0);
  // "kitten" -> "sitting": the classic distance 3 (2 subs + 1 insertion)
  const k = editCounts([..."kitten"], [..."sitting"]);
  assert.deepEqual([k.sub, k.del, k.ins, k.errors], [2, 0, 1, 3]);
  // mixed: ref "a b c d", hyp "a x c d e": 1 sub + 1 ins
  const m = wordEdits("a b c d", "a x c d e");
  assert.deepEqual([m.sub, m.del, m.ins], [1, 0, 1]);
});

test("empty hypothesis and empty reference", () => {
  const e = wordEdits("one two three", "");
  assert.deepEqual([e.sub, e.del, e.ins, e.refLen], [0, 3, 0, 3]);
  assert.equal(wer("one two three", ""), 1);
  const r = wordEdits("", "extra words");
  assert.deepEqual([r.sub, r.del, r.ins, r.refLen], [0, 0, 2, 0]);
  assert.equal(wer("", ""), 0);
  assert.equal(wer("", "extra"), Infinity);
});

test("corpus WER sums edits and reference words (not a mean of per-utterance rates)", () => {
  const res = corpusWer([
    { ref: "a b c d", hyp: "a b c d" }, // 0 / 4
    { ref: "x", hyp: "y" }, // 1 / 1
    { ref: "", hyp: "p q" }, // 2 / 0
    { ref: "m n", hyp: "" }, // 2 / 2
  ]);
  assert.equal(res.errors, 5);
  assert.equal(res.refLen, 7);
  assert.equal(res.rate, 5 / 7);
  assert.deepEqual([res.sub, res.del, res.ins, res.utterances], [1, 2, 2, 4]);
});

test("CER counts characters including spaces", () => {
  const c = charEdits("ab cd", "ab cd");
  assert.equal(c.refLen, 5);
  assert.equal(cer("ab cd", "abcd"), 1 / 5);
  assert.equal(cer("abc", ""), 1);
  const res = corpusCer([
    { ref: "abc", hyp: "abd" },
    { ref: "xy", hyp: "xy" },
  ]);
  assert.equal(res.rate, 1 / 5);
});
