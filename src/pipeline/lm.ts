/**
 * The frozen LM of a run: the project's pretrained LM (`loadPretrainedLm`, checkpoints/lm/<preset>/<size>/)
 * when it exists, else (lmSource "auto" or "random") a randomly initialised Llama of that size with the
 * preset's tokeniser (checkpoints/lm/<preset>/tokenizer.json if present, else one trained here on the
 * corpus's LM text with the LM presets' vocabulary size). The random fallback exists for tests and for
 * working before the LMs are trained; the run's config records which one was used (`lm.source`).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCorpus } from "../data/index.js";
import { llmConfig, type Llm, type LlmConfig, type LlmSize } from "../models/llm.js";
import { BpeTokenizer, type BpeTokenizerJSON } from "../text/tokenizer.js";
import { LM_PRESETS, loadPretrainedLm, lmCheckpointDir, trainLmTokenizer, type LmPreset } from "../pretrain/lm/index.js";
import { repoRoot } from "../util/paths.js";
import type { LmSource } from "./config.js";

export interface ResolvedLm {
  /** The pretrained LM, or undefined: AvsrModel then builds a random one from `config`. */
  llm?: Llm;
  tokenizer: BpeTokenizer;
  config: LlmConfig;
  source: "pretrained" | "random";
  /** Where the weights / tokeniser came from. */
  from: string;
}

const trainedTokenizers = new Map<string, BpeTokenizer>();

/** The preset's shared tokeniser, or one trained (once per process) on the corpus's LM text. */
async function presetTokenizer(preset: string): Promise<{ tokenizer: BpeTokenizer; from: string }> {
  const path = join(repoRoot(), "checkpoints", "lm", preset, "tokenizer.json");
  if (existsSync(path)) return { tokenizer: BpeTokenizer.fromJSON(JSON.parse(readFileSync(path, "utf8")) as BpeTokenizerJSON), from: path };
  let tok = trainedTokenizers.get(preset);
  if (!tok) {
    const spec = LM_PRESETS[preset as LmPreset] ?? LM_PRESETS.smoke;
    const lines = (await openCorpus(preset)).lmText();
    tok = trainLmTokenizer(spec.maxLines > 0 ? lines.slice(0, spec.maxLines) : lines, spec.tokenizer);
    trainedTokenizers.set(preset, tok);
  }
  return { tokenizer: tok, from: `BPE trained on data/${preset}/lm_text.txt` };
}

/** Resolves the LM of a run (see the file comment). */
export async function resolveLm(preset: string, size: LlmSize, source: LmSource, log: (l: string) => void = () => {}): Promise<ResolvedLm> {
  if (source !== "random") {
    const dir = lmCheckpointDir(preset, size);
    if (existsSync(join(dir, "model.safetensors"))) {
      const p = loadPretrainedLm(preset, size);
      return { llm: p.llm, tokenizer: p.tokenizer, config: p.config.model, source: "pretrained", from: p.dir };
    }
    if (source === "pretrained") loadPretrainedLm(preset, size); // throws with the how-to message
    log(`[lm] no pretrained ${size} LM for preset ${preset} (${dir}): using a randomly initialised one`);
  }
  const { tokenizer, from } = await presetTokenizer(preset);
  return { tokenizer, config: llmConfig(size, tokenizer.size), source: "random", from };
}
