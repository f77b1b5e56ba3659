/**
 * One size, end to end (what `npm run pretrain:lm` runs): text, tokeniser, training, export, provenance.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LlmSize } from "../../models/llm.js";
import { copyProbe } from "../../eval/copy-probe.js";
import { writeFileAtomicSync } from "../../util/atomic.js";
import { repoRoot } from "../../util/paths.js";
import { backendChoice } from "../../backend/index.js";
import { lmModelConfig, lmPretrainConfig } from "./config.js";
import { readLmText, sha256, type LmText } from "./text.js";
import { prepareLmData, splitLmLines, type LmData } from "./data.js";
import { COPY_PROBE_LINES, type LmMetrics } from "./metrics.js";
import { pretrainLm } from "./train.js";
import { lmCheckpointDir, lmCheckpointRoot, lmWorkDir } from "./paths.js";
import { exportPretrainedLm, gitInfo, type LmProvenance } from "./shipped.js";

export interface RunLmOptions {
  seed?: number;
  steps?: number;
  /** checkpoints/lm (default) or another root. */
  root?: string;
  workDir?: string;
  fresh?: boolean;
  /** Retrain even when a finished checkpoint with the same config exists. */
  force?: boolean;
  /** Text and tokeniser already prepared (the CLI shares them across sizes). */
  text?: LmText;
  data?: LmData;
  command?: string;
  log?: (line: string) => void;
}

/** Reads the text, prepares data (one tokeniser per preset), trains, evaluates and exports one size. */
export async function runLmPretraining(preset: string, size: LlmSize, opts: RunLmOptions = {}): Promise<{ dir: string; metrics: LmMetrics; skipped: boolean }> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const cfg = lmPretrainConfig(preset, size, { seed: opts.seed, steps: opts.steps });
  const dir = lmCheckpointDir(preset, size, opts.root);
  const text = opts.text ?? (await readLmText(cfg.corpus, { maxLines: cfg.maxLines, generateIfMissing: cfg.corpus === "smoke" }));
  const data = opts.data ?? prepareLmData(text.lines, cfg);
  const presetDir = join(lmCheckpointRoot(opts.root), preset);
  writeFileAtomicSync(join(presetDir, "tokenizer.json"), JSON.stringify(data.tokenizer.toJSON()) + "\n");
  const modelCfg = lmModelConfig(cfg, data.tokenizer.size);
  if (!opts.force && existsSync(join(dir, "metrics.json")) && existsSync(join(dir, "config.json"))) {
    const old = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as unknown;
    const prov = existsSync(join(dir, "provenance.json")) ? (JSON.parse(readFileSync(join(dir, "provenance.json"), "utf8")) as LmProvenance) : undefined;
    if (JSON.stringify(old) === JSON.stringify({ pretrain: cfg, model: modelCfg }) && prov?.lmTextSha256 === text.sha256) {
      log(`[lm ${preset}/${size}] ${dir} is up to date (same config and text); --force retrains`);
      return { dir, metrics: JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as LmMetrics, skipped: true };
    }
  }
  const git = gitInfo();
  const started = new Date().toISOString();
  // one work folder per config, so a changed config (e.g. --steps) starts afresh and the old run stays resumable
  const workDir = opts.workDir ?? join(lmWorkDir(preset, size), sha256(JSON.stringify(cfg)).slice(0, 12));
  const res = pretrainLm(cfg, data, { workDir, fresh: opts.fresh, log });
  const metrics = res.metrics!;
  const probeLines = splitLmLines(text.lines, cfg.valFraction).val.slice(0, COPY_PROBE_LINES);
  metrics.copyProbe = {
    natural: copyProbe(res.llm, data.tokenizer, probeLines),
    shuffled: copyProbe(res.llm, data.tokenizer, probeLines, { shuffle: true, seed: cfg.seed }),
  };
  log(
    `[lm ${preset}/${size}] copy probe (${probeLines.length} val lines): second/first copy NLL ` +
      `${metrics.copyProbe.natural.secondNll.toFixed(3)}/${metrics.copyProbe.natural.firstNll.toFixed(3)} as written, ` +
      `${metrics.copyProbe.shuffled.secondNll.toFixed(3)}/${metrics.copyProbe.shuffled.firstNll.toFixed(3)} word-shuffled`,
  );
  const provenance: LmProvenance = {
    command: opts.command ?? process.argv.slice(1).join(" "),
    gitCommit: git.commit,
    gitDirty: git.dirty,
    seed: cfg.seed,
    lmTextSha256: text.sha256,
    lmTextSource: text.source.startsWith(repoRoot()) ? text.source.slice(repoRoot().length + 1) : text.source,
    lmTextLines: text.lines.length,
    heldOutTranscriptsChecked: text.heldOutChecked,
    date: started,
    backend: backendChoice()?.name ?? "unknown",
    node: process.version,
  };
  exportPretrainedLm(dir, res.llm, data.tokenizer, cfg, metrics, provenance, join(workDir, "metrics.csv"));
  writeFileAtomicSync(
    join(presetDir, "data.json"),
    JSON.stringify(
      {
        corpus: cfg.corpus,
        lmTextSha256: text.sha256,
        lmTextLines: text.lines.length,
        maxLines: cfg.maxLines,
        valFraction: cfg.valFraction,
        trainLines: data.trainLines,
        valLines: data.valLines,
        trainTokens: data.train.length,
        valTokens: data.val.length,
        tokenizer: { ...cfg.tokenizer, size: data.tokenizer.size, sha256: sha256(JSON.stringify(data.tokenizer.toJSON()) + "\n") },
      },
      null,
      1,
    ) + "\n",
  );
  res.llm.dispose();
  return { dir, metrics, skipped: false };
}
