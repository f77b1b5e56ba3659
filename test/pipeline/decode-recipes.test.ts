import { test } from "node:test";
import assert from "node:assert/strict";
import { JOINT, JOINT_LEXICON_COMBINATION, LEXICON, LEXICON_WORD_LM, RECIPES, RECIPE_NAMES, VSR_COMBINATION_WEIGHT, withRecipe } from "../../src/pipeline/decode-recipes.js";
import { evalFileName } from "../../src/pipeline/eval-files.js";
import { LEVER_CTC_DECODE, LEVER_LEXICON } from "../../src/experiments/plan.js";

const fileOf = (task: "asr" | "vsr" | "avsr", s: ReturnType<typeof withRecipe>) =>
  evalFileName({ task, rates: { audio: 4, video: 2 }, ctcDecode: s.ctcDecodeWeight, lexDecode: s.lexiconDecodeWeight, lexProposals: s.lexiconProposals, wordLm: s.wordLmWeight, beam: s.beam, lengthPenalty: s.lengthPenalty });

test("decoding recipes: each task's settings, and the files they name are the committed evaluations'", () => {
  assert.deepEqual(RECIPE_NAMES, ["paper", "joint", "lexicon", "best"]);
  assert.equal(fileOf("asr", withRecipe("paper", "asr", {})), "asr_4-0");
  assert.equal(fileOf("avsr", withRecipe("joint", "avsr", {})), "avsr_4-2_ctcdec0.3");
  // the levers table's lexicon cells (experiments/plan.ts) are the lexicon recipe's
  assert.equal(fileOf("asr", withRecipe("lexicon", "asr", {})), "asr_4-0_ctcdec0.3_lexdec0.5_prop8_lp0");
  assert.deepEqual(LEVER_LEXICON, { ctcDecode: LEXICON.ctcDecodeWeight, weight: LEXICON.lexiconDecodeWeight, proposals: LEXICON.lexiconProposals, lengthPenalty: LEXICON.lengthPenalty });
  assert.equal(LEVER_CTC_DECODE, JOINT.ctcDecodeWeight);
  // best: lexicon + word LM at beam 8 for the tasks with audio, joint decoding + lexicon combination (α 0.4) for VSR
  assert.equal(fileOf("asr", withRecipe("best", "asr", {})), "asr_4-0_ctcdec0.3_lexdec0.5_prop8_wlm0.3_beam8_lp0");
  assert.equal(fileOf("avsr", withRecipe("best", "avsr", {})), "avsr_4-2_ctcdec0.3_lexdec0.5_prop8_wlm0.3_beam8_lp0");
  assert.deepEqual(withRecipe("best", "vsr", {}), { ...JOINT, lexiconCombination: 0.4, lexiconCombinationNBest: { llm: 4, lexicon: 16 } });
  // the LLM's N-best comes from its beam: never more than the recipe's width
  assert.ok(RECIPES.best.vsr.lexiconCombinationNBest!.llm <= RECIPES.best.vsr.beam!);
  assert.deepEqual(RECIPES.best.vsr, JOINT_LEXICON_COMBINATION);
  assert.equal(VSR_COMBINATION_WEIGHT, 0.4);
  assert.deepEqual(RECIPES.best.asr, LEXICON_WORD_LM);
});

test("decoding recipes: flags given override the recipe, absent ones do not, and an unknown name is refused", () => {
  const s = withRecipe("best", "asr", { beam: 4, wordLmWeight: undefined, lexiconDecodeWeight: 0.3 });
  assert.deepEqual(s, { ...LEXICON_WORD_LM, beam: 4, lexiconDecodeWeight: 0.3 });
  assert.deepEqual(withRecipe(undefined, "asr", { beam: 2, ctcDecodeWeight: undefined }), { beam: 2 });
  assert.throws(() => withRecipe("fastest", "asr", {}), /unknown decoding recipe "fastest" \(recipes: paper, joint, lexicon, best\)/);
  // the recipes are not changed by use
  assert.equal(RECIPES.best.asr.beam, 8);
});
