import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeCsv, readCsv, parseCsv, toCsv, truncateCsvAtStep, CsvError, summarise, tableToMarkdown, tableToHtml } from "../../src/report/index.js";

test("CSV round-trips awkward text (commas, quotes, newlines) and types numbers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "csv-"));
  const rows = [
    { id: "a", text: 'he said "hi", twice', wer: 12.5, n: 3 },
    { id: "b", text: "two\nlines", wer: 0, n: 0 },
  ];
  await writeCsv(join(dir, "x.csv"), rows);
  assert.deepEqual(readCsv(join(dir, "x.csv")), rows);
  assert.equal(toCsv([{ a: 1 }, { b: 2 }]), "a,b\n1,\n,2\n");
  assert.equal(toCsv([], ["a", "b"]), "a,b\n");
});

test("bad CSV: errors name the file and the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "csv-"));
  const p = join(dir, "bad.csv");
  writeFileSync(p, 'id,text\n1,"unterminated\n');
  assert.throws(() => readCsv(p), (e: unknown) => e instanceof CsvError && e.message.startsWith(`${p}: `) && /Quote/i.test(e.message));
  assert.throws(() => parseCsv("id,text\n1,a\n", "m.csv", { required: ["id", "wer"] }), /^CsvError: m\.csv: missing column "wer" \(has: id, text\)$|m\.csv: missing column "wer"/);
  assert.throws(() => readCsv(join(dir, "none.csv")), /none\.csv: file not found/);
});

test("truncateCsvAtStep keeps the rows up to a step with their text unchanged", () => {
  const dir = mkdtempSync(join(tmpdir(), "csv-"));
  const p = join(dir, "val.csv");
  writeFileSync(p, "step,epoch,task,wer\n500,1.000,asr,0.86846\n1000,2.000,asr,0.80000\n1500,3.000,asr,0.70000\n");
  truncateCsvAtStep(p, 1250);
  assert.equal(readFileSync(p, "utf8"), "step,epoch,task,wer\n500,1.000,asr,0.86846\n1000,2.000,asr,0.80000\n");
  truncateCsvAtStep(p, 0);
  assert.equal(readFileSync(p, "utf8"), "step,epoch,task,wer\n");
  truncateCsvAtStep(join(dir, "none.csv"), 3);
  assert.ok(!existsSync(join(dir, "none.csv")));
  writeFileSync(join(dir, "bad.csv"), "epoch,wer\n1,0.5\n");
  assert.throws(() => truncateCsvAtStep(join(dir, "bad.csv"), 3), /bad\.csv: missing column "step"/);
});

test("summarise gives mean, sample std (empty for one seed) and n per group", async () => {
  const rows = [
    { method: "omni", task: "asr", seed: 0, wer: 2 },
    { method: "omni", task: "asr", seed: 1, wer: 4 },
    { method: "mt", task: "asr", seed: 0, wer: 3 },
  ];
  const s = await summarise(rows, ["method", "task"], ["wer"]);
  const omni = s.find((r) => r.method === "omni")!;
  assert.equal(omni.wer_mean, 3);
  assert.ok(Math.abs((omni.wer_std as number) - Math.SQRT2) < 1e-12);
  assert.equal(omni.n, 2);
  const mt = s.find((r) => r.method === "mt")!;
  assert.equal(mt.wer_std, null);
  assert.equal(mt.n, 1);
});

test("tables render as Markdown and escaped HTML", () => {
  const rows = [{ method: "a|b", wer: 1.234 }, { method: "<c>", wer: 10 }];
  assert.equal(tableToMarkdown(rows, { digits: 1 }), "| method | wer |\n| --- | ---: |\n| a\\|b | 1.2 |\n| <c> | 10 |\n");
  const html = tableToHtml(rows);
  assert.ok(html.includes("&lt;c&gt;") && html.includes("1.23"));
});
