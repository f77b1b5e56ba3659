/**
 * One job of the experiment pool, in its own process: imports the job's module, calls its function with
 * (params, runDir), and writes the returned JSON to <runDir>/done.json (atomically, last: a job without
 * done.json is not done and runs again).
 *
 * usage: run-job.ts <module path from the repo root> <export name> <params JSON> <runDir>
 */
import { describeFailure } from "../src/util/cli.js";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { writeFileAtomicSync } from "../src/util/atomic.js";
import { repoRoot } from "../src/util/paths.js";

const [modulePath, fnName, paramsJson, runDir] = process.argv.slice(2);
if (!modulePath || !fnName || !paramsJson || !runDir) {
  console.error("usage: run-job.ts <module> <export> <params JSON> <runDir>");
  process.exit(2);
}
const mod = (await import(pathToFileURL(resolve(repoRoot(), modulePath)).href)) as Record<string, unknown>;
const fn = mod[fnName];
if (typeof fn !== "function") {
  console.error(`run-job: ${modulePath} has no exported function ${fnName}`);
  process.exit(2);
}
let result: unknown;
try {
  result = await (fn as (p: unknown, dir: string) => Promise<unknown>)(JSON.parse(paramsJson), runDir);
} catch (err) {
  // The stack for the log (the message alone for an input error), then one line the pool quotes as the reason.
  console.error(describeFailure(err, process.env.OMNI_DEBUG === "1"));
  console.error(`job failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
writeFileAtomicSync(join(runDir, "done.json"), JSON.stringify(result ?? {}, null, 2) + "\n");
// Handles a job may leave open (a browser for plots, timers) must not keep a finished job alive.
process.exit(0);
