/**
 * The shipped checkpoint of one LM: its files, provenance, loading, and the preset's summary.csv.
 *
 * Only the final weights go to checkpoints/lm/<preset>/<size>/:
 *   model.safetensors  every parameter, float32, Hugging Face Llama names (Linear weights [in, out])
 *   config.json        { pretrain: LmPretrainConfig, model: LlmConfig }
 *   tokenizer.json     the preset's tokeniser (same bytes as checkpoints/lm/<preset>/tokenizer.json)
 *   metrics.json       validation loss/perplexity, parameters, train tokens, steps, wall time, tokens/s
 *   metrics.csv        the training curve (step, lr, loss, grad norm, tokens/s, periodic val loss)
 *   provenance.json    command, git commit, seed, sha256 of the LM text, date, backend
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Llm, type LlmConfig, type LlmSize } from "../../models/llm.js";
import { BpeTokenizer, type BpeTokenizerJSON } from "../../text/tokenizer.js";
import { assignParams, loadSafetensorsFile, saveSafetensorsFile } from "../../train/checkpoint.js";
import { writeFileAtomicSync } from "../../util/atomic.js";
import { type Row, writeCsvSync } from "../../report/csv.js";
import { repoRoot } from "../../util/paths.js";
import { LM_SIZE_NAMES, type LmPretrainConfig } from "./config.js";
import type { LmMetrics } from "./metrics.js";
import { lmCheckpointDir, lmCheckpointRoot } from "./paths.js";

export interface LmProvenance {
  command: string;
  gitCommit: string;
  /** Tracked files modified when the run started. */
  gitDirty: boolean;
  seed: number;
  lmTextSha256: string;
  lmTextSource: string;
  lmTextLines: number;
  heldOutTranscriptsChecked: number;
  date: string;
  backend: string;
  node: string;
}

export function gitInfo(): { commit: string; dirty: boolean } {
  try {
    const cwd = repoRoot();
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: "unknown", dirty: false };
  }
}

/** Writes the shipped files of one LM into `dir` (see the header). */
export function exportPretrainedLm(dir: string, llm: Llm, tokenizer: BpeTokenizer, cfg: LmPretrainConfig, metrics: LmMetrics, provenance: LmProvenance, metricsCsv?: string): void {
  mkdirSync(dir, { recursive: true });
  saveSafetensorsFile(join(dir, "model.safetensors"), llm.namedParameters(), { format: "omni-avsr-lab", kind: "llm", preset: cfg.preset, size: cfg.size });
  writeFileAtomicSync(join(dir, "config.json"), JSON.stringify({ pretrain: cfg, model: llm.config }, null, 1) + "\n");
  writeFileAtomicSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer.toJSON()) + "\n");
  writeFileAtomicSync(join(dir, "metrics.json"), JSON.stringify(metrics, null, 1) + "\n");
  writeFileAtomicSync(join(dir, "provenance.json"), JSON.stringify(provenance, null, 1) + "\n");
  if (metricsCsv && existsSync(metricsCsv)) copyFileSync(metricsCsv, join(dir, "metrics.csv"));
}

export interface PretrainedLm {
  llm: Llm;
  tokenizer: BpeTokenizer;
  config: { pretrain: LmPretrainConfig; model: LlmConfig };
  metrics: LmMetrics;
  provenance?: LmProvenance;
  dir: string;
}

/**
 * The shipped LM of checkpoints/lm/<preset>/<size>/ (or `root`/<preset>/<size>/), frozen
 * (every parameter trainable = false), with its tokeniser, config and metrics. Weights are float32.
 */
export function loadPretrainedLm(preset: string, size: LlmSize, opts: { root?: string } = {}): PretrainedLm {
  const dir = lmCheckpointDir(preset, size, opts.root);
  for (const f of ["model.safetensors", "config.json", "tokenizer.json", "metrics.json"]) {
    if (!existsSync(join(dir, f))) {
      throw new Error(`no pretrained LM at ${dir} (${f} missing): run \`npm run pretrain:lm -- --preset ${preset} --size ${size}\``);
    }
  }
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as PretrainedLm["config"];
  const tokenizer = BpeTokenizer.fromJSON(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")) as BpeTokenizerJSON);
  if (tokenizer.size !== config.model.vocabSize) throw new Error(`${dir}: tokenizer has ${tokenizer.size} tokens, model ${config.model.vocabSize}`);
  const metrics = JSON.parse(readFileSync(join(dir, "metrics.json"), "utf8")) as LmMetrics;
  const provPath = join(dir, "provenance.json");
  const provenance = existsSync(provPath) ? (JSON.parse(readFileSync(provPath, "utf8")) as LmProvenance) : undefined;
  const llm = new Llm(config.model);
  const { tensors } = loadSafetensorsFile(join(dir, "model.safetensors"));
  assignParams(llm, tensors, join(dir, "model.safetensors"), { complete: true });
  llm.freeze();
  return { llm, tokenizer, config, metrics, provenance, dir };
}

/**
 * checkpoints/lm/<preset>/summary.csv: one row per shipped size (from each metrics.json): parameters,
 * train tokens, steps, wall time, tokens/s, validation loss and perplexities. Returns the rows.
 */
export function writeLmSummary(preset: string, root?: string): Row[] {
  const rows: Row[] = [];
  for (const size of LM_SIZE_NAMES) {
    const p = join(lmCheckpointDir(preset, size, root), "metrics.json");
    if (!existsSync(p)) continue;
    const m = JSON.parse(readFileSync(p, "utf8")) as LmMetrics;
    rows.push({
      size,
      params: m.params,
      params_non_embedding: m.paramsNonEmbedding,
      vocab: m.vocabSize,
      steps: m.steps,
      train_tokens: m.trainTokens,
      epochs: m.epochs,
      wall_time_s: m.wallTimeS,
      tokens_per_s: m.tokensPerS,
      val_tokens: m.val.tokens,
      val_loss: Number(m.val.loss.toFixed(4)),
      val_ppl_token: Number(m.val.perplexity.toFixed(3)),
      val_ppl_word: m.val.wordPerplexity !== undefined ? Number(m.val.wordPerplexity.toFixed(3)) : null,
      initial_val_loss: Number(m.valInitial.loss.toFixed(4)),
      final_train_loss: Number(m.finalTrainLoss.toFixed(4)),
    });
  }
  if (rows.length > 0) writeCsvSync(join(lmCheckpointRoot(root), preset, "summary.csv"), rows);
  return rows;
}
