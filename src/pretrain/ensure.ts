/**
 * The pretrained models a preset's AVSR training needs, trained where they are missing: the LMs of the
 * given sizes (checkpoints/lm/<preset>/<size>/; shipped for the default preset) and the audio and video
 * encoders (checkpoints/encoders/<preset>/{audio,video}/; shipped too). The LMs come first: the encoders'
 * sub-word objective uses the LM tokeniser. `npm run reproduce` (stages 2-3) and the test set-up call it;
 * what exists is never retrained.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { LlmSize } from "../models/llm.js";
import { encoderOutDir, pretrainEncoder } from "./encoders/index.js";
import { lmCheckpointDir, runLmPretraining, writeLmSummary } from "./lm/index.js";

export interface EnsurePretrainedOptions {
  lmSizes: readonly LlmSize[];
  log?: (line: string) => void;
  /** Called before each part: "lm" before the LMs, "encoders" before the encoders (progress stages). */
  onPart?: (part: "lm" | "encoders") => void;
  /** How the caller was invoked, recorded in the provenance of what gets trained. */
  command?: string;
}

/** True when the shipped LM of a preset and size is complete. */
export function lmShipped(preset: string, size: LlmSize): boolean {
  const dir = lmCheckpointDir(preset, size);
  return existsSync(join(dir, "metrics.json")) && existsSync(join(dir, "model.safetensors"));
}

/** True when the exported encoder of a preset and modality is complete. */
export function encoderShipped(preset: string, modality: "audio" | "video"): boolean {
  return existsSync(join(encoderOutDir(preset, modality), "metrics.json"));
}

export async function ensurePretrained(preset: string, o: EnsurePretrainedOptions): Promise<{ trained: string[] }> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const command = o.command ?? "ensurePretrained";
  const trained: string[] = [];
  o.onPart?.("lm");
  for (const lm of o.lmSizes) {
    if (lmShipped(preset, lm)) {
      log(`[pretrained] LM ${lm}: shipped checkpoint ${lmCheckpointDir(preset, lm)}`);
      continue;
    }
    log(`[pretrained] LM ${lm}: not shipped, pretraining (npm run pretrain:lm -- --preset ${preset} --size ${lm})`);
    await runLmPretraining(preset, lm, { log, command: `${command} (runLmPretraining ${preset} ${lm})` });
    trained.push(`lm/${lm}`);
  }
  if (trained.length > 0) writeLmSummary(preset);
  o.onPart?.("encoders");
  for (const modality of ["audio", "video"] as const) {
    if (encoderShipped(preset, modality)) {
      log(`[pretrained] ${modality} encoder: shipped checkpoint ${encoderOutDir(preset, modality)}`);
      continue;
    }
    log(`[pretrained] ${modality} encoder: not shipped, pretraining (npm run pretrain:encoders -- --preset ${preset} --modality ${modality})`);
    await pretrainEncoder({ preset, modality, log, command: `${command} (pretrainEncoder ${preset} ${modality})` });
    trained.push(`encoders/${modality}`);
  }
  return { trained };
}
