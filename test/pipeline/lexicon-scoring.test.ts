import { test } from "node:test";
import assert from "node:assert/strict";
import { unitLexiconOf } from "../../src/pipeline/lexicon-scoring.js";

test("unit lexicon: pronunciations of the aligned words as head class ids (unit k -> k + 1); a unit outside the head drops that pronunciation", () => {
  const utts = [
    { words: [["cat", 0, 0.3], ["sat", 0.3, 0.6]] as const, units: [["k", 0, 0.1], ["a", 0.1, 0.2], ["t", 0.2, 0.3], ["s", 0.3, 0.4], ["a", 0.4, 0.5], ["t", 0.5, 0.6]] as const },
    { words: [["cat", 0, 0.3]] as const, units: [["k", 0, 0.1], ["æ", 0.1, 0.2], ["t", 0.2, 0.3]] as const },
  ];
  const { lexicon, dropped } = unitLexiconOf(utts, ["k", "a", "t", "s"]);
  assert.deepEqual(lexicon.get("cat"), [{ units: [1, 2, 3], logPrior: 0 }]);
  assert.deepEqual(lexicon.get("sat"), [{ units: [4, 2, 3], logPrior: 0 }]);
  assert.equal(dropped, 1, "k æ t has a unit the head lacks");
  // with it in the head, both variants stay, with priors from their counts
  const both = unitLexiconOf(utts, ["k", "a", "t", "s", "æ"]).lexicon.get("cat")!;
  assert.deepEqual(both.map((p) => p.units), [[1, 2, 3], [1, 5, 3]]);
  assert.ok(Math.abs(both[0]!.logPrior - Math.log(0.5)) < 1e-12);
});
