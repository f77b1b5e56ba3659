/**
 * Where things live, anchored at the repository root so that scripts (run from the root) and notebooks
 * (run from notebooks/) agree.
 *
 * Results of a smoke run (OMNI_SMOKE=1, as in `npm test`) go to results/smoke/ (git-ignored), so a test
 * never overwrites the committed results of the full reproduction. OMNI_RESULTS_DIR overrides both.
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isSmoke } from "./smoke.js";

let root: string | undefined;

/** The repository root: the nearest folder above this file holding package.json (src/ and dist/ alike). */
export function repoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "src"))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`repoRoot: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * `p` relative to the repository root when it lies inside it, else its absolute path: how result files
 * (eval JSONs, summary.json) record paths, so that they read the same in every clone.
 */
export function repoRelative(p: string): string {
  const r = relative(repoRoot(), resolve(p));
  return r === "" || r === ".." || r.startsWith(`..${sep}`) || isAbsolute(r) ? resolve(p) : r;
}

export function resultsDir(...parts: string[]): string {
  const base = process.env.OMNI_RESULTS_DIR
    ? resolve(process.env.OMNI_RESULTS_DIR)
    : join(repoRoot(), "results", ...(isSmoke() ? ["smoke"] : []));
  return join(base, ...parts);
}

export function dataDir(...parts: string[]): string {
  return join(process.env.OMNI_DATA_DIR ? resolve(process.env.OMNI_DATA_DIR) : join(repoRoot(), "data"), ...parts);
}
