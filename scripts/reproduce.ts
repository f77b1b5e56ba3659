/**
 * `npm run reproduce` (after scripts/setup.sh): the paper's reproduction. Runs the pipeline of
 * src/experiments/reproduce.ts (corpus, pretrained encoders and LMs, feature cache, the experiment grid
 * in a resumable two-process pool, tables and figures under results/, the README's results section),
 * then executes every notebook into results/notebooks/. Re-running after an interruption resumes.
 *
 *   npm run reproduce                      the default size (results/)
 *   npm run reproduce -- --smoke           the smoke size (results/smoke/); same as OMNI_SMOKE=1
 *   npm run reproduce -- --no-notebooks    skip the notebook stage
 *   npm run reproduce -- --notebooks 04    only the notebooks whose name matches
 *   npm run reproduce -- --status          where a (running or interrupted) reproduction stands; runs nothing
 *   npm run reproduce -- --report          only aggregate the runs done so far (tables, figures, README)
 *   npm run reproduce -- --until 14:20     start only the grid runs estimated to finish by then (UTC
 *                                          HH:MM, the next such time, or an ISO date-time); the rest,
 *                                          and the notebooks, wait for the next run
 *   npm run reproduce -- --until 14:20 --park   start the rest too, and stop ("park") what still runs at
 *                                          14:20: it resumes from its last checkpoint (the log names
 *                                          the files to `git add -f` to carry it to another clone)
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    "no-notebooks": { type: "boolean", default: false },
    notebooks: { type: "string" },
    status: { type: "boolean", default: false },
    report: { type: "boolean", default: false },
    until: { type: "string" },
    park: { type: "boolean", default: false },
  },
});

/** "HH:MM" (UTC, the next such time) or an ISO date-time, as epoch ms. */
function parseUntil(s: string): number {
  const hm = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (hm) {
    if (Number(hm[1]) > 23 || Number(hm[2]) > 59) throw new InputError(`--until ${s}: not a time of day (HH:MM, UTC)`);
    const d = new Date();
    d.setUTCHours(Number(hm[1]), Number(hm[2]), 0, 0);
    if (d.getTime() <= Date.now()) d.setUTCDate(d.getUTCDate() + 1);
    return d.getTime();
  }
  const t = Date.parse(s);
  if (!Number.isFinite(t)) throw new InputError(`--until ${JSON.stringify(s)}: give HH:MM (UTC) or an ISO date-time`);
  return t;
}
const deadline = values.until !== undefined ? parseUntil(values.until) : undefined;
if (values.park && deadline === undefined) throw new InputError("--park needs --until (the time to stop at)");
if (values.smoke) process.env.OMNI_SMOKE = "1";

const { reproduce, reproStatus } = await import("../src/experiments/reproduce.js");
const { resultsDir } = await import("../src/util/paths.js");
const { formatDuration } = await import("../src/util/progress.js");
const { listNotebooks, runNotebooks } = await import("./notebooks/runner.js");

if (values.status) {
  const s = reproStatus();
  console.log(`runs done ${s.done}/${s.total}; estimated ${formatDuration(s.secondsLeft)} of grid work left on 2 cores (+ aggregation and notebooks)`);
  for (const id of s.pending) console.log(`  pending ${id}`);
  process.exit(0);
}

const started = Date.now();
const notebooks = values["no-notebooks"] || values.report ? [] : listNotebooks().filter((n) => !values.notebooks || n.split("/").pop()!.includes(values.notebooks));
const r = await reproduce({ tailSeconds: notebooks.length * 40, reportOnly: values.report, deadline, park: values.park });
console.error(`[reproduce] pipeline done in ${formatDuration(r.seconds)}; ${r.written.length} files written`);

if (r.deferred.length > 0 && notebooks.length > 0) {
  // the notebooks would train the deferred runs themselves, past the deadline
  console.error(`[reproduce] notebooks not executed: ${r.deferred.length} run(s) deferred; \`npm run reproduce\` again continues`);
} else if (notebooks.length > 0) {
  console.error(`\n[reproduce] stage 8/8: executing ${notebooks.length} notebooks into ${resultsDir("notebooks")} (elapsed ${formatDuration((Date.now() - started) / 1000)})`);
  const results = await runNotebooks(notebooks, { outDir: resultsDir("notebooks"), timeoutS: -1 });
  const failed = results.filter((x) => !x.ok);
  if (failed.length > 0) {
    for (const f of failed) console.error(`FAILED ${f.message}`);
    process.exit(1);
  }
}
console.error(`\n[reproduce] done in ${formatDuration((Date.now() - started) / 1000)}`);
