/**
 * Hypothesis combination with the lexicon recogniser (src/pipeline/lexicon-combination.ts): the choice rule
 * and the file name, by hand. The whole path (an evaluation reopened, both hypotheses scored, the files
 * written) runs on smoke runs in test/pipeline/pipeline.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkNBest, chooseCandidate, chooseHypothesis, combinationName, combinedScore, parseNBest } from "../../src/pipeline/lexicon-combination.js";

test("chooseHypothesis: (1 - α)·joint + α·lexicon, by hand; ties keep the LLM's", () => {
  // the LLM prefers its own (-10 against -14), the lexicon recogniser its own (-30 against -20)
  const u = { llm: { hyp: "a b", joint: -10, lexicon: -30 }, lex: { hyp: "a c", joint: -14, lexicon: -20 } };
  assert.equal(chooseHypothesis(u, 0), "llm");
  assert.equal(chooseHypothesis(u, 1), "lex");
  // α 0.2: llm 0.8·-10 + 0.2·-30 = -14, lex 0.8·-14 + 0.2·-20 = -15.2 -> llm; α 0.4: -18 against -16.4 -> lex
  assert.equal(chooseHypothesis(u, 0.2), "llm");
  assert.equal(chooseHypothesis(u, 0.4), "lex");
  // the crossing is at α = 2/7: equal scores there keep the LLM's hypothesis
  const same = { llm: { hyp: "x", joint: -5, lexicon: -5 }, lex: { hyp: "y", joint: -5, lexicon: -5 } };
  assert.equal(chooseHypothesis(same, 0.5), "llm");
  // a hypothesis the LLM's CTC cannot align (joint -Infinity): never taken below α = 1, and α = 1 reads the lexicon alone (no NaN)
  const impossible = { llm: { hyp: "x", joint: -50, lexicon: -40 }, lex: { hyp: "y z w", joint: -Infinity, lexicon: -8 } };
  assert.equal(chooseHypothesis(impossible, 0.9), "llm");
  assert.equal(chooseHypothesis(impossible, 1), "lex");
  assert.equal(chooseHypothesis({ llm: impossible.lex, lex: impossible.llm }, 0), "lex");
});

test("chooseCandidate: the N-best choice, by hand; the earlier candidate wins a tie", () => {
  const cands = [
    { hyp: "a b", joint: -10, lexicon: -30 }, // the LLM's 1-best
    { hyp: "a b c", joint: -12, lexicon: -21 }, // the LLM's 2nd
    { hyp: "a c", joint: -14, lexicon: -20 }, // the recogniser's 1-best
    { hyp: "a d", joint: -Infinity, lexicon: -18 }, // the recogniser's 2nd, which the LLM's CTC cannot align
  ];
  // α 0: the LLM's order; α 0.4: -18, -15.6, -16.4, -Infinity -> the LLM's 2nd, which neither 1-best pair would give; α 1: the lexicon's order
  assert.equal(chooseCandidate(cands, 0).hyp, "a b");
  assert.equal(chooseCandidate(cands, 0.4).hyp, "a b c");
  assert.ok(Math.abs(combinedScore(cands[1]!, 0.4) - (0.6 * -12 + 0.4 * -21)) < 1e-12);
  assert.equal(chooseCandidate(cands, 1).hyp, "a d");
  assert.equal(chooseCandidate([{ hyp: "x", joint: -1, lexicon: -1 }, { hyp: "y", joint: -1, lexicon: -1 }], 0.5).hyp, "x");
  // two candidates: the same choice as chooseHypothesis
  for (const a of [0, 0.2, 0.4, 1]) assert.equal(chooseCandidate([cands[0]!, cands[2]!], a).hyp === "a b" ? "llm" : "lex", chooseHypothesis({ llm: cands[0]!, lex: cands[2]! }, a));
  assert.throws(() => chooseCandidate([], 0.5), /no candidates/);
});

test("combinationName: beside the evaluation's, the split kept last", () => {
  assert.equal(combinationName("results/runs/r/eval/vsr_0-2_ctcdec0.3.json", 0.4), "vsr_0-2_ctcdec0.3_lexcomb0.4");
  assert.equal(combinationName("results/runs/r/eval/vsr_0-2_ctcdec0.3_val.json", 0.4), "vsr_0-2_ctcdec0.3_lexcomb0.4_val");
  assert.equal(combinationName("x/asr_4-0_beam8_lp0_val.json", 0), "asr_4-0_beam8_lp0_lexcomb0_val");
  // N-best lists are named; 1 and 1 is the plain two-way name
  assert.equal(combinationName("r/vsr_0-2_ctcdec0.3_val.json", 0.5, { llm: 4, lexicon: 8 }), "vsr_0-2_ctcdec0.3_lexcomb0.5_nbest4x8_val");
  assert.equal(combinationName("r/vsr_0-2_ctcdec0.3.json", 0.5, { llm: 1, lexicon: 1 }), "vsr_0-2_ctcdec0.3_lexcomb0.5");
});

test("parseNBest and checkNBest: the flag's N,M, defaults 1 and 1, the LLM's list no longer than its beam", () => {
  assert.deepEqual(parseNBest("4,16", "--nbest"), { llm: 4, lexicon: 16 });
  for (const bad of ["4", "4,16,2", "4,x", "4.5,2", ""]) assert.throws(() => parseNBest(bad, "--nbest"), /--nbest: give N,M/, bad);
  assert.deepEqual(checkNBest(undefined, 4), { llm: 1, lexicon: 1 });
  assert.deepEqual(checkNBest({ lexicon: 16 }, 1), { llm: 1, lexicon: 16 });
  assert.deepEqual(checkNBest({ llm: 4, lexicon: 16 }, 4), { llm: 4, lexicon: 16 });
  assert.throws(() => checkNBest({ llm: 5 }, 4), /needs a beam at least as wide \(beam 4\)/);
  assert.throws(() => checkNBest({ lexicon: 0 }, 4), /lexicon recogniser must be an integer ≥ 1/);
  assert.throws(() => checkNBest({ llm: 1.5 }, 4), /LLM must be an integer ≥ 1/);
});
