/**
 * The AVSR pipeline at smoke size, through the CLIs and the library: train (Omni-AVSR-ST and the
 * baselines), resume after an interruption, evaluate (clean and babble, deterministic), and the files
 * each step writes. Uses the shipped smoke encoders (checkpoints/encoders/smoke) and builds the smoke
 * feature cache when it is missing (seconds).
 */
import { test, before } from "node:test";
import { ensureSmokeModels } from "../helpers/smoke-models.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFeatureCache } from "../../src/features/cache.js";
import { readCsv } from "../../src/report/csv.js";
import { corpusCer, corpusWer, wordEdits } from "../../src/eval/wer.js";
import { resolveRunConfig } from "../../src/pipeline/config.js";
import { OracleAudio } from "../../src/pipeline/oracle.js";
import { trainRun } from "../../src/pipeline/train.js";
import { evaluateRun, evalName } from "../../src/pipeline/eval.js";
import { evalFileName } from "../../src/pipeline/eval-files.js";
import { latestCheckpoint } from "../../src/train/checkpoint.js";

const repo = join(import.meta.dirname, "..", "..");
const root = mkdtempSync(join(tmpdir(), "omni-pipe-"));
const quiet = () => {};
const env = { ...process.env, OMNI_RESULTS_DIR: join(root, "results") };

before(async () => {
  await ensureSmokeModels();
  await buildFeatureCache({ preset: "smoke", log: quiet });
});

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join("scripts", script), ...args], { cwd: repo, env, encoding: "utf8" });
  assert.equal(r.status, 0, `${script} ${args.join(" ")} failed:\n${r.stderr.slice(-3000)}`);
  return r;
}

test("run configs: ids, method checks, rate parsing", () => {
  const c = resolveRunConfig({ method: "omni-st", preset: "default", seed: 1 });
  assert.equal(c.runId, "default-omni-st-a4_16-v2_5-tiny-s1");
  assert.deepEqual(c.lambdas, [1, 1.5, 1]);
  assert.equal(resolveRunConfig({ method: "llama-avsr", preset: "smoke", task: "asr", audioRates: [16], videoRates: [2] }).runId, "smoke-llama-avsr-asr-a16-v2-tiny-s0");
  assert.equal(resolveRunConfig({ method: "omni-s", preset: "smoke", lambdas: [1, 2, 1] }).runId, "smoke-omni-s-a4_16-v2_5-tiny-l1_2_1-s0");
  assert.throws(() => resolveRunConfig({ method: "llama-mtsk", preset: "smoke" }), /--task/);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "smoke", task: "asr" }), /multi-task/);
  assert.throws(() => resolveRunConfig({ method: "llama-mt", preset: "smoke", audioRates: [4, 16] }), /one rate pair/);
  assert.equal(evalName("asr", { audio: 4, video: 2 }), "asr_4-0");
  assert.equal(evalName("avsr", { audio: 16, video: 5 }, -2.5), "avsr_16-5_babble-2.5");
  assert.equal(evalFileName({ task: "vsr", rates: { audio: 4, video: 5 }, ctcDecode: 0.3, split: "val" }), "vsr_0-5_ctcdec0.3_val");
  assert.equal(evalFileName({ task: "asr", rates: { audio: 4, video: 2 }, snr: 0, ctcDecode: 0.3, split: "test" }), "asr_4-0_babble0_ctcdec0.3");
  assert.equal(evalFileName({ task: "avsr", rates: { audio: 4, video: 2 }, ctcDecode: 0.3, lexDecode: 0.2, split: "val" }), "avsr_4-2_ctcdec0.3_lexdec0.2_val");
  assert.equal(evalFileName({ task: "asr", rates: { audio: 4, video: 2 }, lexDecode: 0.2, lexUnknown: -50 }), "asr_4-0_lexdec0.2_unk-50");
  assert.equal(evalFileName({ task: "asr", rates: { audio: 4, video: 2 }, lexUnknown: -50 }), "asr_4-0");
  assert.equal(evalFileName({ task: "asr", rates: { audio: 4, video: 2 }, beam: 4, split: "val" }), "asr_4-0_val", "the default beam is not named");
  assert.equal(evalFileName({ task: "asr", rates: { audio: 4, video: 2 }, lexDecode: 0.2, beam: 8, preBeam: 16, split: "val" }), "asr_4-0_lexdec0.2_beam8_pre16_val");
  assert.equal(evalFileName({ task: "asr", rates: { audio: 4, video: 2 }, ctcDecode: 0.3, lexDecode: 0.5, lexProposals: 8, lengthPenalty: 0 }), "asr_4-0_ctcdec0.3_lexdec0.5_prop8_lp0");
});

test("CLI: train omni-st then eval writes complete hypotheses and finite scores", () => {
  const out = join(root, "cli-run");
  const t = run("train.ts", ["--method", "omni-st", "--preset", "smoke", "--seed", "1", "--out", out]);
  const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
  assert.equal(summary.steps, 6);
  assert.ok(summary.tokensPerSecond > 0);
  assert.match(t.stderr, /\[omni-st\] step 6\/6 \| loss .* \| asr .* \| vsr .* \| avsr .* tok\/s/);
  assert.match(t.stderr, /\[val\] step 6/);
  const metrics = readCsv(join(out, "metrics.csv"));
  assert.equal(metrics.length, 6);
  assert.ok(metrics.every((r) => Number.isFinite(Number(r.loss_asr)) && Number.isFinite(Number(r.loss_vsr)) && Number.isFinite(Number(r.loss_avsr))));
  assert.equal(readCsv(join(out, "val.csv")).length, 3);
  assert.ok(latestCheckpoint(join(out, "checkpoints")));
  const cfg = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.equal(cfg.run.method, "omni-st");

  // evaluation reads the final weights alone (a fresh clone has them, not the checkpoints)
  rmSync(join(out, "checkpoints"), { recursive: true });
  // a named recipe (beam 4, 32 tokens) with two of its settings overridden by flags
  run("eval.ts", ["--run", out, "--task", "avsr", "--rates", "4,2", "--limit", "10", "--recipe", "paper", "--beam", "2", "--max-new-tokens", "6"]);
  const rows = readCsv(join(out, "eval", "avsr_4-2_beam2.csv"));
  assert.equal(rows.length, 10);
  assert.ok(rows.every((r) => typeof r.ref === "string" && String(r.ref).length > 0 && "hyp" in r));
  const res = JSON.parse(readFileSync(join(out, "eval", "avsr_4-2_beam2.json"), "utf8"));
  // the reported scores are those of the written hypotheses: per utterance and at corpus level
  const text = readCsv(join(out, "eval", "avsr_4-2_beam2.csv"), { typed: false });
  const pairs = text.map((r) => ({ ref: String(r.ref), hyp: String(r.hyp ?? "") }));
  pairs.forEach((p, i) => assert.equal(Number(text[i]!.word_errors), wordEdits(p.ref, p.hyp).errors, `row ${i}`));
  const w = corpusWer(pairs);
  assert.equal(res.wer, w.rate);
  assert.deepEqual([res.wordErrors, res.refWords, res.sub, res.del, res.ins], [w.errors, w.refLen, w.sub, w.del, w.ins]);
  assert.equal(res.cer, corpusCer(pairs).rate);
  assert.equal(res.utterances, 10);
  assert.equal(res.beam, 2);
  assert.equal(res.maxNewTokens, 6);
  assert.throws(() => run("eval.ts", ["--run", out, "--task", "avsr", "--rates", "4,2", "--recipe", "fastest"]), /unknown decoding recipe "fastest" \(recipes: paper, joint, lexicon, best\)/);
});

test("an interrupted training run resumes to the same weights", async () => {
  // 8 training utterances in batches of 4: an epoch is 2 steps, so validation rows exist before the stop
  const params = { method: "omni-t" as const, preset: "smoke", seed: 2, trainLimit: 8 };
  const a = join(root, "resume-a");
  const b = join(root, "resume-b");
  await trainRun(params, a, { log: quiet });
  await assert.rejects(trainRun(params, b, { log: quiet, stopAfter: 4 }), /stopped after step 4/);
  assert.ok(!existsSync(join(b, "summary.json")));
  const s = await trainRun(params, b, { log: quiet });
  const wa = readFileSync(join(latestCheckpoint(join(a, "checkpoints"))!, "model.safetensors"));
  const wb = readFileSync(join(latestCheckpoint(join(b, "checkpoints"))!, "model.safetensors"));
  assert.deepEqual(wb, wa);
  // the finished run's final weights (what evaluation loads; committed, unlike the checkpoints) are the last checkpoint's
  assert.deepEqual(readFileSync(join(b, "final", "model.safetensors")), wb);
  assert.ok(!existsSync(join(b, "final", "optimizer.safetensors")));
  assert.deepEqual(readCsv(join(b, "metrics.csv")).map((r) => r.loss), readCsv(join(a, "metrics.csv")).map((r) => r.loss));
  // the resumed run's logs are the uninterrupted run's, byte for byte (rows kept at resume keep their text)
  assert.equal(readFileSync(join(b, "val.csv"), "utf8"), readFileSync(join(a, "val.csv"), "utf8"));
  // a finished run is not retrained
  const again = await trainRun(params, b, { log: quiet });
  assert.equal(again.trainSeconds, s.trainSeconds);
  // ...unless it was trained on another corpus or other encoder or LM weights: then it is an error naming the folder
  const inputs = JSON.parse(readFileSync(join(b, "inputs.json"), "utf8")) as Record<string, string>;
  assert.deepEqual(Object.keys(inputs).sort(), ["audioEncoder", "corpus", "lm", "videoEncoder"]);
  writeFileSync(join(b, "inputs.json"), JSON.stringify({ ...inputs, corpus: "fedcba9876543210" }));
  await assert.rejects(trainRun(params, b, { log: quiet }), /corpus: fedcba9876543210 -> /);
  writeFileSync(join(b, "inputs.json"), JSON.stringify({ ...inputs, audioEncoder: "0123456789abcdef" }));
  await assert.rejects(trainRun(params, b, { log: quiet }), (e: Error) => e.message.includes(b) && /audioEncoder: 0123456789abcdef -> /.test(e.message));
  await assert.rejects(evaluateRun({ run: b, task: "asr", rates: { audio: 4, video: 2 }, limit: 2, beam: 1, maxNewTokens: 4 }, quiet), /trained on other inputs/);
  writeFileSync(join(b, "inputs.json"), JSON.stringify(inputs));
  // ...or when the folder holds another configuration (another run given the same folder, a changed flag)
  await assert.rejects(trainRun({ ...params, steps: 8 }, b, { log: quiet }), (e: Error) => e.message.includes(b) && /another configuration \(steps: \d+ -> \d+\)/.test(e.message));
  await assert.rejects(trainRun({ ...params, loraR: 2 }, b, { log: quiet }), /another configuration \(.*loraR: 4 -> 2/);
  assert.equal((await trainRun(params, b, { log: quiet })).trainSeconds, s.trainSeconds, "the same configuration is still reused");
});

test("baselines train with the same code; babble evaluation is deterministic", async () => {
  const avsr = join(root, "llama-avsr");
  await trainRun({ method: "llama-avsr", preset: "smoke", task: "asr", audioRates: [16], videoRates: [5], steps: 2 }, avsr, { log: quiet });
  await trainRun({ method: "llama-mtsk", preset: "smoke", task: "vsr", steps: 2 }, join(root, "mtsk"), { log: quiet });
  await trainRun({ method: "llama-mt", preset: "smoke", audioRates: [16], videoRates: [5], steps: 2 }, join(root, "mt"), { log: quiet });
  const m = readCsv(join(root, "mtsk", "metrics.csv"));
  assert.equal(Number(m[0]!.passes), 2, "Llama-MTSK runs every video rate each step");
  const e1 = await evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, snr: 0, limit: 6, beam: 1, maxNewTokens: 6 }, quiet);
  const first = readFileSync(e1.csv, "utf8");
  const e2 = await evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, snr: 0, limit: 6, beam: 1, maxNewTokens: 6 }, quiet);
  assert.equal(readFileSync(e2.csv, "utf8"), first);
  assert.ok(e1.csv.endsWith("asr_16-0_babble0_beam1.csv"), "a beam width other than the default is named");
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 4, video: 5 }, limit: 2 }, quiet), /no audio projector for rate 4/);
  // lexicon scoring needs no auxiliary CTC head: the encoder's units and the training lexicon
  const lex = await evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 4, beam: 2, maxNewTokens: 6, lexiconDecodeWeight: 0.3 }, quiet);
  assert.ok(lex.csv.endsWith("asr_16-0_lexdec0.3_beam2.csv"));
  assert.equal(lex.lexiconDecode?.modality, "audio");
  assert.equal(lex.lexiconDecode?.unknownWordLogProb, -100);
  assert.ok(lex.lexiconDecode!.words > 10 && Number.isFinite(lex.wer));
  assert.equal(readCsv(lex.csv).length, 4);
  const unk = await evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, beam: 1, maxNewTokens: 4, lexiconDecodeWeight: 0.3, unknownWordLogProb: -5 }, quiet);
  assert.ok(unk.csv.endsWith("asr_16-0_lexdec0.3_unk-5_beam1.csv"));
  // a wider pre-beam lets the lexicon score reach tokens attention ranks lower; it is named and recorded
  const pre = await evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, beam: 2, maxNewTokens: 4, lexiconDecodeWeight: 0.3, preBeam: 7 }, quiet);
  assert.ok(pre.csv.endsWith("asr_16-0_lexdec0.3_beam2_pre7.csv"));
  assert.equal(JSON.parse(readFileSync(pre.json, "utf8")).preBeam, 7);
  // the lexicon's own proposals (its best next pieces) are named, recorded, and refused without lexicon scoring
  const prop = await evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, beam: 2, maxNewTokens: 4, lexiconDecodeWeight: 0.3, lexiconProposals: 3, lengthPenalty: 0 }, quiet);
  assert.ok(prop.csv.endsWith("asr_16-0_lexdec0.3_prop3_beam2_lp0.csv"));
  assert.equal(prop.lexiconDecode?.proposals, 3);
  assert.equal(prop.lengthPenalty, 0);
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, lexiconProposals: 3 }, quiet), /needs lexicon scoring/);
  // search or model error: each wrong utterance's reference and hypothesis scored as the search ranks them
  const { searchErrors } = await import("../../src/pipeline/search-errors.js");
  const se = await searchErrors(prop.json);
  const wrong = readCsv(prop.csv, { typed: false }).filter((r) => r.hyp !== r.ref);
  assert.equal(se.wrong, wrong.length);
  assert.equal(se.searchErrors + se.modelErrors, se.wrong);
  for (const r of se.rows) {
    assert.ok([r.refScore, r.hypScore].every((x) => Number.isFinite(x.joint) && x.attention < 0 && x.scorers <= 0), r.id);
    assert.equal(r.searchError, r.refScore.joint > r.hypScore.joint);
    // length penalty 0: the joint score is the weighted sum itself
    assert.ok(Math.abs(r.hypScore.joint - (0.7 * r.hypScore.attention + 0.3 * r.hypScore.scorers)) < 1e-6);
  }
  // hypothesis combination with the lexicon recogniser: the LLM's hypothesis is the evaluation's, its joint score
  // the one probe:search ranks by (length penalty 0), and each α's choice follows the rule
  const { combineWithLexicon, chooseHypothesis } = await import("../../src/pipeline/lexicon-combination.js");
  const comb = await combineWithLexicon(prop.json, { weights: [0, 0.5, 1], log: quiet });
  const propRows = readCsv(prop.csv, { typed: false });
  assert.deepEqual(comb.utterances.map((u) => u.llm.hyp), propRows.map((r) => String(r.hyp ?? "")));
  for (const r of se.rows) assert.ok(Math.abs(comb.utterances.find((u) => u.id === r.id)!.llm.joint - r.hypScore.joint) < 1e-6, r.id);
  // the lexicon score is always finite (a forced alignment); the LLM's joint score is -Infinity only where its CTC cannot align the text
  assert.ok(comb.utterances.every((u) => [u.llm, u.lex].every((x) => Number.isFinite(x.lexicon) && x.lexicon <= 0 && x.joint < 0)));
  assert.ok(Math.abs(comb.llmWer - prop.wer) < 1e-12);
  assert.ok(comb.oracleWer <= Math.min(comb.llmWer, comb.lexWer) + 1e-12);
  for (const b of comb.byWeight) assert.equal(b.lexChosen, comb.utterances.filter((u) => chooseHypothesis(u, b.weight) === "lex").length);
  const one = await combineWithLexicon(prop.json, { weights: [0.5], log: quiet });
  assert.ok(one.written!.csv.endsWith("asr_16-0_lexdec0.3_prop3_beam2_lp0_lexcomb0.5.csv"));
  const written = readCsv(join(avsr, "eval", "asr_16-0_lexdec0.3_prop3_beam2_lp0_lexcomb0.5.csv"), { typed: false });
  written.forEach((r, i) => assert.equal(r.hyp, r.chosen === "lex" ? r.lex_hyp : r.llm_hyp, `row ${i + 1}`));
  assert.equal(JSON.parse(readFileSync(join(avsr, "eval", "asr_16-0_lexdec0.3_prop3_beam2_lp0_lexcomb0.5.json"), "utf8")).combination.weight, 0.5);
  await assert.rejects(combineWithLexicon(prop.json, { weights: [1.5], log: quiet }), /α must be in \[0, 1\]/);
  // N-best lists: the LLM's from the beam decoded again (the evaluation's beam, 2), the recogniser's 3 best; the
  // evaluation's hypothesis and both 1-best are among the distinct candidates, each scored as in the two-way choice
  const nb = await combineWithLexicon(prop.json, { weights: [0, 0.5, 1], nBest: { llm: 2, lexicon: 3 }, log: quiet });
  nb.utterances.forEach((u, k) => {
    const texts = u.candidates.map((c) => c.hyp);
    assert.equal(new Set(texts).size, texts.length, u.id);
    assert.ok(texts.length >= 2 && texts.length <= 1 + 2 + 3, `${u.id}: ${texts.length}`);
    assert.equal(u.llm.hyp, comb.utterances[k]!.llm.hyp);
    assert.ok(Math.abs(u.llm.joint - comb.utterances[k]!.llm.joint) < 1e-6 && Math.abs(u.llm.lexicon - comb.utterances[k]!.llm.lexicon) < 1e-9, u.id);
    assert.ok(texts.includes(u.lex.hyp));
  });
  // more candidates: the ceiling can only drop
  assert.ok(nb.candidateOracleWer <= nb.oracleWer + 1e-12);
  await assert.rejects(combineWithLexicon(prop.json, { weights: [0.5], nBest: { llm: 3 }, log: quiet }), /needs a beam at least as wide/);
  await assert.rejects(combineWithLexicon(prop.json, { weights: [0.5], nBest: { lexicon: 0 }, log: quiet }), /integer ≥ 1/);
  const nbOne = await combineWithLexicon(prop.json, { weights: [0.5], nBest: { llm: 2, lexicon: 3 }, log: quiet });
  assert.ok(nbOne.written!.csv.endsWith("asr_16-0_lexdec0.3_prop3_beam2_lp0_lexcomb0.5_nbest2x3.csv"));
  // VSR reads the video encoder's visemes (Llama-MTSK VSR(5))
  const vsr = await evaluateRun({ run: join(root, "mtsk"), task: "vsr", rates: { audio: 16, video: 5 }, limit: 2, beam: 1, maxNewTokens: 4 }, quiet);
  const vComb = await combineWithLexicon(vsr.json, { weights: [0.5], log: quiet });
  assert.equal(vComb.utterances.length, 2);
  assert.ok(vComb.written!.csv.endsWith("vsr_0-5_beam1_lexcomb0.5.csv"));
  // ...and npm run eval does it in one go (--lexicon-combination α, the best recipe's for VSR): both files, the combined scores returned
  const vsrComb = await evaluateRun({ run: join(root, "mtsk"), task: "vsr", rates: { audio: 16, video: 5 }, limit: 2, beam: 1, maxNewTokens: 4, lexiconCombination: 0.5 }, quiet);
  assert.ok(vsrComb.csv.endsWith("vsr_0-5_beam1_lexcomb0.5.csv") && vsrComb.json.endsWith("vsr_0-5_beam1_lexcomb0.5.json"));
  assert.equal(vsrComb.lexiconCombination?.weight, 0.5);
  assert.ok(Math.abs(vsrComb.lexiconCombination!.llmWer - vsr.wer) < 1e-12, "the LLM's own hypotheses are the plain evaluation's");
  assert.ok(Math.abs(vsrComb.wer - vComb.byWeight[0]!.wer) < 1e-12);
  await assert.rejects(evaluateRun({ run: join(root, "mtsk"), task: "vsr", rates: { audio: 16, video: 5 }, limit: 2, lexiconCombination: 2 }, quiet), /α must be in \[0, 1\]/);
  const vsrNb = await evaluateRun({ run: join(root, "mtsk"), task: "vsr", rates: { audio: 16, video: 5 }, limit: 2, beam: 2, maxNewTokens: 4, lexiconCombination: 0.5, lexiconCombinationNBest: { llm: 2, lexicon: 2 } }, quiet);
  assert.ok(vsrNb.csv.endsWith("vsr_0-5_beam2_lexcomb0.5_nbest2x2.csv"));
  assert.deepEqual(vsrNb.lexiconCombination?.nBest, { llm: 2, lexicon: 2 });
  assert.ok(vsrNb.lexiconCombination!.candidateOracleWer <= vsrNb.lexiconCombination!.oracleWer + 1e-12);
  await assert.rejects(evaluateRun({ run: join(root, "mtsk"), task: "vsr", rates: { audio: 16, video: 5 }, limit: 2, lexiconCombinationNBest: { llm: 1, lexicon: 2 } }, quiet), /needs the combination/);
  await assert.rejects(evaluateRun({ run: join(root, "mtsk"), task: "vsr", rates: { audio: 16, video: 5 }, limit: 2, beam: 2, lexiconCombination: 0.5, lexiconCombinationNBest: { llm: 4, lexicon: 2 } }, quiet), /at least as wide/);
  // word-LM fusion: named, recorded, refused without joint decoding; probe:search scores with it too
  const wlm = await evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, beam: 2, maxNewTokens: 4, lexiconDecodeWeight: 0.3, lexiconProposals: 3, lengthPenalty: 0, wordLmWeight: 0.2, wordLmProposals: 2 }, quiet);
  assert.ok(wlm.csv.endsWith("asr_16-0_lexdec0.3_prop3_wlm0.2_prop2_beam2_lp0.csv"));
  assert.equal(wlm.wordLm?.weight, 0.2);
  assert.equal(wlm.wordLm?.proposals, 2);
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, lexiconDecodeWeight: 0.3, wordLmProposals: 2 }, quiet), /needs word-LM fusion/);
  assert.ok(wlm.wordLm!.sentences > 10 && wlm.wordLm!.source.endsWith("lm_text.txt"));
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, wordLmWeight: 0.2 }, quiet), /needs joint decoding/);
  const { openWordLm } = await import("../../src/pipeline/word-lm.js");
  const { lm } = await openWordLm("smoke");
  const lmOf = (text: string) => {
    const words = text.split(" ").filter(Boolean);
    return words.reduce((a, w, k) => a + lm.logProb(k === 0 ? "<s>" : words[k - 1]!, w), 0) + lm.logProb(words.at(-1) ?? "<s>", "</s>");
  };
  const seLm = await searchErrors(wlm.json);
  let compared = 0;
  for (const r of seLm.rows) {
    // the reference's scorers: lexicon + (β / μ)·word LM, the joint weight being μ (no auxiliary CTC here)
    const plain = se.rows.find((x) => x.id === r.id);
    if (plain) {
      assert.ok(Math.abs(r.refScore.scorers - (plain.refScore.scorers + (0.2 / 0.3) * lmOf(r.ref))) < 1e-6, r.id);
      compared++;
    }
    assert.equal(r.searchError, r.refScore.joint > r.hypScore.joint);
  }
  assert.ok(compared > 0, "an utterance wrong in both evaluations");
  // AVSR's second lexicon stream (the video encoder's visemes beside the audio phonemes): named, recorded, refused
  // for one-modality tasks and past λ + μ + μv = 1; the joint scorer is (μ·audio + μv·video) / (μ + μv)
  const av = { run: join(root, "mt"), task: "avsr" as const, rates: { audio: 16, video: 5 }, limit: 3, beam: 2, maxNewTokens: 4, lengthPenalty: 0 };
  const aLex = await evaluateRun({ ...av, lexiconDecodeWeight: 0.3 }, quiet);
  const vLex = await evaluateRun({ ...av, videoLexiconDecodeWeight: 0.2 }, quiet);
  const avLex = await evaluateRun({ ...av, lexiconDecodeWeight: 0.3, videoLexiconDecodeWeight: 0.2 }, quiet);
  assert.ok(vLex.csv.endsWith("avsr_16-5_vlex0.2_beam2_lp0.csv"));
  assert.ok(avLex.csv.endsWith("avsr_16-5_lexdec0.3_vlex0.2_beam2_lp0.csv"));
  assert.equal(avLex.lexiconDecode?.modality, "audio");
  assert.equal(avLex.videoLexiconDecode?.weight, 0.2);
  assert.ok(avLex.videoLexiconDecode!.words > 10 && avLex.videoLexiconDecode!.unknownWordLogProb === -100);
  assert.equal(aLex.videoLexiconDecode, undefined);
  const [seA, seV, seAV] = [await searchErrors(aLex.json), await searchErrors(vLex.json), await searchErrors(avLex.json)];
  let both = 0;
  for (const r of seAV.rows) {
    const x = seA.rows.find((y) => y.id === r.id);
    const y = seV.rows.find((z) => z.id === r.id);
    if (!x || !y) continue;
    assert.ok(Math.abs(r.refScore.scorers - (0.3 * x.refScore.scorers + 0.2 * y.refScore.scorers) / 0.5) < 1e-6, r.id);
    assert.notEqual(x.refScore.scorers, y.refScore.scorers, "the streams read different units");
    both++;
  }
  assert.ok(both > 0, "an utterance wrong in the three evaluations");
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, lexiconDecodeWeight: 0.3, videoLexiconDecodeWeight: 0.2 }, quiet), /second lexicon stream for AVSR/);
  await assert.rejects(evaluateRun({ ...av, lexiconDecodeWeight: 0.6, videoLexiconDecodeWeight: 0.5 }, quiet), /λ \+ μ \+ μv|≤ 1/);
  await assert.rejects(searchErrors(join(avsr, "eval", "nothing.json")), /nothing\.json: no such evaluation/);
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, preBeam: 7 }, quiet), /joint decoding only/);
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, lexiconDecodeWeight: 0.3, preBeam: 1 }, quiet), /integer ≥ 2/);
  await assert.rejects(evaluateRun({ run: avsr, task: "asr", rates: { audio: 16, video: 5 }, limit: 2, lexiconDecodeWeight: 1.5 }, quiet), /≤ 1/);
});

test("oracle audio (diagnostic): one fixed vector per sub-word, deterministic; a run trains and evaluates on it", async () => {
  const tok = { encode: (t: string) => t.split(" ").map((w) => w.length) };
  const o = new OracleAudio({ dim: 3, framesPerToken: 2, noise: 0, seed: 1 }, tok);
  const f = o.features("ab abc ab", "u1");
  assert.equal(f.frames, 6);
  assert.equal(o.frames("ab abc ab"), 6);
  const frame = (i: number) => Array.from(f.data.subarray(i * 3, i * 3 + 3));
  assert.deepEqual(frame(0), frame(1), "a token's frames repeat");
  assert.deepEqual(frame(0), frame(4), "the same sub-word gets the same vector");
  assert.notDeepEqual(frame(0), frame(2));
  const noisy = new OracleAudio({ dim: 3, framesPerToken: 2, noise: 0.5, seed: 1 }, tok);
  assert.deepEqual(noisy.features("ab abc", "u1"), noisy.features("ab abc", "u1"), "noise is seeded by the key");

  const cfg = resolveRunConfig({ method: "llama-avsr", preset: "smoke", task: "asr", audioRates: [4], videoRates: [2], steps: 2, audioSource: "oracle", ctcWeight: 0.5 });
  assert.match(cfg.runId, /-ctc0\.5-oracle-s0$/);
  const dir = join(root, "oracle");
  const s = await trainRun({ method: "llama-avsr", preset: "smoke", task: "asr", audioRates: [4], videoRates: [2], steps: 2, audioSource: "oracle", ctcWeight: 0.5 }, dir, { log: quiet });
  assert.ok(Number.isFinite(s.finalLoss) && s.val.length === 1);
  const e = await evaluateRun({ run: dir, task: "asr", rates: { audio: 4, video: 2 }, limit: 4, beam: 1, maxNewTokens: 4 }, quiet);
  assert.ok(Number.isFinite(e.wer));
  await assert.rejects(evaluateRun({ run: dir, task: "asr", rates: { audio: 4, video: 2 }, snr: 0, limit: 2 }, quiet), /oracle audio has no noisy condition/);
  assert.throws(() => resolveRunConfig({ method: "omni-st", preset: "smoke", audioSource: "perfect" as never }), /audioSource/);
});
