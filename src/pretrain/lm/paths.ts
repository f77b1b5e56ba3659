/**
 * Where LMs live: the shipped checkpoints (checkpoints/lm/<preset>/<size>/) and the work folders of
 * resumable runs.
 */
import { join } from "node:path";
import type { LlmSize } from "../../models/llm.js";
import { repoRoot, resultsDir } from "../../util/paths.js";

/** checkpoints/lm under the repository root (or `root`). */
export function lmCheckpointRoot(root?: string): string {
  return root ?? join(repoRoot(), "checkpoints", "lm");
}

export function lmCheckpointDir(preset: string, size: LlmSize, root?: string): string {
  return join(lmCheckpointRoot(root), preset, size);
}

/** Default parent of a size's resumable runs, one sub-folder per config hash (git-ignored: matches `results/**\/tmp/`). */
export function lmWorkDir(preset: string, size: LlmSize): string {
  return resultsDir("pretrain", "lm", "tmp", preset, size);
}
