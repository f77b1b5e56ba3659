/**
 * The shipped encoder of checkpoints/encoders/<preset>/<modality>/: where it lives, the provenance
 * helpers, export, and loading it frozen.
 */
import { createHash } from "node:crypto";
import { execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { assignParams, loadSafetensorsFile, saveSafetensorsFile } from "../../train/checkpoint.js";
import { writeFileAtomicSync } from "../../util/atomic.js";
import { repoRoot } from "../../util/paths.js";
import { Rng } from "../../util/rng.js";
import type { EncoderModality, UnitInventory } from "../encoder-data.js";
import type { EncoderSpec } from "./config.js";
import { CtcEncoder } from "./model.js";

export function encoderOutDir(preset: string, modality: EncoderModality): string {
  return join(repoRoot(), "checkpoints", "encoders", preset, modality);
}

/** sha256 of the corpus's manifest and config: the data a checkpoint was trained on. */
export function corpusHash(dir: string): string {
  const h = createHash("sha256");
  for (const f of ["manifest.csv", "config.json"]) h.update(readFileSync(join(dir, f)));
  return h.digest("hex");
}

export function gitCommit(): string {
  try {
    return execSync("git rev-parse HEAD", { cwd: repoRoot(), stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}

export interface EncoderFileConfig {
  format: "omni-avsr-lab/encoder";
  version: 1;
  preset?: string;
  spec: EncoderSpec;
  inventory: UnitInventory;
  /** Size of the LM vocabulary of the sub-word heads (absent: none). */
  subwordVocab?: number;
}

/** Writes encoder.safetensors (encoder + CTC head), config.json, metrics.json, provenance.json; metrics.json last. */
export function exportEncoder(outDir: string, model: CtcEncoder, info: { metrics: unknown; provenance: unknown }): void {
  mkdirSync(outDir, { recursive: true });
  saveSafetensorsFile(join(outDir, "encoder.safetensors"), model.namedParameters(), { format: "omni-avsr-lab/encoder", modality: model.spec.modality });
  const cfg: EncoderFileConfig = { format: "omni-avsr-lab/encoder", version: 1, spec: model.spec, inventory: model.inventory, ...(model.subwordVocab > 0 ? { subwordVocab: model.subwordVocab } : {}) };
  writeFileAtomicSync(join(outDir, "config.json"), JSON.stringify(cfg, null, 1) + "\n");
  writeFileAtomicSync(join(outDir, "provenance.json"), JSON.stringify(info.provenance, null, 1) + "\n");
  writeFileAtomicSync(join(outDir, "metrics.json"), JSON.stringify(info.metrics, null, 1) + "\n");
}

export interface LoadedEncoder {
  model: CtcEncoder;
  spec: EncoderSpec;
  inventory: UnitInventory;
  /** First 16 hex digits of sha256(encoder.safetensors): the cache key of its features. */
  hash: string;
  dir: string;
  /** Output feature width. */
  dim: number;
}

/** Loads a frozen encoder from `dir` (default checkpoints/encoders/<preset>/<modality>). */
export function loadEncoder(preset: string, modality: EncoderModality, dir = encoderOutDir(preset, modality)): LoadedEncoder {
  const path = join(dir, "encoder.safetensors");
  if (!existsSync(path)) throw new Error(`no ${modality} encoder at ${dir}: run \`npm run pretrain:encoders -- --preset ${preset} --modality ${modality}\``);
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as EncoderFileConfig;
  const bytes = readFileSync(path);
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const model = new CtcEncoder(cfg.spec, cfg.inventory, new Rng(0), cfg.subwordVocab ?? 0);
  const { tensors } = loadSafetensorsFile(path);
  assignParams(model, tensors, path, { complete: true });
  model.freeze();
  const dim = modality === "audio" ? cfg.spec.audio!.dim : cfg.spec.video!.dim;
  return { model, spec: cfg.spec, inventory: cfg.inventory, hash, dir, dim };
}
