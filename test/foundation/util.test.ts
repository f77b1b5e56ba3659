import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Rng, hashSeed } from "../../src/util/rng.js";
import { writeFileAtomicSync } from "../../src/util/atomic.js";
import { Progress, formatDuration } from "../../src/util/progress.js";
import { bySize, isSmoke } from "../../src/util/smoke.js";
import { repoRelative, repoRoot } from "../../src/util/paths.js";

test("Rng: same seed, same stream; different seeds differ; state restores exactly", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 100 }, () => a.next());
  const sb = Array.from({ length: 100 }, () => b.next());
  const sc = Array.from({ length: 100 }, () => c.next());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  const state = a.state();
  const next = [a.next(), a.next(), a.normal()];
  const r = Rng.fromState(state);
  assert.deepEqual([r.next(), r.next(), r.normal()], next);
  assert.equal(new Rng("utt-1").nextUint32(), new Rng(hashSeed("utt-1")).nextUint32());
});

test("Rng: uniform over [0,1) with the right mean; normal has mean 0 and std 1", () => {
  const r = new Rng(7);
  const n = 20000;
  const u = Array.from({ length: n }, () => r.next());
  assert.ok(u.every((x) => x >= 0 && x < 1));
  const mean = u.reduce((s, x) => s + x, 0) / n;
  assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  const g = Array.from({ length: n }, () => r.normal());
  const gm = g.reduce((s, x) => s + x, 0) / n;
  const gv = g.reduce((s, x) => s + (x - gm) ** 2, 0) / n;
  assert.ok(Math.abs(gm) < 0.03 && Math.abs(gv - 1) < 0.05, `normal mean ${gm} var ${gv}`);
  const ints = new Set(Array.from({ length: 1000 }, () => r.int(3, 7)));
  assert.deepEqual([...ints].sort(), [3, 4, 5, 6]);
  assert.throws(() => r.int(2, 2), /empty range/);
});

test("Rng: fork gives independent, reproducible children and leaves the parent unchanged", () => {
  const p = new Rng(1);
  const before = p.state();
  const c1 = p.fork("a").next(), c2 = p.fork("a").next(), c3 = p.fork("b").next();
  assert.deepEqual(p.state(), before);
  assert.equal(c1, c2);
  assert.notEqual(c1, c3);
});

test("writeFileAtomicSync replaces the file whole and leaves no temporary file", () => {
  const dir = mkdtempSync(join(tmpdir(), "atomic-"));
  const path = join(dir, "sub", "x.txt");
  writeFileAtomicSync(path, "first");
  writeFileAtomicSync(path, "second");
  assert.equal(readFileSync(path, "utf8"), "second");
  assert.deepEqual(readdirSync(join(dir, "sub")), ["x.txt"]);
});

test("Progress prints step, values, rate and ETA, throttled but always at the end", () => {
  let now = 0;
  const lines: string[] = [];
  const p = new Progress(10, { label: "t", intervalMs: 1000, write: (l) => lines.push(l), now: () => now });
  for (let i = 1; i <= 10; i++) {
    now += 250;
    p.update(i, { loss: 1 / i });
  }
  // Printed at step 1 (first), 5 and 9 (each 1 s after the last print) and 10 (the last step).
  assert.deepEqual(lines.map((l) => Number(/step +(\d+)\//.exec(l)![1])), [1, 5, 9, 10]);
  assert.match(lines[0]!, /^\[t\] step  1\/10 \| loss 1\.0000 \| 4\.00 step\/s \| elapsed 0s \| eta 2s$/);
  assert.match(lines.at(-1)!, /step 10\/10 .* eta 0s/);
  // a resumed run: the rate counts only its own steps, "elapsed" includes the time before
  now = 0;
  const resumed = new Progress(10, { startAt: 6, elapsedBefore: 120, write: () => {}, now: () => now });
  now = 2000;
  assert.match(resumed.format(8, {}, now), /step  8\/10 \| 1\.00 step\/s \| elapsed 2m02s \| eta 2s$/);
  assert.equal(formatDuration(3725), "1h02m");
  assert.equal(formatDuration(65), "1m05s");
});

test("smoke size follows OMNI_SMOKE", () => {
  assert.equal(isSmoke({ OMNI_SMOKE: "1" }), true);
  assert.equal(isSmoke({ OMNI_SMOKE: "0" }), false);
  assert.equal(isSmoke({}), false);
  assert.equal(bySize(100, 2, { OMNI_SMOKE: "yes" }), 2);
});

test("repoRelative: paths inside the repository are recorded relative to it, others stay absolute", () => {
  const root = repoRoot();
  assert.equal(repoRelative(join(root, "results", "runs", "r1", "eval", "asr_4-0.json")), join("results", "runs", "r1", "eval", "asr_4-0.json"));
  assert.equal(repoRelative(join(root, "results", "..", "data", "x.csv")), join("data", "x.csv"));
  const outside = mkdtempSync(join(tmpdir(), "omni-rel-"));
  assert.equal(repoRelative(join(outside, "a.json")), join(outside, "a.json"));
  assert.equal(repoRelative(join(root, "..", "sibling", "b.csv")), resolve(root, "..", "sibling", "b.csv"));
});
