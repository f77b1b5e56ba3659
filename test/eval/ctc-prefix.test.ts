import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { CtcPrefixScorer, MeanPrefixScorer, type PrefixState } from "../../src/eval/ctc-prefix.js";
import { beamSearch } from "../../src/eval/decode.js";
import { Llm, type LlmConfig } from "../../src/models/llm.js";
import { ctcLoss } from "../../src/models/ctc.js";
import { Rng } from "../../src/util/rng.js";
import { randomLogp } from "../helpers/logp.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

/** Every path over T frames, collapsed (repeats merged, blanks dropped), with its probability. */
function allPaths(logp: Float32Array, T: number, V: number, blank: number): Array<{ labels: number[]; p: number }> {
  const out: Array<{ labels: number[]; p: number }> = [];
  const path = new Array<number>(T).fill(0);
  for (let code = 0; code < V ** T; code++) {
    let x = code;
    let lp = 0;
    for (let t = 0; t < T; t++) {
      path[t] = x % V;
      x = Math.floor(x / V);
      lp += logp[t * V + path[t]!]!;
    }
    const labels = path.filter((c, t) => c !== blank && (t === 0 || c !== path[t - 1]));
    out.push({ labels, p: Math.exp(lp) });
  }
  return out;
}

const startsWith = (a: number[], h: number[]) => h.every((c, i) => a[i] === c);
const same = (a: number[], h: number[]) => a.length === h.length && startsWith(a, h);

test("CTC prefix score and final score equal brute-force sums over all paths (repeats, blank not 0)", () => {
  const T = 5;
  const V = 4;
  const blank = 2;
  const rng = new Rng(3);
  const logp = randomLogp(T, V, rng);
  const paths = allPaths(logp, T, V, blank);
  const sc = new CtcPrefixScorer(logp, V, blank);
  const prefixes = [[], [0], [1], [3], [0, 0], [0, 1], [1, 1, 3], [3, 0, 3], [0, 0, 0], [1, 3, 1, 0]];
  for (const h of prefixes) {
    let st = sc.initial();
    for (const c of h) st = sc.extend(st, c);
    const prefixSum = paths.filter((x) => startsWith(x.labels, h)).reduce((a, x) => a + x.p, 0);
    const exact = paths.filter((x) => same(x.labels, h)).reduce((a, x) => a + x.p, 0);
    assert.ok(Math.abs(Math.exp(st.score) - prefixSum) < 1e-6, `ψ(${h}) = ${Math.exp(st.score)}, brute force ${prefixSum}`);
    if (exact === 0) assert.equal(sc.final(st), -Infinity, `${h} cannot fit ${T} frames`);
    else assert.ok(Math.abs(sc.final(st) - Math.log(exact)) < 1e-6, `p(${h}) = ${Math.exp(sc.final(st))}, brute force ${exact}`);
  }
});

test("CTC final score equals the CTC loss's likelihood; bad input is refused", () => {
  const T = 7;
  const V = 5;
  const logp = randomLogp(T, V, new Rng(9));
  const sc = new CtcPrefixScorer(logp, V, 0);
  let st = sc.initial();
  for (const c of [3, 3, 1]) st = sc.extend(st, c);
  const nll = ctcLoss(tf.tensor3d(logp, [1, T, V]), [[3, 3, 1]], [T], 0, "none").dataSync()[0]!;
  assert.ok(Math.abs(-sc.final(st) - nll) < 1e-4, `${-sc.final(st)} vs ${nll}`);
  assert.throws(() => sc.extend(st, 0), /cannot extend a prefix by the blank/);
  assert.throws(() => sc.extend(st, 7), /label 7 outside/);
  assert.throws(() => new CtcPrefixScorer(new Float32Array(7), 5, 0), /not rows of 5/);
});

const C: LlmConfig = { vocabSize: 11, dim: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 24, maxSeqLen: 64, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };

function prefixOf(m: Llm, rows: number[][]) {
  const L = Math.max(...rows.map((r) => r.length));
  const ids = rows.map((r) => [...new Array(L - r.length).fill(0), ...r]);
  return { embeds: m.embedTokens(tf.tensor2d(ids, [rows.length, L], "int32")) as tf.Tensor3D, validFrom: rows.map((r) => L - r.length) };
}

/** Frames that spell `labels` with confidence (blank = 0 between them). */
function confident(labels: number[], V: number, framesPer = 2): Float32Array {
  const frames: number[] = [];
  for (const c of labels) frames.push(c, ...new Array(framesPer - 1).fill(0));
  const out = new Float32Array(frames.length * V);
  frames.forEach((c, t) => {
    for (let v = 0; v < V; v++) out[t * V + v] = v === c ? Math.log(0.9) : Math.log(0.1 / (V - 1));
  });
  return out;
}

test("joint CTC/attention beam search: λ = 0 is the plain search; a confident CTC steers the hypothesis, ending it where the frames end", () => {
  const m = new Llm(C, new Rng(11));
  const rows = [[1, 2, 3], [4, 5]];
  const EOS = 10;
  const prefix = prefixOf(m, rows);
  const targets = [[3, 7, 7, 5], [6, 2]];
  const scorers = targets.map((t) => new CtcPrefixScorer(confident(t, C.vocabSize), C.vocabSize, 0));
  for (const K of [1, 3]) {
    const plain = beamSearch(m, prefix, { maxNewTokens: 8, eosId: EOS, beamWidth: K });
    assert.deepEqual(beamSearch(m, prefix, { maxNewTokens: 8, eosId: EOS, beamWidth: K, ctc: { scorers, weight: 0 } }), plain);
    // λ = 0.9 with every token in the pre-beam: the CTC's sequence wins over the random LM
    assert.deepEqual(beamSearch(m, prefix, { maxNewTokens: 8, eosId: EOS, beamWidth: K, ctc: { scorers, weight: 0.9, preBeam: C.vocabSize } }), targets);
  }
  assert.throws(() => beamSearch(m, prefix, { maxNewTokens: 4, eosId: EOS, beamWidth: 2, ctc: { scorers: scorers.slice(1), weight: 0.5 } }), /1 scorers for 2 rows/);
  assert.throws(() => beamSearch(m, prefix, { maxNewTokens: 4, eosId: EOS, beamWidth: 2, ctc: { scorers, weight: 1.5 } }), /must be in \[0, 1\]/);
  prefix.embeds.dispose();
});

/** A CTC scorer that proposes its own best next labels (EOS ranked by the score of ending there). */
class ProposingCtc extends CtcPrefixScorer {
  constructor(logp: Float32Array, V: number, private readonly eos: number) {
    super(logp, V, 0);
  }
  propose(g: PrefixState, n: number): number[] {
    const scored: Array<[number, number]> = [];
    for (let c = 1; c < this.V; c++) scored.push([c, c === this.eos ? this.final(g) : this.extend(g, c).score]);
    return scored.sort((a, b) => b[1] - a[1]).slice(0, n).map(([c]) => c);
  }
}

test("joint decoding with proposals: a scorer's proposed labels are scored beside the attention pre-beam and reach what attention ranks low", () => {
  const m = new Llm(C, new Rng(11));
  const rows = [[1, 2, 3], [4, 5]];
  const EOS = 10;
  const prefix = prefixOf(m, rows);
  const targets = [[3, 7, 7, 5], [6, 2]];
  const scorers = targets.map((t) => new ProposingCtc(confident(t, C.vocabSize), C.vocabSize, EOS));
  const opts = { maxNewTokens: 8, eosId: EOS, beamWidth: 2 };
  // only the attention's best two are scored: the random LM's choices stand in the way of the CTC's labels
  assert.notDeepEqual(beamSearch(m, prefix, { ...opts, ctc: { scorers, weight: 0.9, preBeam: 2 } }), targets);
  // with two proposals per beam the CTC's labels are scored, and win
  assert.deepEqual(beamSearch(m, prefix, { ...opts, ctc: { scorers, weight: 0.9, preBeam: 2, proposals: 2 } }), targets);
  // proposals change nothing when every label is in the pre-beam already
  assert.deepEqual(beamSearch(m, prefix, { ...opts, ctc: { scorers, weight: 0.5, preBeam: C.vocabSize, proposals: 3 } }), beamSearch(m, prefix, { ...opts, ctc: { scorers, weight: 0.5, preBeam: C.vocabSize } }));
  prefix.embeds.dispose();
});

test("joint decoding when the frames cannot hold the transcript: hypotheses fall back to attention instead of dying", () => {
  const m = new Llm(C, new Rng(5));
  const prefix = prefixOf(m, [[1, 2, 3]]);
  // one frame: any prefix of two labels is impossible for the CTC
  const scorers = [new CtcPrefixScorer(confident([4], C.vocabSize, 1), C.vocabSize, 0)];
  const plain = beamSearch(m, prefix, { maxNewTokens: 6, eosId: -1, beamWidth: 2 });
  const joint = beamSearch(m, prefix, { maxNewTokens: 6, eosId: -1, beamWidth: 2, ctc: { scorers, weight: 0.3, preBeam: C.vocabSize } });
  assert.equal(plain[0]!.length, 6);
  assert.equal(joint[0]!.length, 6, "a full-length hypothesis, not an empty one");
  prefix.embeds.dispose();
});

test("the mean of two CTC scorers over different frames: mean prefix and final scores; mismatched blanks refused", () => {
  const V = 5;
  const a = new CtcPrefixScorer(randomLogp(6, V, new Rng(1)), V, 0);
  const b = new CtcPrefixScorer(randomLogp(4, V, new Rng(2)), V, 0);
  const m = new MeanPrefixScorer([a, b]);
  let [sa, sb, sm] = [a.initial(), b.initial(), m.initial()];
  for (const c of [2, 4, 4]) {
    [sa, sb, sm] = [a.extend(sa, c), b.extend(sb, c), m.extend(sm, c)];
    assert.ok(Math.abs(sm.score - (sa.score + sb.score) / 2) < 1e-12);
  }
  assert.ok(Math.abs(m.final(sm) - (a.final(sa) + b.final(sb)) / 2) < 1e-12);
  assert.throws(() => new MeanPrefixScorer([a, new CtcPrefixScorer(randomLogp(3, V, new Rng(2)), V, 1)]), /disagree on the blank/);
});

test("ctc prefix: extensionScore is extend(...).score bit for bit (empty prefix, a repeated label, a new one) and refuses the blank", () => {
  const V = 6;
  const sc = new CtcPrefixScorer(randomLogp(9, V, new Rng(17)), V, 0);
  for (const h of [[], [3], [3, 3], [2, 5, 1]]) {
    const g = h.reduce((s, c) => sc.extend(s, c), sc.initial());
    for (let c = 1; c < V; c++) assert.equal(sc.extensionScore(g, c), sc.extend(g, c).score, `[${h}] + ${c}`);
  }
  assert.throws(() => sc.extensionScore(sc.initial(), 0), /blank/);
});
