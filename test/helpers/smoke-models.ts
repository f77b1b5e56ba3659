/**
 * The smoke corpus and the smoke preset's pretrained LMs and encoders, made where missing, so a test file
 * that needs them passes on its own and in any order (`node --test` may run files in parallel).
 * scripts/test.sh runs this once before the suite (`node --import tsx test/helpers/smoke-models.ts`), so
 * files running side by side find them made.
 */
import { openCorpus } from "../../src/data/index.js";
import { initBackend } from "../../src/backend/index.js";
import { reproSize } from "../../src/experiments/plan.js";
import { ensurePretrained } from "../../src/pretrain/ensure.js";

export async function ensureSmokeModels(log: (l: string) => void = () => {}): Promise<void> {
  await initBackend();
  await openCorpus("smoke", { generateIfMissing: true });
  await ensurePretrained("smoke", { lmSizes: reproSize("smoke").lmSizes, log, command: "test set-up (test/helpers/smoke-models.ts)" });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = Date.now();
  await ensureSmokeModels((l) => process.stderr.write(l + "\n"));
  process.stderr.write(`[test set-up] smoke corpus and pretrained models ready (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
}
