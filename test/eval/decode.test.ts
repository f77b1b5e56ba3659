import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import { Llm, LlmConfig } from "../../src/models/llm.js";
import { beamSearch, beamSearchNBest, greedyDecode } from "../../src/eval/decode.js";
import type { DecodePrefix } from "../../src/models/avsr.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

const C: LlmConfig = { vocabSize: 11, dim: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 24, maxSeqLen: 64, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };

/** Left-padded prefix batch of token rows, as embeddings. */
function prefixOf(m: Llm, rows: number[][]): DecodePrefix {
  const L = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...new Array(L - r.length).fill(0), ...r]);
  const embeds = m.embedTokens(tf.tensor2d(ids, [rows.length, L], "int32")) as tf.Tensor3D;
  return { embeds, validFrom: rows.map((r) => L - r.length) };
}

test("beam search with width 1 equals greedy decoding (batched, with and without EOS hits)", () => {
  const m = new Llm(C, new Rng(11));
  // sharpen the distribution so EOS decisions are not ties
  const rows = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], [2]];
  const prefix = prefixOf(m, rows);
  const free = greedyDecode(m, prefix, { maxNewTokens: 8, eosId: -1 });
  // choose EOS ids that greedy actually emits, so the EOS path is exercised
  const eosIds = new Set([free[0]![2]!, free[1]![0]!, 10]);
  for (const eosId of eosIds) {
    const g = greedyDecode(m, prefix, { maxNewTokens: 8, eosId });
    const b = beamSearch(m, prefix, { maxNewTokens: 8, eosId, beamWidth: 1 });
    assert.deepEqual(b, g, `eos ${eosId}`);
    const bEarly = beamSearch(m, prefix, { maxNewTokens: 8, eosId, beamWidth: 1, earlyStopping: true, lengthPenalty: 0.5 });
    assert.deepEqual(bEarly, g, `eos ${eosId} early`);
  }
  prefix.embeds.dispose();
  m.dispose();
});

test("batched decoding equals decoding each row alone (greedy and beam)", () => {
  const m = new Llm(C, new Rng(12));
  const rows = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]];
  const prefix = prefixOf(m, rows);
  const g = greedyDecode(m, prefix, { maxNewTokens: 6, eosId: 3 });
  const b = beamSearch(m, prefix, { maxNewTokens: 6, eosId: 3, beamWidth: 3 });
  rows.forEach((r, i) => {
    const p = prefixOf(m, [r]);
    assert.deepEqual(greedyDecode(m, p, { maxNewTokens: 6, eosId: 3 })[0], g[i], `greedy row ${i}`);
    assert.deepEqual(beamSearch(m, p, { maxNewTokens: 6, eosId: 3, beamWidth: 3 })[0], b[i], `beam row ${i}`);
    p.embeds.dispose();
  });
  prefix.embeds.dispose();
  m.dispose();
});

test("a beam wide enough to be exhaustive finds the brute-force optimum, at every length penalty", () => {
  const V = 4;
  const m = new Llm({ ...C, vocabSize: V }, new Rng(13));
  const eos = 0;
  const maxNew = 3;
  const prefixRow = [1, 2];
  // brute force over all sequences: every finished candidate with Σ log p and n (n counts EOS when present)
  const logProbs = (seq: number[]) =>
    tf.tidy(() => {
      const ids = tf.tensor2d([[...prefixRow, ...seq]], [1, prefixRow.length + seq.length], "int32");
      return tf.logSoftmax(m.forward({ ids }).logits!).arraySync() as number[][][];
    });
  const finished: Array<{ seq: number[]; sum: number; n: number }> = [];
  const visit = (seq: number[], sum: number) => {
    const lp = logProbs(seq)[0]![prefixRow.length + seq.length - 1]!;
    for (let v = 0; v < V; v++) {
      const s = sum + lp[v]!;
      if (v === eos) finished.push({ seq: [...seq], sum: s, n: seq.length + 1 });
      else if (seq.length + 1 === maxNew) finished.push({ seq: [...seq, v], sum: s, n: maxNew });
      else visit([...seq, v], s);
    }
  };
  visit([], 0);
  const prefix = prefixOf(m, [prefixRow]);
  const winners = new Set<string>();
  for (const lengthPenalty of [0, 0.5, 1, 2]) {
    // score = Σ log p / n^lengthPenalty
    const best = finished.reduce((a, b) => (b.sum / b.n ** lengthPenalty > a.sum / a.n ** lengthPenalty ? b : a));
    const beam = beamSearch(m, prefix, { maxNewTokens: maxNew, eosId: eos, beamWidth: V * V, lengthPenalty });
    assert.deepEqual(beam[0], best.seq, `length penalty ${lengthPenalty}`);
    winners.add(best.seq.join(","));
  }
  assert.ok(winners.size >= 2, "the penalties chosen change the optimum, so the penalty is really applied");
  prefix.embeds.dispose();
  m.dispose();
});

test("beamSearchNBest: up to K distinct finished hypotheses, ranked by their length-normalised scores, the first beamSearch's", () => {
  const V = 4;
  const m = new Llm({ ...C, vocabSize: V }, new Rng(15));
  const prefix = prefixOf(m, [[1, 2], [3]]);
  const opts = { maxNewTokens: 3, eosId: 0, beamWidth: 3, lengthPenalty: 1 };
  const pools = beamSearchNBest(m, prefix, opts);
  const best = beamSearch(m, prefix, opts);
  pools.forEach((pool, b) => {
    assert.deepEqual(pool[0]!.tokens, best[b], `row ${b}`);
    assert.ok(pool.length >= 2 && pool.length <= 2 * opts.beamWidth, `row ${b}: ${pool.length} hypotheses`);
    const keys = pool.map((h) => h.tokens.join(","));
    assert.equal(new Set(keys).size, keys.length, `row ${b}: distinct`);
    for (let k = 1; k < pool.length; k++) assert.ok(pool[k - 1]!.score >= pool[k]!.score, `row ${b}: ranked`);
    // each score is Σ log p (EOS included when it ended there) / n
    const row = b === 0 ? [1, 2] : [3];
    for (const h of pool) {
      const lp = tf.tidy(() => tf.logSoftmax(m.forward({ ids: tf.tensor2d([[...row, ...h.tokens]], [1, row.length + h.tokens.length], "int32") }).logits!).arraySync() as number[][][])[0]!;
      let sum = 0;
      h.tokens.forEach((t, k) => (sum += lp[row.length - 1 + k]![t]!));
      const ended = h.tokens.length < opts.maxNewTokens;
      if (ended) sum += lp[row.length - 1 + h.tokens.length]![0]!;
      const n = h.tokens.length + (ended ? 1 : 0);
      assert.ok(Math.abs(h.score - sum / n) < 1e-4, `row ${b} ${keys.join(" ")}: ${h.score} vs ${sum / n}`);
    }
  });
  prefix.embeds.dispose();
  m.dispose();
});

test("decoding leaks no tensors", () => {
  const m = new Llm(C, new Rng(14));
  const prefix = prefixOf(m, [[1, 2], [3]]);
  greedyDecode(m, prefix, { maxNewTokens: 4, eosId: 5 });
  beamSearch(m, prefix, { maxNewTokens: 4, eosId: 5, beamWidth: 3 });
  const before = tf.memory().numTensors;
  greedyDecode(m, prefix, { maxNewTokens: 4, eosId: 5 });
  beamSearch(m, prefix, { maxNewTokens: 4, eosId: 5, beamWidth: 3 });
  assert.equal(tf.memory().numTensors, before);
  prefix.embeds.dispose();
  m.dispose();
});
