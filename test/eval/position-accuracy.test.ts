import { test } from "node:test";
import assert from "node:assert/strict";
import { accuracyByPosition, emptyPositionAccuracy } from "../../src/eval/position-accuracy.js";
import { IGNORE } from "../../src/models/llm.js";

const X = IGNORE;

test("accuracyByPosition counts each row's transcript tokens by their order, skipping prefix and padding", () => {
  // two rows of length 6: row 0 = prefix, prefix, t1, t2, t3, EOS; row 1 = prefix, t1, t2, pad, pad, pad
  const targets = [X, X, 5, 6, 7, 2, X, 9, 9, X, X, X];
  const pred = [0, 0, 5, 1, 7, 2, 9, 9, 4, 9, 9, 9];
  const acc = accuracyByPosition(pred, targets, 2, 6, emptyPositionAccuracy(3));
  // position 1: row 0 right (5), row 1 right (9); position 2: row 0 wrong (1 vs 6), row 1 wrong (4 vs 9);
  // positions 3+ pooled: row 0's 7 and EOS both right; predictions under IGNORE never count
  assert.deepEqual(acc.counts, [2, 2, 2]);
  assert.deepEqual(acc.hits, [2, 0, 2]);
  // accumulates across batches
  accuracyByPosition([5], [5], 1, 1, acc);
  assert.deepEqual(acc.counts, [3, 2, 2]);
  assert.deepEqual(acc.hits, [3, 0, 2]);
  assert.throws(() => accuracyByPosition([1, 2], [1, 2, 3], 1, 3, acc), /expected 1x3 predictions and targets, got 2 and 3/);
});
