import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend/index.js";
import { Rng } from "../../src/util/rng.js";
import { AvsrConfig, AvsrModel, DEFAULT_PROMPTS } from "../../src/models/avsr.js";
import { IGNORE, LlmConfig } from "../../src/models/llm.js";
import { llmLoraParamCount } from "../../src/models/lora.js";
import { AvsrTrainModel } from "../../src/pipeline/model.js";
import { ctcLoss } from "../../src/models/ctc.js";
import { BpeTokenizer, PAD_ID, AUDIO_END_ID, AUDIO_START_ID, BOS_ID, EOS_ID, VIDEO_END_ID, VIDEO_START_ID } from "../../src/text/tokenizer.js";

before(async () => {
  await initBackend({ warn: () => {} });
});

const tok = BpeTokenizer.train(["transcribe speech and video to text", "the cat sat"], { vocabSize: 120 });
const LLM: LlmConfig = { vocabSize: tok.size, dim: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 24, maxSeqLen: 128, ropeTheta: 10000, normEps: 1e-5, tieEmbeddings: true };

function config(strategy: "S" | "T" | "ST" = "ST"): AvsrConfig {
  return {
    llm: LLM,
    audioDim: 6,
    videoDim: 5,
    audioRates: [4, 16],
    videoRates: [2, 5],
    compression: "avg-pooling",
    tail: "partial",
    projectorHidden: 12,
    lora: { r: 2, alpha: 4, targets: ["q_proj", "v_proj"], dropout: 0 },
    strategy,
    prompts: DEFAULT_PROMPTS,
  };
}

function rowsEqual(a: tf.Tensor, b: tf.Tensor): boolean {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! === 0);
}

test("sequence layout: [BOS] <audio> A </audio> <video> V </video> prompt transcript EOS; loss only on transcript+EOS", () => {
  const m = new AvsrModel(config(), tok, new Rng(1));
  const transcript = tok.encode("the cat sat");
  const sample = { audio: tf.randomNormal([10, 6]) as tf.Tensor2D, video: tf.randomNormal([5, 5]) as tf.Tensor2D, transcript };
  const rates = { audio: 4, video: 2 };
  const nA = Math.ceil(10 / 4); // 3
  const nV = Math.ceil(5 / 2); // 3
  tf.tidy(() => {
    const embAt = (id: number) => m.llm.embedTokens(tf.tensor1d([id], "int32"));
    for (const task of ["asr", "vsr", "avsr"] as const) {
      const inp = m.trainInputs([sample], task, rates);
      const e = tf.squeeze(inp.embeds, [0]) as tf.Tensor2D;
      const y = inp.targets;
      const prompt = m.promptIds[task];
      const spans: Array<[string, number]> = [["bos", 1]];
      if (task !== "vsr") spans.push(["<audio>", 1], ["A", nA], ["</audio>", 1]);
      if (task !== "asr") spans.push(["<video>", 1], ["V", nV], ["</video>", 1]);
      spans.push(["prompt", prompt.length], ["text", transcript.length], ["eos", 1]);
      const L = spans.reduce((s, [, n]) => s + n, 0);
      assert.equal(e.shape[0], L, task);
      // special-token rows are the embeddings of their ids
      let pos = 0;
      const ids: Record<string, number> = { bos: BOS_ID, "<audio>": AUDIO_START_ID, "</audio>": AUDIO_END_ID, "<video>": VIDEO_START_ID, "</video>": VIDEO_END_ID, eos: EOS_ID };
      for (const [name, n] of spans) {
        if (ids[name] !== undefined) assert.ok(rowsEqual(tf.slice(e, [pos, 0], [1, -1]), embAt(ids[name]!)), `${task} ${name} at ${pos}`);
        if (name === "prompt") assert.ok(rowsEqual(tf.slice(e, [pos, 0], [n, -1]), m.llm.embedTokens(tf.tensor1d(prompt, "int32"))));
        if (name === "A") assert.ok(rowsEqual(tf.slice(e, [pos, 0], [n, -1]), m.modalityTokens([sample], "audio", rates.audio)[0]!), `${task} audio tokens`);
        if (name === "V") assert.ok(rowsEqual(tf.slice(e, [pos, 0], [n, -1]), m.modalityTokens([sample], "video", rates.video)[0]!), `${task} video tokens`);
        pos += n;
      }
      // targets: IGNORE everywhere except positions prefix-1 .. L-2, which predict transcript + EOS
      const prefix = L - transcript.length - 1;
      const expected = new Int32Array(L).fill(IGNORE);
      [...transcript, EOS_ID].forEach((t, k) => (expected[prefix - 1 + k] = t));
      assert.deepEqual(Array.from(y), Array.from(expected), task);
    }
    // a batch of two lengths: training pads on the right, decoding on the left, with the same rows
    const short = { audio: tf.randomNormal([5, 6]) as tf.Tensor2D, video: tf.randomNormal([3, 5]) as tf.Tensor2D, transcript: tok.encode("a") };
    const inp = m.trainInputs([sample, short], "avsr", rates);
    const dec = m.decodePrefix([sample, short], "avsr", rates);
    const [, L, D] = inp.embeds.shape;
    const P = dec.embeds.shape[1];
    assert.equal(dec.validFrom[0], 0);
    assert.equal(P, inp.lengths[0]! - transcript.length - 1);
    inp.lengths.forEach((n, b) => {
      const prefix = n - (b === 0 ? transcript : short.transcript).length - 1;
      assert.equal(dec.validFrom[b], P - prefix, `validFrom ${b}`);
      const row = tf.slice(inp.embeds, [b, 0, 0], [1, L, D]);
      assert.ok(rowsEqual(tf.slice(row, [0, 0, 0], [1, prefix, D]), tf.slice(dec.embeds, [b, P - prefix, 0], [1, prefix, D])), `prefix rows ${b}`);
      if (n < L) assert.equal(tf.abs(tf.slice(row, [0, n, 0], [1, L - n, D])).max().dataSync()[0], 0, "right padding is zero");
      if (P > prefix) assert.equal(tf.abs(tf.slice(dec.embeds, [b, 0, 0], [1, P - prefix, D])).max().dataSync()[0], 0, "left padding is zero");
    });
    tf.dispose([short.audio, short.video]);
    // the prompts are the reference's three prompts
    assert.equal(tok.decode(m.promptIds.avsr), "Transcribe speech and video to text.");
  });
  tf.dispose([sample.audio, sample.video]);
  m.dispose();
});

test("right padding does not change the loss: batch loss is the token-weighted mean of per-sample losses", () => {
  const m = new AvsrModel(config(), tok, new Rng(2));
  const s1 = { audio: tf.randomNormal([12, 6], 0, 1, "float32", 1) as tf.Tensor2D, video: tf.randomNormal([6, 5], 0, 1, "float32", 2) as tf.Tensor2D, transcript: tok.encode("the cat") };
  const s2 = { audio: tf.randomNormal([30, 6], 0, 1, "float32", 3) as tf.Tensor2D, video: tf.randomNormal([15, 5], 0, 1, "float32", 4) as tf.Tensor2D, transcript: tok.encode("the cat sat sat") };
  for (const task of ["asr", "vsr", "avsr"] as const) {
    const rates = { audio: 16, video: 5 };
    const l1 = m.loss([s1], task, rates).dataSync()[0]!;
    const l2 = m.loss([s2], task, rates).dataSync()[0]!;
    const lb = m.loss([s1, s2], task, rates).dataSync()[0]!;
    const n1 = s1.transcript.length + 1;
    const n2 = s2.transcript.length + 1;
    assert.ok(Math.abs(lb - (l1 * n1 + l2 * n2) / (n1 + n2)) < 1e-4, `${task}: ${lb} vs ${l1}, ${l2}`);
  }
  tf.dispose([s1.audio, s1.video, s2.audio, s2.video]);
  m.dispose();
});

test("trainable parameters are the projectors plus the strategy's LoRA adapters", () => {
  for (const strategy of ["S", "T", "ST"] as const) {
    const c = config(strategy);
    const m = new AvsrModel(c, tok, new Rng(3));
    const proj = (din: number) => din * 12 + 12 + 12 * 16 + 16;
    const expected = 2 * proj(6) + 2 * proj(5) + llmLoraParamCount(LLM, c.lora, strategy);
    assert.equal(m.trainableCount(), expected, strategy);
    assert.equal(m.llm.numParams(true), llmLoraParamCount(LLM, c.lora, strategy), "the LLM itself is frozen");
    m.dispose();
  }
});

test("each task and rate trains only its own adapters and projectors (S, T, ST)", () => {
  const sample = { audio: tf.randomNormal([40, 6], 0, 1, "float32", 21) as tf.Tensor2D, video: tf.randomNormal([20, 5], 0, 1, "float32", 22) as tf.Tensor2D, transcript: tok.encode("the cat sat") };
  const rates = { audio: 16, video: 2 };
  for (const strategy of ["S", "T", "ST"] as const) {
    const m = new AvsrModel(config(strategy), tok, new Rng(7));
    const params = m.trainableParameters();
    for (const task of ["asr", "vsr", "avsr"] as const) {
      const { value, grads } = tf.variableGrads(() => m.loss([sample], task, rates), params.map(([, v]) => v));
      // which groups (adapter lora_<x>, projector <modality>_r<rate>) got a non-zero gradient
      const moved = new Set<string>();
      for (const [name, v] of params) {
        const g = grads[v.name];
        if (!g || tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!) === 0) continue;
        moved.add(/\.(lora_\w+)\./.exec(name)?.[1] ?? /^projectors\.(\w+)\./.exec(name)![1]!);
      }
      tf.dispose([value, ...Object.values(grads)]);
      const adapters = strategy === "S" ? ["lora_shared"] : strategy === "T" ? [`lora_${task}`] : [`lora_${task}`, "lora_shared"];
      const projectors = task === "asr" ? ["audio_r16"] : task === "vsr" ? ["video_r2"] : ["audio_r16", "video_r2"];
      assert.deepEqual([...moved].sort(), [...adapters, ...projectors].sort(), `${strategy} ${task}`);
    }
    m.dispose();
  }
  tf.dispose([sample.audio, sample.video]);
});

test("auxiliary CTC (training model): off equals the plain loss; on adds w · mean over modalities of CTC on P·Eᵀ·s", () => {
  const cfg = config("ST");
  const plain = new AvsrModel(cfg, tok, new Rng(5));
  const off = new AvsrTrainModel(cfg, tok, new Rng(5), undefined, 0);
  const on = new AvsrTrainModel(cfg, tok, new Rng(5), undefined, 0.7);
  assert.equal(off.ctcLogScale, undefined);
  assert.equal(on.trainableCount(), plain.trainableCount() + 1, "one extra trained scalar (the CTC logit scale)");
  const samples = [
    { audio: tf.randomNormal([96, 6], 0, 1, "float32", 11) as tf.Tensor2D, video: tf.randomNormal([48, 5], 0, 1, "float32", 12) as tf.Tensor2D, transcript: tok.encode("the cat") },
    { audio: tf.randomNormal([120, 6], 0, 1, "float32", 13) as tf.Tensor2D, video: tf.randomNormal([60, 5], 0, 1, "float32", 14) as tf.Tensor2D, transcript: tok.encode("the cat sat") },
  ];
  // long enough that every row is alignable (the reference ctcLoss has no skip rule)
  assert.ok(samples.every((x) => x.transcript.length * 2 + 1 <= 24));
  const rates = { audio: 4, video: 2 };
  for (const task of ["asr", "vsr", "avsr"] as const) {
    const base = plain.loss(samples, task, rates).dataSync()[0]!;
    assert.ok(Math.abs(off.loss(samples, task, rates).dataSync()[0]! - base) < 1e-5, `${task}: ctcWeight 0 is the paper's loss`);
    // the same CTC, by hand with the reference (dynamic-programming) ctcLoss
    const expected = tf.tidy(() => {
      const spans = on.modalitySpans(samples, task, rates);
      const s = Math.exp(on.ctcLogScale!.dataSync()[0]!);
      const ctcs = [spans.audio, spans.video].filter((x) => x !== undefined).map((toks) => {
        const T = Math.max(...toks!.map((t) => t.shape[0]));
        const logits = tf.stack(toks!.map((t) => tf.mul(tf.matMul(tf.pad(t, [[0, T - t.shape[0]], [0, 0]]), on.llm.embed as tf.Tensor2D, false, true), s)));
        return ctcLoss(logits as tf.Tensor3D, samples.map((x) => x.transcript), toks!.map((t) => t.shape[0]), PAD_ID).dataSync()[0]!;
      });
      return base + (0.7 * ctcs.reduce((a, b) => a + b, 0)) / ctcs.length;
    });
    const got = on.loss(samples, task, rates).dataSync()[0]!;
    assert.ok(Math.abs(got - expected) < 1e-3 * Math.max(1, expected), `${task}: ${got} vs ${expected}`);
  }
  // the CTC term trains the projectors and the scale (the LM, embeddings included, stays frozen)
  const trainable = on.parameters().filter((v) => v.trainable);
  const { grads } = tf.variableGrads(() => on.loss(samples, "avsr", rates), trainable);
  assert.ok(Math.abs(grads[on.ctcLogScale!.name]!.dataSync()[0]!) > 0);
  assert.ok(!on.llm.embed.trainable);
  tf.dispose(Object.values(grads));
  for (const s of samples) tf.dispose([s.audio, s.video]);
  [plain, off, on].forEach((m) => m.dispose());
});
