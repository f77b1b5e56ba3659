import { test } from "node:test";
import assert from "node:assert/strict";
import { CtcPrefixScorer, logAdd, WeightedPrefixScorer, type PrefixScorer } from "../../src/eval/ctc-prefix.js";
import { Offers, pieceIndexOf } from "../../src/eval/word-pieces.js";
import { LexiconPrefixScorer, type UnitLexicon } from "../../src/eval/lexicon-prefix.js";
import { Rng } from "../../src/util/rng.js";
import { randomLogp } from "../helpers/logp.js";

/** Every unit path over T frames, collapsed (repeats merged, blank 0 dropped), with its probability. */
function allPaths(logp: Float32Array, T: number, V: number): Array<{ labels: number[]; p: number }> {
  const out: Array<{ labels: number[]; p: number }> = [];
  for (let code = 0; code < V ** T; code++) {
    let x = code;
    let lp = 0;
    const path: number[] = [];
    for (let t = 0; t < T; t++) {
      path.push(x % V);
      x = Math.floor(x / V);
      lp += logp[t * V + path[t]!]!;
    }
    out.push({ labels: path.filter((c, t) => c !== 0 && (t === 0 || c !== path[t - 1])), p: Math.exp(lp) });
  }
  return out;
}

// units 1..3 (0 = blank); "bb" ends and "ba" starts with unit 2, so a word boundary repeats a unit
const LEXICON: UnitLexicon = new Map([
  ["ab", [{ units: [1, 2], logPrior: Math.log(0.7) }, { units: [3], logPrior: Math.log(0.3) }]],
  ["ac", [{ units: [1, 3], logPrior: 0 }]],
  ["ba", [{ units: [2, 1], logPrior: 0 }]],
  ["bb", [{ units: [2], logPrior: 0 }]],
]);
// sub-word tokens: 0 = the LLM blank (never extended), 1 = a special token (no text), 2.. pieces
const PIECES = ["", "", "▁a", "▁b", "a", "b", "c", "▁", "x"];
const tokens = (s: string) => s.split(" ").map((p) => PIECES.indexOf(p));

function scorer(logp: Float32Array, unknownLogProb = -50, vocabSize?: number): LexiconPrefixScorer {
  return new LexiconPrefixScorer(new CtcPrefixScorer(logp, 4, 0), LEXICON, { pieceOf: (id) => PIECES[id]!, wordStart: "▁", blank: 0, unknownLogProb, vocabSize });
}

function run(s: PrefixScorer, ids: number[]) {
  let st = s.initial();
  for (const c of ids) st = s.extend(st, c);
  return st;
}

const T = 6;
const V = 4;
const logp = randomLogp(T, V, new Rng(11));
const paths = allPaths(logp, T, V);
const startsWith = (a: number[], h: readonly number[]) => h.every((c, i) => a[i] === c);
const same = (a: number[], h: readonly number[]) => a.length === h.length && startsWith(a, h);
/** Σ over pronunciation sequences of Π prior · P(collapsed labels equal / begin with their units). */
function brute(words: string[], prefixOnly: boolean): number {
  let combos: Array<{ units: number[]; prior: number }> = [{ units: [], prior: 1 }];
  for (const w of words) combos = combos.flatMap((c) => LEXICON.get(w)!.map((p) => ({ units: [...c.units, ...p.units], prior: c.prior * Math.exp(p.logPrior) })));
  return Math.log(combos.reduce((a, c) => a + c.prior * paths.filter((x) => (prefixOnly ? startsWith(x.labels, c.units) : same(x.labels, c.units))).reduce((s, x) => s + x.p, 0), 0));
}

test("lexicon scorer: the final score sums every pronunciation sequence's CTC probability (brute force, repeated unit across words)", () => {
  const sc = scorer(logp);
  for (const [text, words] of [
    ["▁a b", ["ab"]],
    ["▁a b ▁b b", ["ab", "bb"]],
    ["▁b b ▁b a", ["bb", "ba"]],
    ["▁a c ▁b a ▁a b", ["ac", "ba", "ab"]],
  ] as const) {
    const got = sc.final(run(sc, tokens(text)));
    assert.ok(Math.abs(got - brute([...words], false)) < 1e-6, `${text}: ${got} vs ${brute([...words], false)}`);
  }
});

test("lexicon scorer: a completed word is scored by its prefix probability; the word being spelt by look-ahead over the words it can become", () => {
  const sc = scorer(logp);
  // "ab" is complete once the next word starts; "▁b" alone can become "ba" or "bb": the better of the two
  const st = run(sc, tokens("▁a b ▁b"));
  const expect = Math.max(brute(["ab", "ba"], true), brute(["ab", "bb"], true));
  assert.ok(Math.abs(st.score - expect) < 1e-6, `${st.score} vs ${expect}`);
  // "▁a" can become "ab" or "ac"; "▁a c" only "ac"; the empty prefix scores 0
  assert.ok(Math.abs(run(sc, tokens("▁a")).score - Math.max(brute(["ab"], true), brute(["ac"], true))) < 1e-6);
  assert.ok(Math.abs(run(sc, tokens("▁a c")).score - brute(["ac"], true)) < 1e-6);
  assert.equal(sc.initial().score, 0);
  // a special token adds no text and changes nothing
  assert.equal(run(sc, [...tokens("▁a c"), 1]).score, run(sc, tokens("▁a c")).score);
});

test("lexicon scorer: a word outside the lexicon is charged once, as soon as it is no prefix of a word, and leaves the units alone", () => {
  const sc = scorer(logp, -50);
  const base = brute(["ab"], true);
  // "ax" is no prefix of a lexicon word: charged now, the units stay those of "ab"
  assert.ok(Math.abs(run(sc, tokens("▁a b ▁a x")).score - (base - 50)) < 1e-6);
  // spelling on does not charge again, and neither does completing it
  assert.ok(Math.abs(run(sc, tokens("▁a b ▁a x x x")).score - (base - 50)) < 1e-6);
  assert.ok(Math.abs(sc.final(run(sc, tokens("▁a b ▁a x x"))) - (brute(["ab"], false) - 50)) < 1e-6);
  // a lexicon prefix that ends without becoming a word ("▁a" then the sentence ends) is charged at the end
  assert.ok(Math.abs(sc.final(run(sc, tokens("▁a b ▁a"))) - (brute(["ab"], false) - 50)) < 1e-6);
  // a bare word-start piece followed by a new word is no word
  assert.ok(Math.abs(sc.final(run(sc, tokens("▁a b ▁ ▁b b"))) - brute(["ab", "bb"], false)) < 1e-6);
  assert.throws(() => scorer(logp, 1), /unknownLogProb must be ≤ 0/);
});

test("weighted scorer: Σ w·score at every prefix and at the end; bad weights and mixed blanks are refused", () => {
  const a = new CtcPrefixScorer(randomLogp(4, 5, new Rng(1)), 5, 0);
  const b = new CtcPrefixScorer(randomLogp(4, 5, new Rng(2)), 5, 0);
  const w = new WeightedPrefixScorer([a, b], [0.25, 0.5]);
  for (const h of [[], [1], [1, 3], [4, 4, 2]]) {
    const sw = run(w, h);
    const sa = run(a, h);
    const sb = run(b, h);
    assert.ok(Math.abs(sw.score - (0.25 * sa.score + 0.5 * sb.score)) < 1e-9);
    assert.ok(Math.abs(w.final(sw) - (0.25 * a.final(sa) + 0.5 * b.final(sb))) < 1e-9);
  }
  assert.throws(() => new WeightedPrefixScorer([a, b], [1]), /1 weights for 2 scorers/);
  assert.throws(() => new WeightedPrefixScorer([a], [-1]), /finite and ≥ 0/);
  assert.throws(() => new WeightedPrefixScorer([a, new CtcPrefixScorer(randomLogp(4, 5, new Rng(3)), 5, 1)], [1, 1]), /disagree on the blank/);
});

/** ψ of one pronunciation sequence (units) after the words before it: log Σ P(labels begin with them). */
function psiUnits(units: readonly number[]): number {
  return Math.log(paths.filter((x) => startsWith(x.labels, units)).reduce((a, x) => a + x.p, 0));
}

test("lexicon proposals: continuations of the word being spelt by its words' scores; after a complete word, word starts by the best next word", () => {
  const sc = scorer(logp, -50, PIECES.length);
  const ids = (...ps: string[]) => ps.map((p) => PIECES.indexOf(p));
  // nothing begun: the word-start pieces "▁a" and "▁b", ranked by their best word's best pronunciation
  const bestOf = (first: string) =>
    Math.max(...[...LEXICON].filter(([w]) => w.startsWith(first)).flatMap(([, prons]) => prons.map((p) => psiUnits(p.units) + p.logPrior)));
  const start = bestOf("a") > bestOf("b") ? ids("▁a", "▁b") : ids("▁b", "▁a");
  assert.deepEqual(sc.propose(sc.initial(), 5), start);
  assert.deepEqual(sc.propose(sc.initial(), 1), start.slice(0, 1));
  // "▁a" is being spelt: "b" and "c" continue it (to "ab", "ac"), ranked by those words' summed scores; no word start ("a" is no word)
  const ab = brute(["ab"], true);
  const ac = brute(["ac"], true);
  assert.deepEqual(sc.propose(run(sc, tokens("▁a")), 5), ab > ac ? ids("b", "c") : ids("c", "b"));
  // "▁a b" is complete: nothing continues it, and the next word starts are ranked after "ab"
  const after = (first: string) =>
    Math.max(
      ...[...LEXICON]
        .filter(([w]) => w.startsWith(first))
        .flatMap(([, prons]) => prons.map((p) => Math.log(LEXICON.get("ab")!.reduce((a, q) => a + Math.exp(q.logPrior + psiUnits([...q.units, ...p.units])), 0)) + p.logPrior)),
    );
  assert.deepEqual(sc.propose(run(sc, tokens("▁a b")), 5), after("a") > after("b") ? ids("▁a", "▁b") : ids("▁b", "▁a"));
  // a word outside the lexicon, or a scorer that was not told the vocabulary: no proposals
  assert.deepEqual(sc.propose(run(sc, tokens("▁a x")), 5), []);
  assert.deepEqual(scorer(logp).propose(sc.initial(), 5), []);
});

test("lexicon proposals: the weighted scorer passes on its parts' proposals; proposing leaves every score unchanged", () => {
  const sc = scorer(logp, -50, PIECES.length);
  const plain = scorer(logp, -50);
  const w = new WeightedPrefixScorer([new CtcPrefixScorer(randomLogp(T, 9, new Rng(4)), 9, 0), sc], [0.5, 0.5]);
  const st = run(w, tokens("▁a b"));
  assert.deepEqual(w.propose(st, 5), sc.propose(run(sc, tokens("▁a b")), 5));
  // the caches proposals fill are the ones scoring reads: the same scores with or without proposing first
  for (const text of ["▁a b ▁b a", "▁b b ▁a c", "▁a c ▁b"]) {
    let a = sc.initial();
    for (const c of tokens(text)) {
      sc.propose(a, 4);
      a = sc.extend(a, c);
    }
    const b = run(plain, tokens(text));
    assert.ok(Math.abs(a.score - b.score) < 1e-9 && Math.abs(sc.final(a) - plain.final(b)) < 1e-9, text);
  }
});

// A larger random lexicon over a peaky head, where the look-ahead's bounded search has something to skip.
const R_LETTERS = ["a", "b", "c", "d", "e"];
const R_PIECES = ["", "", ...R_LETTERS.map((l) => `▁${l}`), ...R_LETTERS, ...R_LETTERS.flatMap((l) => R_LETTERS.map((m) => l + m))];
const R_UNITS = 10; // units 1..10, blank 0
function randomLexicon(rng: Rng): Map<string, Array<{ units: number[]; logPrior: number }>> {
  const lex = new Map<string, Array<{ units: number[]; logPrior: number }>>();
  while (lex.size < 150) {
    const word = Array.from({ length: 1 + Math.floor(rng.next() * 4) }, () => R_LETTERS[Math.floor(rng.next() * 5)]!).join("");
    if (lex.has(word)) continue;
    const k = 1 + Math.floor(rng.next() * 2);
    const w = Array.from({ length: k }, () => 0.2 + rng.next());
    const total = w.reduce((a, x) => a + x, 0);
    lex.set(word, w.map((x) => ({ units: Array.from({ length: 1 + Math.floor(rng.next() * 4) }, () => 1 + Math.floor(rng.next() * R_UNITS)), logPrior: Math.log(x / total) })));
  }
  return lex;
}
/** A peaky head: each frame's mass mostly on one unit (or the blank), as a trained CTC head's. */
function peakyLogp(T: number, rng: Rng): Float32Array {
  const logp = randomLogp(T, R_UNITS + 1, rng);
  for (let t = 0; t < T; t++) {
    const peak = Math.floor(rng.next() * (R_UNITS + 1));
    const row = Array.from({ length: R_UNITS + 1 }, (_, v) => logp[t * (R_UNITS + 1) + v]! + (v === peak ? 6 : 0));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    row.forEach((x, v) => (logp[t * (R_UNITS + 1) + v] = x - lse));
  }
  return logp;
}
/** A unit CTC scorer that counts its extensions. */
class CountingCtc extends CtcPrefixScorer {
  extensions = 0;
  override extend(g: Parameters<CtcPrefixScorer["extend"]>[0], c: number) {
    this.extensions++;
    return super.extend(g, c);
  }
}

test("lexicon look-ahead and proposals: the bounded search gives the exhaustive results (every word scored) and scores fewer unit paths", () => {
  const rng = new Rng(29);
  const lex = randomLexicon(rng);
  const tok = (s: string) => s.split(" ").map((p) => R_PIECES.indexOf(p));
  for (let trial = 0; trial < 4; trial++) {
    const logp = peakyLogp(30, rng);
    const units = new CountingCtc(logp, R_UNITS + 1, 0);
    const sc = new LexiconPrefixScorer(units, lex, { pieceOf: (id) => R_PIECES[id]!, wordStart: "▁", blank: 0, unknownLogProb: -50, vocabSize: R_PIECES.length });
    const ref = new CtcPrefixScorer(logp, R_UNITS + 1, 0);
    const psi = (u: readonly number[]) => u.reduce((s, c) => ref.extend(s, c), ref.initial()).score;
    /** Exhaustive: log Σ_p P(p | w) ψ(before ⊕ p), before = one pronunciation's units (a one-pronunciation word before it). */
    const wordScore = (before: readonly number[], w: string) => lex.get(w)!.reduce((a, p) => logAdd(a, p.logPrior + psi([...before, ...p.units])), -Infinity);
    const words = [...lex.keys()];
    const onePron = words.filter((w) => lex.get(w)!.length === 1);
    for (const [first, pending] of [[undefined, "a"], [undefined, "b"], [onePron[trial]!, "c"], [onePron[trial + 4]!, "d"]] as const) {
      const before = first === undefined ? [] : lex.get(first)!.at(0)!.units;
      const text = `${first === undefined ? "" : `▁${[...first].join(" ")} `}▁${pending}`.trim();
      const before0 = units.extensions;
      let st = sc.initial();
      for (const c of tok(text)) st = sc.extend(st, c);
      const extensionsBounded = units.extensions - before0;
      const expect = Math.max(...words.filter((w) => w.startsWith(pending)).map((w) => wordScore(before, w)));
      assert.ok(Math.abs(st.score - expect) < 1e-9, `${text}: ${st.score} vs ${expect}`);
      // the exhaustive look-ahead walks every unit path of every word the pending letters can become
      const nodes = new Set(words.filter((w) => w.startsWith(pending)).flatMap((w) => lex.get(w)!.flatMap((p) => p.units.map((_, k) => p.units.slice(0, k + 1).join(",")))));
      if (first === undefined) assert.ok(extensionsBounded < nodes.size, `${text}: ${extensionsBounded} unit extensions, ${nodes.size} paths`);
      // proposals: every word's continuation pieces at its exhaustive score, and (a complete pending word) the starts of the best next words
      for (const n of [1, 3, 8]) {
        const offers = new Offers();
        const pieces = pieceIndexOf({ pieceOf: (id) => R_PIECES[id]!, wordStart: "▁", blank: 0, vocabSize: R_PIECES.length });
        for (const w of words.filter((x) => x.startsWith(pending))) offers.continuations(pieces, pending, w, wordScore(before, w));
        if (lex.has(pending)) {
          const after = lex.get(pending)!;
          const next = words
            .map((w) => ({ w, s: Math.max(...lex.get(w)!.map((p) => p.logPrior + Math.log(after.reduce((a, q) => a + Math.exp(q.logPrior + psi([...before, ...q.units, ...p.units])), 0)))) }))
            .sort((a, b) => b.s - a.s)
            .slice(0, n);
          for (const { w, s } of next) offers.starts(pieces, w, s);
        }
        assert.deepEqual(sc.propose(st, n), offers.ranked(n), `${text} n=${n}`);
      }
    }
  }
});
