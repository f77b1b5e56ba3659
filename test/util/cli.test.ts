import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { describeFailure } from "../../src/util/cli.js";
import { InputError, isInputError } from "../../src/util/errors.js";
import { CsvError } from "../../src/report/csv.js";
import { DataError } from "../../src/data/dataset.js";

test("describeFailure: an input error is its message on one line; a bug keeps its stack; OMNI_DEBUG shows both stacks", () => {
  const input = new InputError("results/x.csv: no such run");
  assert.equal(describeFailure(input), "error: results/x.csv: no such run");
  assert.match(describeFailure(input, true), /InputError: results\/x\.csv: no such run\n\s+at /);
  const bug = new TypeError("cannot read properties of undefined");
  assert.match(describeFailure(bug), /^TypeError: cannot read properties of undefined\n\s+at /);
  assert.equal(describeFailure("a string"), "error: a string");
});

test("an unknown option (node:util parseArgs) is a one-line refusal too", () => {
  let err: unknown;
  try {
    parseArgs({ args: ["--lexicon-decod", "0.2"], options: { "lexicon-decode": { type: "string" } } });
  } catch (e) {
    err = e;
  }
  assert.match(describeFailure(err), /^error: Unknown option '--lexicon-decod'/);
  assert.doesNotMatch(describeFailure(err), /\n\s+at /);
});

test("the file-format errors are input errors, and keep their own names", () => {
  const csv = new CsvError("results/a.csv", "row 3: wer is not a number");
  assert.ok(isInputError(csv));
  assert.equal(csv.name, "CsvError");
  assert.equal(describeFailure(csv), "error: results/a.csv: row 3: wer is not a number");
  assert.ok(isInputError(new DataError("utt1", "data/x.wav", "truncated")));
  assert.ok(!isInputError(new Error("plain")));
});

test("a script that imports src/util/cli.ts: one line for an input error thrown after an await, the stack for a bug, exit 1 both", () => {
  const dir = mkdtempSync(join(tmpdir(), "omni-cli-"));
  const cli = pathToFileURL(resolve("src/util/cli.ts")).href;
  const errors = pathToFileURL(resolve("src/util/errors.ts")).href;
  const run = (body: string) => {
    const f = join(dir, `s${Math.random().toString(36).slice(2)}.mts`);
    writeFileSync(f, `import "${cli}";\nimport { InputError } from "${errors}";\nawait new Promise((r) => setTimeout(r, 5));\n${body}\n`);
    return spawnSync(process.execPath, ["--import", "tsx", f], { encoding: "utf8", env: { ...process.env, OMNI_DEBUG: "" } });
  };
  const a = run(`throw new InputError("data/smoke/manifest.csv: line 4 has 2 fields, expected 3");`);
  assert.equal(a.status, 1);
  assert.equal(a.stderr.trim(), "error: data/smoke/manifest.csv: line 4 has 2 fields, expected 3");
  const b = run(`const o: any = undefined; o.x = 1;`);
  assert.equal(b.status, 1);
  assert.match(b.stderr, /TypeError/);
  assert.match(b.stderr, /\n\s+at /);
  const c = run(`void Promise.reject(new InputError("refused"));`);
  assert.equal(c.status, 1);
  assert.equal(c.stderr.trim(), "error: refused");
});
