/**
 * npm run corpus -- --preset <smoke|default> [--seed N] [--out DIR] [--workers N]
 * Generates (or resumes) the synthetic LRS-like corpus; see src/data/generate.ts for the layout.
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";
import { presetConfig } from "../src/data/config.js";
import { folderBytes, generateCorpus } from "../src/data/generate.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "smoke" },
    seed: { type: "string" },
    out: { type: "string" },
    workers: { type: "string" },
  },
});
const config = presetConfig(values.preset!, values.seed !== undefined ? { seed: Number(values.seed) } : {});
if (!Number.isInteger(config.seed)) throw new InputError(`--seed must be an integer, got ${values.seed}`);
const res = await generateCorpus(config, {
  outDir: values.out,
  workers: values.workers ? Number(values.workers) : undefined,
});
const mb = folderBytes(res.dir) / 2 ** 20;
console.log(
  `done: ${res.dir}: made ${res.generated}, skipped ${res.skipped} in ${res.seconds.toFixed(1)} s` +
    (res.generated > 0 ? ` (${res.utterancesPerMinute.toFixed(0)} utt/min)` : "") +
    `, ${mb.toFixed(1)} MiB on disk`,
);
