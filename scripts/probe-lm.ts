/**
 * npm run probe:lm -- [--preset default] [--size tiny|small|base|all] [--lines N] [--root DIR]
 *
 * In-context copy probe (src/eval/copy-probe.ts) of the shipped LMs: mean NLL of a validation sentence
 * the first and the second time it is in the context, as written and word-shuffled. An LM that can
 * copy from its context (what reading a transcript off projected audio/video tokens needs) has a
 * second-copy NLL far below the first.
 */
import "../src/util/cli.js";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/index.js";
import { copyProbe } from "../src/eval/copy-probe.js";
import { COPY_PROBE_LINES, LM_SIZE_NAMES, lmPretrainConfig, loadPretrainedLm, readLmText, splitLmLines } from "../src/pretrain/lm/index.js";
import type { LlmSize } from "../src/models/llm.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "default" },
    size: { type: "string", default: "all" },
    lines: { type: "string", default: String(COPY_PROBE_LINES) },
    root: { type: "string" },
  },
});
const sizes: LlmSize[] = values.size === "all" ? LM_SIZE_NAMES : [values.size as LlmSize];
await initBackend();
const cfg = lmPretrainConfig(values.preset!, sizes[0]!);
const text = await readLmText(cfg.corpus, { maxLines: cfg.maxLines });
const lines = splitLmLines(text.lines, cfg.valFraction).val.slice(0, Number(values.lines));
console.log(`copy probe on ${lines.length} validation lines of ${text.source} (mean NLL, nats/token: first copy -> second copy)`);
for (const size of sizes) {
  const lm = loadPretrainedLm(values.preset!, size, values.root ? { root: values.root } : {});
  const a = copyProbe(lm.llm, lm.tokenizer, lines);
  const b = copyProbe(lm.llm, lm.tokenizer, lines, { shuffle: true, seed: 0 });
  console.log(
    `${size.padEnd(5)} as written ${a.firstNll.toFixed(3)} -> ${a.secondNll.toFixed(3)} (gain ${a.gain.toFixed(3)}) | ` +
      `word-shuffled ${b.firstNll.toFixed(3)} -> ${b.secondNll.toFixed(3)} (gain ${b.gain.toFixed(3)})  [${lm.dir}]`,
  );
  lm.llm.dispose();
}
