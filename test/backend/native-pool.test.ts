/**
 * The output-buffer pool of the native backend (src/backend/native/pool.ts) must never hand out an
 * array that someone can still see: arrays given to user code by dataSync, views stored as other
 * tensors (cpu Slice), arrays stored twice. The pool's rules are tested directly (no addon needed),
 * then end to end on the native backend.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { BufferPool } from "../../src/backend/native/pool.js";
import { REQUIRE_NATIVE, nativeAvailability, rand } from "./harness.js";

describe("BufferPool rules", () => {
  it("recycles a released array and hands it out again", () => {
    const pool = new BufferPool(16, 1 << 20);
    const a = pool.alloc(100);
    pool.noteStored(a);
    pool.release(a);
    assert.equal(pool.alloc(100), a);
    assert.notEqual(pool.alloc(100), a);
    assert.equal(pool.stats.reused, 1);
  });

  it("never recycles escaped, shared, foreign, small or over-budget arrays", () => {
    const pool = new BufferPool(16, 1000 * 4);
    const escaped = pool.alloc(100);
    pool.noteStored(escaped);
    pool.noteEscaped(escaped);
    pool.release(escaped);
    const viewed = pool.alloc(100);
    pool.noteStored(viewed);
    pool.noteStored(viewed.subarray(10, 20)); // a view stored as another tensor's values
    pool.release(viewed);
    const twice = pool.alloc(100);
    pool.noteStored(twice);
    pool.noteStored(twice);
    pool.release(twice);
    const foreign = new Float32Array(100);
    pool.noteStored(foreign);
    pool.release(foreign);
    const small = pool.alloc(8);
    pool.noteStored(small);
    pool.release(small);
    const big = pool.alloc(2000);
    pool.noteStored(big);
    pool.release(big);
    for (const a of [escaped, viewed, twice, foreign]) assert.notEqual(pool.alloc(100), a);
    assert.notEqual(pool.alloc(8), small);
    assert.notEqual(pool.alloc(2000), big);
    assert.equal(pool.stats.recycled, 0);
  });
});

const avail = await nativeAvailability();

describe("pool on the native backend", () => {
  if (!avail.ok) {
    it(`native backend not available (${avail.reason})`, () => {
      assert.ok(!REQUIRE_NATIVE, `OMNI_REQUIRE_NATIVE=1 but the native backend did not load: ${avail.reason}`);
    });
    return;
  }

  const churn = (n: number) => {
    for (let i = 0; i < n; i++) tf.tidy(() => tf.mul(tf.add(rand(i, [64, 64]), 1), 3).dataSync());
  };

  it("dataSync arrays stay intact after dispose and reuse", async () => {
    await tf.setBackend("native");
    const y = tf.tidy(() => tf.add(rand("a", [64, 64]), rand("b", [64, 64])));
    const seen = y.dataSync();
    const copy = Float32Array.from(seen);
    y.dispose();
    churn(20);
    assert.deepEqual(seen, copy);
  });

  it("a slice view of a disposed tensor keeps its values", async () => {
    await tf.setBackend("native");
    const x = tf.tidy(() => tf.mul(rand("x", [64, 64]), 2));
    const s = tf.slice(x, [0, 0], [32, 64]); // contiguous: the cpu Slice kernel returns a view
    const expected = Float32Array.from(x.dataSync().subarray(0, 32 * 64));
    x.dispose();
    churn(20);
    assert.deepEqual(s.dataSync(), expected);
    s.dispose();
  });

  it("outputs that were never read are reused", async () => {
    await tf.setBackend("native");
    const backend = tf.backend() as unknown as { pool: BufferPool };
    const before = backend.pool.stats.reused;
    for (let i = 0; i < 10; i++) tf.tidy(() => tf.sum(tf.mul(tf.add(rand(i, [64, 64]), 1), 3)).dataSync());
    assert.ok(backend.pool.stats.reused > before, "no reuse happened");
  });
});
