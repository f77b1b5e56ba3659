import { test } from "node:test";
import assert from "node:assert/strict";
import { MaxHeap } from "../../src/util/heap.js";
import { Rng } from "../../src/util/rng.js";

test("max-heap: pops every pushed item, highest key first (random keys with repeats), then undefined", () => {
  const rng = new Rng(5);
  const keys = Array.from({ length: 200 }, () => Math.floor(rng.next() * 50));
  const h = new MaxHeap<{ key: number }>();
  keys.forEach((key) => h.push({ key }));
  assert.equal(h.size, 200);
  const out: number[] = [];
  for (let x = h.pop(); x; x = h.pop()) out.push(x.key);
  assert.deepEqual(out, [...keys].sort((a, b) => b - a));
  assert.equal(h.pop(), undefined);
});
