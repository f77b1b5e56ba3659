/** Executes every notebook at the smoke size (the notebook smoke run of `npm test`). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureLibraryBuilt, listNotebooks, runNotebook } from "../../scripts/notebooks/runner.js";

interface Cell { id?: string; cell_type: string; outputs?: Array<{ output_type: string; data?: Record<string, unknown> }> }

const outDir = mkdtempSync(join(tmpdir(), "notebooks-"));
const env = { ...process.env, OMNI_SMOKE: "1" };

test("every notebook has a tslab kernelspec and ids on its cells", () => {
  const notebooks = listNotebooks();
  assert.ok(notebooks.some((n) => n.endsWith("00_environment.ipynb")));
  for (const nb of notebooks) {
    const doc = JSON.parse(readFileSync(nb, "utf8"));
    assert.equal(doc.metadata.kernelspec.name, "tslab", nb);
    for (const c of doc.cells as Cell[]) assert.ok(c.id, `${nb}: a cell without an id`);
    // Notebooks import the library by its package name (tslab compiles with rootDir = notebooks/).
    // nbformat allows a cell's source as one string or as a list of lines.
    const code = (doc.cells as Array<{ source: string | string[] }>).map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source)).join("\n");
    assert.ok(!/from\s+["']\.\.\/src/.test(code), `${nb} imports ../src directly`);
  }
});

for (const nb of listNotebooks()) {
  const name = nb.split("/").pop()!;
  test(`notebook ${name} executes at the smoke size`, async () => {
    const r = await runNotebook(nb, { outDir, env, timeoutS: 600 });
    assert.ok(r.ok, r.message + "\n" + (r.error ?? ""));
    const executed = JSON.parse(readFileSync(r.output, "utf8"));
    const images = (executed.cells as Cell[]).flatMap((c) => c.outputs ?? []).filter((o) => o.data && "image/png" in o.data);
    assert.ok(images.length >= 1, `${name}: the executed copy holds no PNG chart`);
  });
}

test("a cell that throws fails the run, naming the notebook, the cell and the error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "badnb-"));
  const nb = join(dir, "bad.ipynb");
  const cell = (id: string, src: string) => ({ cell_type: "code", id, metadata: {}, execution_count: null, outputs: [], source: [src] });
  writeFileSync(nb, JSON.stringify({
    cells: [cell("fine", "const a = 1 + 1;"), cell("boom", 'throw new Error("kaboom in the test");'), cell("after", "a")],
    metadata: { kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" } },
    nbformat: 4, nbformat_minor: 5,
  }));
  const r = await runNotebook(nb, { outDir: join(dir, "out"), env, timeoutS: 120 });
  assert.equal(r.ok, false);
  assert.equal(r.cellIndex, 1);
  assert.equal(r.cellId, "boom");
  assert.match(r.message, /^bad\.ipynb: cell 1 \(id boom\) failed: Error: kaboom in the test/);
  assert.ok(existsSync(join(dir, "out", "bad.failed.ipynb")), "the partial copy is kept for inspection");
  assert.ok(!existsSync(join(dir, "out", "bad.ipynb")), "no executed copy pretends to be complete");
});

test("the library the notebooks import (dist/) is rebuilt when src/ changed after the last build, and only then", () => {
  const root = mkdtempSync(join(tmpdir(), "dist-"));
  mkdirSync(join(root, "src"));
  writeFileSync(join(root, "src", "a.ts"), "export const a: number = 1;\n");
  writeFileSync(join(root, "tsconfig.build.json"), JSON.stringify({ compilerOptions: { outDir: "dist", rootDir: "src", module: "nodenext", target: "es2022" }, include: ["src"] }));
  const lines: string[] = [];
  ensureLibraryBuilt((l) => lines.push(l), root);
  assert.match(lines.join("\n"), /dist\/ is not built/);
  assert.match(readFileSync(join(root, "dist", "a.js"), "utf8"), /a = 1/);
  ensureLibraryBuilt((l) => lines.push(l), root);
  assert.equal(lines.length, 1, "up to date: no rebuild");
  writeFileSync(join(root, "src", "a.ts"), "export const a: number = 2;\n");
  const later = new Date(Date.now() + 5000);
  utimesSync(join(root, "src", "a.ts"), later, later);
  ensureLibraryBuilt((l) => lines.push(l), root);
  assert.match(lines[1]!, /src\/ changed since dist\/ was built/);
  assert.match(readFileSync(join(root, "dist", "a.js"), "utf8"), /a = 2/);
});
