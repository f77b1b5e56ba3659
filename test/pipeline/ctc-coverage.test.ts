import { test } from "node:test";
import assert from "node:assert/strict";
import { CTC_MIN_COVERAGE, ctcCoverage, ctcLength } from "../../src/pipeline/ctc-coverage.js";

test("CTC length: labels plus one blank between equal neighbours", () => {
  assert.equal(ctcLength([]), 0);
  assert.equal(ctcLength([4, 5, 6]), 3);
  assert.equal(ctcLength([4, 4, 5, 5, 5]), 8);
});

test("CTC coverage: the share of utterances whose labels fit in ceil(frames / rate) tokens, by hand", () => {
  const utts = [
    { frames: 50, ids: [1, 2, 3] }, // rate 4: 13 tokens, rate 16: 4 -> fits both
    { frames: 50, ids: [1, 2, 2, 3] }, // needs 5: fits at 4, not at 16 (4 tokens)
    { frames: 64, ids: [1, 2, 3, 4] }, // 16 / 4 tokens: fits both (exactly at 16)
    { frames: 10, ids: [1, 2, 3, 4, 5] }, // 3 / 1 tokens: fits neither
  ];
  assert.equal(ctcCoverage(utts, 4), 0.75);
  assert.equal(ctcCoverage(utts, 16), 0.5);
  assert.equal(ctcCoverage(utts, 1), 1, "uncompressed, every one fits");
  assert.ok(CTC_MIN_COVERAGE > 0.5 && CTC_MIN_COVERAGE < 1);
  assert.throws(() => ctcCoverage([], 4), /no utterances/);
});
