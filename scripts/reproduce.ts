/**
 * `npm run reproduce` (after scripts/setup.sh): the main job.
 *
 * Until the paper's reproduction (`npm run reproduce:paper`) gives meaningful numbers at the default size,
 * this is the demonstration of the loop every experiment uses: train a tiny model on the best backend,
 * write its table (CSV) and its loss curve (PNG + HTML) under results/demo/, then execute the notebooks
 * that do not need the experiment grid (00 environment, 01 corpus) into results/notebooks/.
 * OMNI_SMOKE=1 runs it at smoke size.
 */
import { initBackend, describeBackend } from "../src/backend/index.js";
import { trainTiny } from "../src/demo/tiny.js";
import { lineChart, saveFigure, closePlotBrowser } from "../src/plot/index.js";
import { writeCsv, tableToMarkdown } from "../src/report/index.js";
import { resultsDir } from "../src/util/paths.js";
import { isSmoke } from "../src/util/smoke.js";
import { formatDuration } from "../src/util/progress.js";
import { listNotebooks, runNotebooks } from "./notebooks/runner.js";

const started = Date.now();
const stage = (n: number, total: number, what: string) =>
  console.error(`\n[reproduce] stage ${n}/${total}: ${what} (elapsed ${formatDuration((Date.now() - started) / 1000)})`);

stage(1, 2, "tiny model demonstration");
const choice = await initBackend();
console.error(`[reproduce] ${describeBackend(choice)}`);
const steps = isSmoke() ? 60 : 400;
const run = await trainTiny({ steps, seed: 0 });
const out = resultsDir("demo");
const rows = run.losses.filter((r) => r.step === 1 || r.step % Math.max(1, Math.floor(steps / 8)) === 0);
await writeCsv(`${out}/loss.csv`, rows);
const saved = await saveFigure(
  lineChart([{ name: "training loss", x: run.losses.map((r) => r.step), y: run.losses.map((r) => r.loss), mode: "lines" }], {
    title: `Tiny MLP on ${choice.name}`, xTitle: "step", yTitle: "MSE", logY: true,
  }),
  `${out}/loss_curve`,
);
await closePlotBrowser();
console.log(tableToMarkdown(rows, { digits: 4 }));
console.error(`[reproduce] wrote ${out}/loss.csv, ${saved.png ?? "(no PNG: " + saved.pngError + ")"}, ${saved.html}`);

stage(2, 2, "executing the notebooks");
// Notebooks 02-08 run or read the experiment grid of `npm run reproduce:paper`.
const demoNotebooks = listNotebooks().filter((n) => /\/0[01]_[^/]*\.ipynb$/.test(n));
const results = await runNotebooks(demoNotebooks, { outDir: resultsDir("notebooks"), timeoutS: -1 });
const failed = results.filter((r) => !r.ok);
console.error(`\n[reproduce] done in ${formatDuration((Date.now() - started) / 1000)}: ${results.length - failed.length}/${results.length} notebooks ok`);
if (failed.length > 0) {
  for (const f of failed) console.error(`FAILED ${f.message}`);
  process.exit(1);
}
