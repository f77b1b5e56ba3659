import { test } from "node:test";
import assert from "node:assert/strict";
import { paperTable1, paperNoise, paperLambdaAblation, paperLlmScaling, parseRateColumn } from "../../src/experiments/reference.js";

test("Table I columns map to task and rates", () => {
  assert.deepEqual(parseRateColumn("asr_16"), { task: "asr", audioRate: 16 });
  assert.deepEqual(parseRateColumn("vsr_5"), { task: "vsr", videoRate: 5 });
  assert.deepEqual(parseRateColumn("avsr_16_2"), { task: "avsr", audioRate: 16, videoRate: 2 });
  assert.equal(parseRateColumn("avg"), undefined);
});

test("the paper's Table I is read whole: 12 rows x 8 cells, with known values", () => {
  const t = paperTable1();
  assert.equal(t.length, 12 * 8);
  const st = t.find((c) => c.dataset === "LRS3" && c.method === "Omni-AVSR-ST" && c.task === "vsr" && c.videoRate === 2)!;
  assert.equal(st.wer, 26.8);
  const mt = t.find((c) => c.dataset === "LRS2" && c.method === "Llama-MT" && c.task === "avsr" && c.audioRate === 16 && c.videoRate === 5)!;
  assert.equal(mt.wer, 3.9);
});

test("noise, λ ablation and LLM scaling tables parse into typed points", () => {
  const n = paperNoise();
  assert.equal(n.length, 40);
  assert.deepEqual(
    n.filter((p) => p.method === "Omni-AVSR-ST" && p.audioRate === 4).map((p) => [p.snrDb, p.wer]),
    [[5, 2.5], [2.5, 3.8], [0, 4.4], [-2.5, 11.4], [-5, 18.0]],
  );
  const l = paperLambdaAblation();
  assert.deepEqual(l.map((r) => r.lambdas), [[1, 1, 1], [1, 1.5, 1], [1, 2, 1]]);
  assert.deepEqual(l[1]!.cells.find((c) => c.task === "vsr" && c.videoRate === 2), { task: "vsr", videoRate: 2, wer: 26.8 });
  const s = paperLlmScaling();
  assert.ok(s.some((p) => p.llm === "Qwen2.5-32B" && p.task === "vsr" && p.wer === 23.97));
});
