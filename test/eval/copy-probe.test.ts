import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { copyProbe } from "../../src/eval/copy-probe.js";
import { IGNORE, Llm, maskedCrossEntropy, type LlmConfig } from "../../src/models/llm.js";
import { BOS_ID, BpeTokenizer, EOS_ID } from "../../src/text/tokenizer.js";
import { Rng } from "../../src/util/rng.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

const tok = BpeTokenizer.train(["the cat sat on the mat", "a dog ran in the park"], { vocabSize: 80 });
const CFG: LlmConfig = { vocabSize: tok.size, dim: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 32, maxSeqLen: 64, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };

/** Mean NLL of the targets at the given positions, through the LM's own masked cross-entropy. */
function nllAt(llm: Llm, seq: number[], positions: number[]): number {
  return tf.tidy(() => {
    const targets = new Int32Array(seq.length - 1).fill(IGNORE);
    for (const p of positions) targets[p] = seq[p + 1]!;
    const logits = llm.forward({ ids: tf.tensor2d(Int32Array.from(seq.slice(0, -1)), [1, seq.length - 1], "int32") }).logits!;
    return maskedCrossEntropy(logits, targets).dataSync()[0]!;
  });
}

test("copy probe: first and second copy NLLs are the LM's own cross-entropy on each copy (tokens + <eos>)", () => {
  const llm = new Llm(CFG, new Rng(3));
  const lines = ["the cat sat", "a dog ran in the park"];
  const r = copyProbe(llm, tok, lines);
  let first = 0;
  let second = 0;
  let n = 0;
  for (const l of lines) {
    const ids = tok.encode(l);
    const k = ids.length + 1;
    const seq = [BOS_ID, ...ids, EOS_ID, BOS_ID, ...ids, EOS_ID];
    first += nllAt(llm, seq, [...Array(k).keys()]) * k;
    second += nllAt(llm, seq, [...Array(k).keys()].map((t) => t + k + 1)) * k;
    n += k;
  }
  assert.equal(r.tokens, n);
  assert.equal(r.lines, 2);
  assert.ok(Math.abs(r.firstNll - first / n) < 1e-4, `${r.firstNll} vs ${first / n}`);
  assert.ok(Math.abs(r.secondNll - second / n) < 1e-4, `${r.secondNll} vs ${second / n}`);
  assert.ok(Math.abs(r.gain - (r.firstNll - r.secondNll)) < 1e-9);
  // shuffling is seeded: same seed, same numbers
  assert.deepEqual(copyProbe(llm, tok, lines, { shuffle: true, seed: 4 }), copyProbe(llm, tok, lines, { shuffle: true, seed: 4 }));
  llm.dispose();
});

test("copy probe: the same numbers on the wasm backend as on the default one (a wider vocabulary, longer lines)", async () => {
  const cfg: LlmConfig = { ...CFG, vocabSize: 400, maxSeqLen: 128 };
  const fake = { encode: (t: string) => t.split(" ").map((w) => 8 + ((w.length * 37 + w.charCodeAt(0)) % 390)) };
  const lines = ["one two three four five six seven eight nine ten eleven twelve", "the quick brown fox jumps over the lazy dog again and again"];
  const llm = new Llm(cfg, new Rng(5));
  const first = tf.getBackend();
  assert.notEqual(first, "wasm", "the default backend is not wasm here, so two backends are compared");
  const onDefault = copyProbe(llm, fake, lines);
  llm.dispose();
  await initBackend({ prefer: "wasm", warn: () => {} });
  assert.equal(tf.getBackend(), "wasm", "wasm loaded (no silent fallback)");
  const again = new Llm(cfg, new Rng(5)); // the same seed: the same weights (drawn in JS)
  const onWasm = copyProbe(again, fake, lines);
  assert.ok(Math.abs(onWasm.firstNll - onDefault.firstNll) < 1e-4 && Math.abs(onWasm.secondNll - onDefault.secondNll) < 1e-4, `${JSON.stringify(onWasm)} vs ${JSON.stringify(onDefault)}`);
  again.dispose();
});
