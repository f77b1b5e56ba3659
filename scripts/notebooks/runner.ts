/** Executes notebooks headless with the repo-local tslab kernel; used by run-notebooks.ts and tests. */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { repoRoot } from "../../src/util/paths.js";

export interface NotebookResult {
  notebook: string;
  ok: boolean;
  output: string;
  seconds: number;
  cellIndex?: number;
  cellId?: string;
  error?: string;
  /** One line naming the notebook, the cell and the error. */
  message: string;
}

export interface RunOptions {
  outDir: string;
  /** Per-cell timeout in seconds; -1 for none. */
  timeoutS?: number;
  kernel?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each line the executor prints (progress of long cells goes to the kernel, not here). */
  log?: (line: string) => void;
}

export function listNotebooks(dir = join(repoRoot(), "notebooks")): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ipynb"))
    .sort()
    .map((f) => join(dir, f));
}

/** The environment that finds the repo-local tslab kernel. */
export function jupyterEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kernels = join(repoRoot(), ".jupyter", "share", "jupyter");
  return { ...env, JUPYTER_PATH: [kernels, env.JUPYTER_PATH].filter(Boolean).join(":") };
}

export function ensureKernel(): void {
  const spec = join(repoRoot(), ".jupyter", "share", "jupyter", "kernels", "tslab", "kernel.json");
  if (!existsSync(spec)) throw new Error(`tslab kernel not registered (${spec} missing): run \`npm run setup\` first`);
}

/** Newest modification time (ms) of a file or of any file below a folder. */
function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, f) => Math.max(m, newestMtime(join(path, f))), 0);
}

/**
 * The notebooks import the library from dist/ (scripts/setup.sh builds it). Rebuilds it, as the set-up
 * does, when src/ or the tsconfigs changed after the last build (dist/.build-stamp): otherwise the
 * notebooks would run yesterday's code and write its results.
 */
export function ensureLibraryBuilt(log: (line: string) => void = (l) => console.error(l), root = repoRoot()): void {
  const stamp = join(root, "dist", ".build-stamp");
  const sources = ["src", "tsconfig.json", "tsconfig.build.json"].map((f) => join(root, f)).filter((f) => existsSync(f));
  if (existsSync(stamp) && Math.max(...sources.map(newestMtime)) <= statSync(stamp).mtimeMs) return;
  log(`[notebooks] ${existsSync(stamp) ? "src/ changed since dist/ was built" : "dist/ is not built"}: building src/ -> dist/`);
  rmSync(join(root, "dist"), { recursive: true, force: true });
  // the compiler the set-up and `npm run build` use (node_modules/.bin/tsc: tslab's TypeScript)
  const tsc = join(repoRoot(), "node_modules", ".bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  writeFileSync(stamp, "");
}

export async function runNotebook(notebook: string, o: RunOptions): Promise<NotebookResult> {
  ensureKernel();
  ensureLibraryBuilt();
  mkdirSync(o.outDir, { recursive: true });
  const name = basename(notebook);
  const final = join(o.outDir, name);
  const tmp = join(o.outDir, `.${name}.${process.pid}.tmp`);
  const failedCopy = join(o.outDir, name.replace(/\.ipynb$/, ".failed.ipynb"));
  const started = Date.now();
  const script = join(repoRoot(), "scripts", "execute_notebook.py");
  const child = spawn("/usr/bin/python3", [script, notebook, tmp, o.kernel ?? "tslab", String(o.timeoutS ?? -1)], {
    env: jupyterEnv(o.env ?? process.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
    for (const line of d.toString().split("\n")) if (line.trim()) o.log?.(line);
  });
  const code: number = await new Promise((res) => child.on("close", (c) => res(c ?? 1)));
  const seconds = (Date.now() - started) / 1000;
  let report: { ok?: boolean; cell_index?: number; cell_id?: string; error?: string } = {};
  try {
    report = JSON.parse(stdout.trim().split("\n").pop() ?? "{}");
  } catch {
    report = { ok: false, error: `executor printed no result (exit ${code}): ${stderr.trim().split("\n").slice(-5).join(" | ")}` };
  }
  const ok = code === 0 && report.ok === true;
  if (existsSync(tmp)) {
    if (ok) {
      rmSync(failedCopy, { force: true });
      renameSync(tmp, final);
    } else renameSync(tmp, failedCopy);
  }
  const where = report.cell_index !== undefined ? `cell ${report.cell_index}${report.cell_id ? ` (id ${report.cell_id})` : ""}` : "before any cell";
  const firstErrorLine = (report.error ?? "").split("\n").find((l) => /\w+Error|Error:|error/.test(l)) ?? (report.error ?? "").split("\n")[0];
  const message = ok
    ? `${name}: ok in ${seconds.toFixed(1)} s -> ${final}`
    : `${name}: ${where} failed: ${firstErrorLine ?? "unknown error"}` + (existsSync(failedCopy) ? ` (partial copy: ${failedCopy})` : "");
  return {
    notebook,
    ok,
    output: ok ? final : failedCopy,
    seconds,
    cellIndex: report.cell_index,
    cellId: report.cell_id,
    error: report.error,
    message,
  };
}

export async function runNotebooks(notebooks: readonly string[], o: RunOptions): Promise<NotebookResult[]> {
  const results: NotebookResult[] = [];
  for (const nb of notebooks) {
    console.error(`[notebooks] executing ${basename(nb)} ...`);
    const r = await runNotebook(nb, o);
    console.error(`[notebooks] ${r.message}`);
    results.push(r);
  }
  return results;
}
