import { test } from "node:test";
import assert from "node:assert/strict";
import { oracleOfTwo, pairedBootstrap, type UttErrors } from "../../src/eval/bootstrap.js";

const u = (errors: number, refWords: number): UttErrors => ({ errors, refWords });

test("paired bootstrap: corpus WERs and their difference, worked by hand", () => {
  // A: (1 + 0) / (4 + 6) = 10 %; B: (2 + 1) / 10 = 30 %
  const r = pairedBootstrap([u(1, 4), u(0, 6)], [u(2, 4), u(1, 6)], { samples: 500 });
  assert.ok(Math.abs(r.werA - 0.1) < 1e-12 && Math.abs(r.werB - 0.3) < 1e-12);
  assert.ok(Math.abs(r.delta - 0.2) < 1e-12);
  // B is worse on both utterances, so on every resample
  assert.equal(r.pBetter, 0);
  assert.ok(r.ci[0] > 0 && r.ci[0] <= r.ci[1]);
  assert.equal(r.utterances, 2);
});

test("paired bootstrap: identical systems differ by exactly 0 on every resample", () => {
  const a = [u(1, 5), u(3, 7), u(0, 4)];
  const r = pairedBootstrap(a, a.map((x) => ({ ...x })), { samples: 300 });
  assert.equal(r.delta, 0);
  assert.deepEqual(r.ci, [0, 0]);
  assert.equal(r.pBetter, 0.5);
});

test("paired bootstrap: the interval holds the difference, narrows with more utterances, and is a pure function of the seed", () => {
  const a: UttErrors[] = [];
  const b: UttErrors[] = [];
  for (let i = 0; i < 40; i++) {
    a.push(u(i % 3, 8));
    b.push(u(i % 5 === 0 ? 2 : i % 3 === 0 ? 0 : (i % 3) - 1 + (i % 7 === 0 ? 1 : 0), 8));
  }
  const small = pairedBootstrap(a, b, { samples: 2000, seed: 4 });
  assert.ok(small.ci[0] <= small.delta && small.delta <= small.ci[1], JSON.stringify(small));
  assert.deepEqual(pairedBootstrap(a, b, { samples: 2000, seed: 4 }), small);
  const x4 = (xs: UttErrors[]) => [...xs, ...xs, ...xs, ...xs];
  const big = pairedBootstrap(x4(a), x4(b), { samples: 2000, seed: 4 });
  assert.ok(Math.abs(big.delta - small.delta) < 1e-12);
  const width = (r: typeof small) => r.ci[1] - r.ci[0];
  // four times the utterances: about half the width (1 / sqrt 4)
  assert.ok(width(big) < 0.7 * width(small), `widths ${width(small)} -> ${width(big)}`);
  assert.ok(small.pBetter > 0.5 === small.delta < 0);
});

test("paired bootstrap refuses unpaired inputs with a clear error", () => {
  assert.throws(() => pairedBootstrap([u(1, 4)], [u(1, 4), u(0, 2)]), /1 utterances in A, 2 in B/);
  assert.throws(() => pairedBootstrap([u(1, 4)], [u(1, 5)]), /not the same utterance/);
  assert.throws(() => pairedBootstrap([], []), /no utterances/);
  assert.throws(() => pairedBootstrap([u(1, 4)], [u(1, 4)], { samples: 0 }), /samples/);
});

test("npm run compare: two eval CSVs of the same utterances, and a clear error naming the file when they differ", async () => {
  const { spawnSync } = await import("node:child_process");
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "omni-compare-"));
  const head = "id,speaker,ref,hyp,word_errors,ref_words\n";
  writeFileSync(join(dir, "a.csv"), head + "u1,s1,a b c d,a b x d,1,4\nu2,s2,e f,e g,1,2\n");
  writeFileSync(join(dir, "b.csv"), head + "u2,s2,e f,e f,0,2\nu1,s1,a b c d,a b c d,0,4\n");
  writeFileSync(join(dir, "c.csv"), head + "u1,s1,a b c d,a b c d,0,4\nu3,s2,e f,e f,0,2\n");
  const run = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", join("scripts", "compare-evals.ts"), ...args], { encoding: "utf8" });
  const ok = run(join(dir, "a.csv"), join(dir, "b.csv"), "--samples", "200", "--by-speaker");
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /a\.csv: WER 33\.33 %/);
  assert.match(ok.stdout, /b\.csv: WER 0\.00 %/);
  assert.match(ok.stdout, /B - A: -33\.33 points/);
  assert.match(ok.stdout, /s2 +2 words +A +50\.00 % +B +0\.00 %/);
  const bad = run(join(dir, "a.csv"), join(dir, "c.csv"));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /c\.csv.*no row for utterance u2/);
});

test("oracleOfTwo: the better hypothesis per utterance, worked by hand", () => {
  // A errs 3, 0, 2 and B 1, 2, 2 on 5 + 5 + 10 words: A 25 %, B 25 %, the better of each (1 + 0 + 2) / 20 = 15 %
  const a = [u(3, 5), u(0, 5), u(2, 10)];
  const b = [u(1, 5), u(2, 5), u(2, 10)];
  assert.ok(Math.abs(oracleOfTwo(a, b) - 0.15) < 1e-12);
  // one system never better: the oracle is the better system's WER
  assert.ok(Math.abs(oracleOfTwo(a, a) - 0.25) < 1e-12);
  assert.throws(() => oracleOfTwo(a, b.slice(1)), /3 against 2 utterances/);
});
