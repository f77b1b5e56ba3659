import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  collectEnvironment, environmentSection, extractEnvironmentSection, replaceEnvironmentSection, sectionKeys, measureMatmulGflops,
} from "../../src/env/report.js";
import { repoRoot } from "../../src/util/paths.js";

test("environment.md's generated section is current in its shape (same facts as `npm run env` measures now)", async () => {
  const committed = extractEnvironmentSection(readFileSync(join(repoRoot(), "environment.md"), "utf8"));
  assert.ok(committed, "environment.md has no generated section: run `npm run env`");
  const fresh = environmentSection(await collectEnvironment());
  assert.deepEqual(sectionKeys(committed), sectionKeys(fresh), "environment.md is stale: run `npm run env`");
  for (const key of ["Node.js", "npm", "TensorFlow.js", "TensorFlow.js backend", "CPU", "CPU cores", "512x512 matmul", "Jupyter", "tslab"]) {
    assert.ok(sectionKeys(fresh).includes(key), key);
  }
});

test("the generated section replaces the old one in place and keeps the hand-written text", () => {
  const doc = "# Env\n\nintro\n";
  const once = replaceEnvironmentSection(doc, environmentSection([{ key: "a", value: "1" }]));
  const twice = replaceEnvironmentSection(once, environmentSection([{ key: "a", value: "2" }]));
  assert.ok(twice.startsWith("# Env\n\nintro\n"));
  assert.equal(twice.match(/npm run env: begin/g)!.length, 1);
  assert.ok(twice.includes("| a | 2 |") && !twice.includes("| a | 1 |"));
});

test("the matmul rate is a positive, finite number", async () => {
  const g = await measureMatmulGflops(64, 3);
  assert.ok(Number.isFinite(g) && g > 0, String(g));
});
