/**
 * The reference phone + lexicon + bigram decoder: pronunciations from alignments, the bigram LM's
 * probabilities (hand-computed, and normalised), and decoding on hand-made phone strings.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BigramLm } from "../../src/eval/bigram-lm.js";
import { lexiconDecode, lexiconDecodeNBest, lexiconScore, pronunciationsOf, type AlignedUtterance } from "../../src/eval/lexicon-decode.js";

const utt = (words: [string, string[]][]): AlignedUtterance => {
  let t = 0;
  const w: [string, number, number][] = [];
  const p: [string, number, number][] = [];
  for (const [word, phones] of words) {
    const start = t;
    for (const ph of phones) p.push([ph, t, (t += 0.1)]);
    w.push([word, start, t]);
  }
  return { words: w, units: p };
};

test("pronunciationsOf: phones by midpoint, variants with their share, rare variants dropped", () => {
  const prons = pronunciationsOf(
    [
      utt([["the", ["ð", "ə"]], ["cat", ["k", "æ", "t"]]]),
      utt([["the", ["ð", "i"]], ["cat", ["k", "æ", "t"]]]),
      utt([["the", ["ð", "ə"]]]),
    ],
    0.3,
  );
  assert.deepEqual(prons.get("cat"), [{ phones: ["k", "æ", "t"], logPrior: 0 }]);
  const the = prons.get("the")!;
  assert.deepEqual(the.map((v) => v.phones.join(" ")), ["ð ə", "ð i"]);
  assert.ok(Math.abs(the[0]!.logPrior - Math.log(2 / 3)) < 1e-12);
  // minShare 0.5 drops "ð i" (1 of 3) and renormalises
  assert.deepEqual(pronunciationsOf([utt([["the", ["ð", "ə"]]]), utt([["the", ["ð", "ə"]]]), utt([["the", ["ð", "i"]]])], 0.5).get("the"), [{ phones: ["ð", "ə"], logPrior: 0 }]);
});

test("BigramLm: hand-computed probability, and a normalised distribution", () => {
  const lm = BigramLm.fit([["a", "b"], ["a", "c"], ["b"]], 0.5);
  // tokens after <s>: a a b; unigram counts a2 b2 c1 </s>3 (8 tokens), vocab a b c </s> + 1 unseen = 5
  const pu = (n: number) => (n + 1) / (8 + 5);
  // P(b | a): counts after a: b1 c1 (total 2, types 2): (1 - 0.5) / 2 + (0.5 * 2 / 2) * pu(b)
  assert.ok(Math.abs(lm.logProb("a", "b") - Math.log(0.25 + 0.5 * pu(2))) < 1e-12);
  // an unseen context backs off to the unigram
  assert.ok(Math.abs(lm.logProb("zzz", "a") - Math.log(pu(2))) < 1e-12);
  // over every word of the vocabulary plus the unseen-word mass, P(. | a) sums to 1
  const seen = ["a", "b", "c", "</s>"].reduce((s, w) => s + Math.exp(lm.logProb("a", w)), 0);
  const unseen = Math.exp(lm.logProb("a", "never-seen"));
  assert.ok(Math.abs(seen + unseen - 1) < 1e-12, `sums to ${seen + unseen}`);
  assert.throws(() => BigramLm.fit([], 1), /discount/);
});

test("lexiconDecode: exact, noisy and ambiguous phone strings", () => {
  const prons = pronunciationsOf([
    utt([["i", ["aɪ"]], ["see", ["s", "iː"]], ["the", ["ð", "ə"]], ["sea", ["s", "iː"]]]),
    utt([["we", ["w", "iː"]], ["eat", ["iː", "t"]], ["cake", ["k", "eɪ", "k"]]]),
  ]);
  const lm = BigramLm.fit([
    ["i", "see", "the", "sea"],
    ["i", "see", "the", "sea"],
    ["we", "eat", "cake"],
  ]);
  const dec = (p: string) => lexiconDecode(p.split(" ").filter(Boolean), prons, lm).join(" ");
  assert.equal(dec("w iː iː t k eɪ k"), "we eat cake");
  // homophones "see" / "sea": the bigram picks each by its context
  assert.equal(dec("aɪ s iː ð ə s iː"), "i see the sea");
  // one substituted phone (eɪ -> ɛ) and one spurious phone (h) are absorbed
  assert.equal(dec("w iː iː t k ɛ k"), "we eat cake");
  assert.equal(dec("w iː h iː t k eɪ k"), "we eat cake");
  assert.equal(dec(""), "");
});

test("lexiconScore: a forced alignment of given words, worked by hand, and the decoder's best scores highest", () => {
  const prons = pronunciationsOf([utt([["we", ["w", "iː"]], ["eat", ["iː", "t"]], ["cake", ["k", "eɪ", "k"]]])]);
  const lm = BigramLm.fit([["we", "eat", "cake"]]);
  const lmOf = (ws: string[]) => ["<s>", ...ws].reduce((s, w, k, a) => (k === 0 ? s : s + lm.logProb(a[k - 1]!, w)), 0) + lm.logProb(ws.at(-1) ?? "<s>", "</s>");
  const phones = ["w", "iː", "iː", "t", "k", "eɪ", "k"];
  const o = { editCost: 4, skipCost: 6, lmWeight: 1, unknownWordCost: 20 };
  // exact spans, every prior log 1 = 0: the score is the LM's alone
  assert.ok(Math.abs(lexiconScore(phones, ["we", "eat", "cake"], prons, lm, o) - lmOf(["we", "eat", "cake"])) < 1e-9);
  // one phone changed (t -> d): one edit, or skipping the d and spanning "iː" alone with one deletion: min cost 4
  const noisy = ["w", "iː", "iː", "d", "k", "eɪ", "k"];
  assert.ok(Math.abs(lexiconScore(noisy, ["we", "eat", "cake"], prons, lm, o) - (lmOf(["we", "eat", "cake"]) - 4)) < 1e-9);
  // a word left out: its phones are skipped (2 x 6) or absorbed by neighbours' edits, whichever is cheaper
  const dropped = lexiconScore(phones, ["we", "cake"], prons, lm, o);
  assert.ok(Math.abs(dropped - (lmOf(["we", "cake"]) - 8)) < 1e-9, `got ${dropped}`);
  // a word without a pronunciation spans nothing and costs unknownWordCost; of the phones left (k eɪ k) "eat"
  // absorbs two by two insertions (its span may be 2 longer: 2 x 4) and the last is skipped (6), cheaper than 3 skips
  assert.ok(Math.abs(lexiconScore(phones, ["we", "eat", "pie"], prons, lm, o) - (lmOf(["we", "eat", "pie"]) - 20 - 8 - 6)) < 1e-9);
  // more words than the phones can hold: a word may span no phones (all its units deleted), so the score stays finite
  assert.ok(Math.abs(lexiconScore(["k"], ["we", "eat", "cake"], prons, lm, o) - (lmOf(["we", "eat", "cake"]) - 4 * (2 + 2 + 2))) < 1e-9);
  // no words: every phone skipped
  assert.ok(Math.abs(lexiconScore(phones, [], prons, lm, o) - (lm.logProb("<s>", "</s>") - 7 * 6)) < 1e-9);
  // the decoder's own answer scores at least as high as any other sequence tried
  const best = lexiconDecode(noisy, prons, lm, o);
  for (const ws of [["we", "eat"], ["eat", "cake"], ["we", "cake"], ["we", "eat", "cake", "cake"]]) {
    assert.ok(lexiconScore(noisy, best, prons, lm, o) >= lexiconScore(noisy, ws, prons, lm, o));
  }
});

test("lexiconDecodeNBest: distinct sequences best first, the first is lexiconDecode's, each scored as lexiconScore scores it", () => {
  const prons = pronunciationsOf([
    utt([["i", ["aɪ"]], ["see", ["s", "iː"]], ["the", ["ð", "ə"]], ["sea", ["s", "iː"]]]),
    utt([["we", ["w", "iː"]], ["eat", ["iː", "t"]], ["cake", ["k", "eɪ", "k"]]]),
  ]);
  const lm = BigramLm.fit([["i", "see", "the", "sea"], ["i", "see", "the", "sea"], ["we", "eat", "cake"]]);
  const o = { editCost: 4, skipCost: 6, lmWeight: 1 };
  for (const p of ["aɪ s iː ð ə s iː", "w iː h iː t k ɛ k", "s iː", ""]) {
    const phones = p.split(" ").filter(Boolean);
    const list = lexiconDecodeNBest(phones, prons, lm, 5, o);
    assert.deepEqual(list[0]!.words, lexiconDecode(phones, prons, lm, o), p);
    assert.deepEqual(lexiconDecodeNBest(phones, prons, lm, 1, o), list.slice(0, 1), `${p}: n = 1 is the head of the list`);
    const keys = list.map((h) => h.words.join(" "));
    assert.equal(new Set(keys).size, keys.length, `${p}: distinct`);
    for (let k = 1; k < list.length; k++) assert.ok(list[k - 1]!.score >= list[k]!.score, `${p}: ranked`);
    // a sequence's score is its best alignment's (the search's words only span ±1 phone, so the forced alignment can only score higher)
    for (const h of list) assert.ok(lexiconScore(phones, h.words, prons, lm, { ...o, unknownWordCost: 20 }) >= h.score - 1e-9, `${p}: ${h.words.join(" ")}`);
    if (phones.length >= 2) assert.ok(list.length >= 2, `${p}: more than one reading`);
  }
  // "s iː": the homophones are both there, ranked by the bigram after <s>
  const two = lexiconDecodeNBest(["s", "iː"], prons, lm, 5, o).map((h) => h.words.join(" "));
  assert.ok(two.includes("see") && two.includes("sea"), two.join(" | "));
  assert.throws(() => lexiconDecodeNBest([], prons, lm, 0), /n must be/);
});
