/**
 * `npm run notebooks [-- [--out DIR] [--timeout S] [name ...]]`: executes the notebooks headless
 * (nbconvert's ExecutePreprocessor with the tslab kernel) into executed copies, by default
 * results/notebooks/ (results/smoke/notebooks/ when OMNI_SMOKE=1). Exits non-zero naming the
 * notebook and cell when a cell throws; the partial copy is kept as <name>.failed.ipynb.
 */
import "../src/util/cli.js";
import { parseArgs } from "node:util";
import { runNotebooks, listNotebooks } from "./notebooks/runner.js";
import { resultsDir } from "../src/util/paths.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: "string" },
    timeout: { type: "string", default: "-1" },
  },
});

const all = listNotebooks();
const chosen = positionals.length === 0 ? all : all.filter((nb) => positionals.some((p) => nb.includes(p)));
if (chosen.length === 0) {
  console.error(`no notebook matches ${positionals.join(", ")}; have: ${all.join(", ")}`);
  process.exit(2);
}
const outDir = values.out ?? resultsDir("notebooks");
const results = await runNotebooks(chosen, { outDir, timeoutS: Number(values.timeout) });
const failed = results.filter((r) => !r.ok);
for (const f of failed) console.error(`\nFAILED ${f.message}`);
console.error(`\n${results.length - failed.length}/${results.length} notebooks executed into ${outDir}`);
process.exit(failed.length > 0 ? 1 : 0);
