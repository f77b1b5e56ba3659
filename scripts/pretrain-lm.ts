/**
 * npm run pretrain:lm -- --preset <smoke|default> --size <tiny|small|base|all> [--seed N] [--steps N]
 *                        [--fresh] [--force] [--out DIR]
 *
 * Trains the preset's tokeniser (one for all sizes) and the LM(s) on the corpus's LM text, resuming an
 * interrupted run from its last checkpoint (results/pretrain/lm/tmp/<preset>/<size>/<config hash>/), and writes the
 * frozen weights, config, tokeniser, metrics and provenance to checkpoints/lm/<preset>/<size>/
 * (see src/pretrain/lm/). A size whose shipped checkpoint already has the same config and text is
 * skipped unless --force. --fresh discards the intermediate checkpoints first.
 * Threads: $OMNI_THREADS (the native backend's default, 1, was the fastest measured here).
 */
import "../src/util/cli.js";
import { parseArgs } from "node:util";
import { initBackend, describeBackend } from "../src/backend/index.js";
import { LM_SIZE_NAMES, lmPretrainConfig, prepareLmData, readLmText, runLmPretraining, writeLmSummary } from "../src/pretrain/lm/index.js";
import type { LlmSize } from "../src/models/llm.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "smoke" },
    size: { type: "string", default: "all" },
    seed: { type: "string" },
    steps: { type: "string" },
    fresh: { type: "boolean", default: false },
    force: { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const sizes: LlmSize[] = values.size === "all" ? LM_SIZE_NAMES : [values.size as LlmSize];
const seed = values.seed !== undefined ? Number(values.seed) : undefined;
const steps = values.steps !== undefined ? Number(values.steps) : undefined;
// validates preset, size, seed and steps before any work
const cfgs = sizes.map((s) => lmPretrainConfig(values.preset!, s, { seed, steps }));

const choice = await initBackend();
process.stderr.write(describeBackend(choice) + "\n");
const first = cfgs[0]!;
const text = await readLmText(first.corpus, { maxLines: first.maxLines, generateIfMissing: first.corpus === "smoke" });
const t0 = Date.now();
const data = prepareLmData(text.lines, first);
process.stderr.write(
  `LM text ${text.source}: ${text.lines.length} lines (sha256 ${text.sha256.slice(0, 12)}…, ${text.heldOutChecked} val/test transcripts checked absent); ` +
    `${data.trainLines} train / ${data.valLines} val lines; tokenizer ${data.tokenizer.size} tokens; ` +
    `${data.train.length} train / ${data.val.length} val tokens (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
);
const command = ["npm run pretrain:lm --", ...process.argv.slice(2)].join(" ");
const rows: string[] = [];
for (const size of sizes) {
  const r = await runLmPretraining(values.preset!, size, { seed, steps, root: values.out, fresh: values.fresh, force: values.force, text, data, command });
  const m = r.metrics;
  rows.push(
    `${size.padEnd(5)} ${String(m.params).padStart(9)} params | ${m.trainTokens} train tokens, ${m.steps} steps | ` +
      `${m.wallTimeS.toFixed(0)} s, ${m.tokensPerS.toFixed(0)} tok/s | val loss ${m.val.loss.toFixed(4)}, ppl ${m.val.perplexity.toFixed(2)}/token, ` +
      `${m.val.wordPerplexity?.toFixed(2)}/word${r.skipped ? " (up to date, not retrained)" : ""} -> ${r.dir}`,
  );
}
writeLmSummary(values.preset!, values.out);
console.log(rows.join("\n"));
