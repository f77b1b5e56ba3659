/**
 * Word-LM fusion: the bigram's look-ahead (best word with a prefix) against brute force over its
 * vocabulary, and the word-LM prefix scorer's scores against hand-summed bigram log-probabilities.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BigramLm } from "../../src/eval/bigram-lm.js";
import { WordLmPrefixScorer } from "../../src/eval/word-lm-prefix.js";
import { WeightedPrefixScorer, type PrefixScorer } from "../../src/eval/ctc-prefix.js";

const TEXT = [
  ["the", "cat", "sat"],
  ["the", "car", "stopped"],
  ["a", "cat", "ran"],
  ["the", "cat", "ran"],
  ["cats", "sat"],
].map((s) => s);
const lm = BigramLm.fit(TEXT, 0.5);
const VOCAB = ["the", "cat", "sat", "car", "stopped", "a", "ran", "cats"];

test("bigram look-ahead: the best word with a prefix, an unseen word included, equals brute force", () => {
  for (const prev of ["<s>", "the", "cat", "never-a-context"]) {
    for (const prefix of ["", "c", "ca", "cat", "s", "st", "zz", "the"]) {
      const words = VOCAB.filter((w) => w.startsWith(prefix));
      const brute = Math.max(lm.logProb(prev, "an-unseen-word"), ...words.map((w) => lm.logProb(prev, w)));
      assert.ok(Math.abs(lm.bestLogProbWithPrefix(prev, prefix) - brute) < 1e-12, `${prev} ${prefix}`);
    }
  }
  // after "the", "cat" (2 of 3) beats "car" (1 of 3)
  assert.ok(Math.abs(lm.bestLogProbWithPrefix("the", "ca") - lm.logProb("the", "cat")) < 1e-12);
  // </s> is no word: after "sat" it is the only seen successor, yet the look-ahead of "" is a real word's
  assert.ok(lm.bestLogProbWithPrefix("sat", "") < lm.logProb("sat", "</s>"));
});

// token pieces: 0 = blank (never extended), 1 = a special token (no text), 2.. pieces
const PIECES = ["", "", "▁the", "▁ca", "t", "r", "▁sat", "▁", "s", "▁zq"];
const ids = (s: string) => s.split(" ").map((p) => PIECES.indexOf(p));
const scorer = new WordLmPrefixScorer(lm, { pieceOf: (id) => PIECES[id]!, wordStart: "▁", blank: 0 });

function scores(s: PrefixScorer, tokens: number[]) {
  let g = s.initial();
  const out: number[] = [g.score];
  for (const c of tokens) out.push((g = s.extend(g, c)).score);
  return { prefix: out, final: s.final(g) };
}

test("word-LM scorer: completed words by their bigram, the word being spelt by look-ahead, </s> at the end", () => {
  const lp = (a: string, b: string) => lm.logProb(a, b);
  const { prefix, final } = scores(scorer, ids("▁the ▁ca t ▁sat"));
  const want = [
    0,
    lm.bestLogProbWithPrefix("<s>", "the"),
    lp("<s>", "the") + lm.bestLogProbWithPrefix("the", "ca"),
    lp("<s>", "the") + lm.bestLogProbWithPrefix("the", "cat"),
    lp("<s>", "the") + lp("the", "cat") + lm.bestLogProbWithPrefix("cat", "sat"),
  ];
  prefix.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-12, `prefix ${i}: ${x} vs ${want[i]}`));
  assert.ok(Math.abs(final - (lp("<s>", "the") + lp("the", "cat") + lp("cat", "sat") + lp("sat", "</s>"))) < 1e-12);
  // a likelier sentence scores higher: "the cat sat" against "the car sat"
  assert.ok(final > scores(scorer, ids("▁the ▁ca r ▁sat")).final);
  // a word outside the LM costs the unseen-word probability, and the score never rises as words are added
  const unk = scores(scorer, ids("▁the ▁zq ▁sat"));
  assert.ok(Math.abs(unk.final - (lp("<s>", "the") + lp("the", "zq") + lp("zq", "sat") + lp("sat", "</s>"))) < 1e-12);
  for (const s of [scores(scorer, ids("▁the ▁ca t ▁sat")), unk]) for (let i = 1; i < s.prefix.length; i++) assert.ok(s.prefix[i]! <= s.prefix[i - 1]! + 1e-12);
});

test("word-LM scorer: tokens without text leave the state, a bare marker ends a word, weights scale it", () => {
  const plain = scores(scorer, ids("▁the ▁ca t"));
  const special = scores(scorer, [...ids("▁the"), 1, ...ids("▁ca"), 1, ...ids("t")]);
  assert.ok(Math.abs(plain.final - special.final) < 1e-12);
  // "▁ca t ▁ s": the bare marker completes "cat"; "s" begins the next word
  const split = scores(scorer, ids("▁ca t ▁ s"));
  assert.ok(Math.abs(split.final - (lm.logProb("<s>", "cat") + lm.logProb("cat", "s") + lm.logProb("s", "</s>"))) < 1e-12);
  const weighted = new WeightedPrefixScorer([scorer], [0.4]);
  assert.ok(Math.abs(scores(weighted, ids("▁the ▁ca t")).final - 0.4 * plain.final) < 1e-12);
  assert.throws(() => new WordLmPrefixScorer(lm, { pieceOf: () => "", wordStart: "", blank: 0 }), /word-start/);
});

test("word-LM proposals: word starts of the likeliest next words, continuations towards the likeliest words, within its word list", () => {
  const o = { pieceOf: (id: number) => PIECES[id]!, wordStart: "▁", blank: 0, vocabSize: PIECES.length };
  const prop = new WordLmPrefixScorer(lm, { ...o, maxProposals: 4 });
  const after = (s: WordLmPrefixScorer, t: string) => t.split(" ").reduce((g, p) => s.extend(g, PIECES.indexOf(p)), s.initial());
  const names = (ids: number[]) => ids.map((i) => PIECES[i]);
  // after "the": "cat" (2 of 3) and "car" (1) both start with "▁ca"; the other starts are ranked by P(w | the)
  const next = names(prop.propose(after(prop, "▁the"), 4));
  assert.equal(next[0], "▁ca");
  const rank = (w: string) => lm.logProb("the", w);
  assert.ok(rank("cat") > rank("the") && rank("cat") > rank("sat"));
  // "▁ca" spelt: "t" (cat) before "r" (car); no word starts while "ca" is no word
  assert.deepEqual(names(prop.propose(after(prop, "▁the ▁ca"), 4)), ["t", "r"]);
  // a word list leaves out what the other scorers do not know
  const onlyCar = new WordLmPrefixScorer(lm, { ...o, maxProposals: 4, words: ["car", "sat"] });
  assert.deepEqual(names(onlyCar.propose(after(onlyCar, "▁the ▁ca"), 4)), ["r"]);
  // once "cat" is a word, the next words' starts come too: "▁sat" after "cat"
  assert.ok(names(prop.propose(after(prop, "▁the ▁ca t"), 4)).includes("▁sat"));
  // the beam search's count is capped by maxProposals; none by default or without the vocabulary size
  assert.equal(prop.propose(after(prop, "▁the"), 1).length, 1);
  assert.deepEqual(new WordLmPrefixScorer(lm, o).propose(after(prop, "▁the"), 4), []);
  assert.deepEqual(new WordLmPrefixScorer(lm, { ...o, vocabSize: undefined, maxProposals: 4 }).propose(after(prop, "▁the"), 4), []);
});
