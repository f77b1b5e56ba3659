/**
 * Typed experiment grids: a set of axes (method, task, rates, SNR, LM size, λ, seed...) expanded into
 * independent jobs, each with a stable id that names its run folder. The same grid always gives the same
 * ids, so a re-run finds the jobs that are already done.
 */

export type ParamValue = string | number | boolean | null | readonly (string | number)[];
export type Params = Record<string, ParamValue>;

/** Cartesian product of the axes, in axis order (the last axis varies fastest). */
export function expandGrid<A extends Record<string, readonly ParamValue[]>>(axes: A): Array<{ [K in keyof A]: A[K][number] }> {
  let rows: Array<Record<string, ParamValue>> = [{}];
  for (const [key, values] of Object.entries(axes)) {
    if (values.length === 0) throw new Error(`expandGrid: axis "${key}" has no values`);
    rows = rows.flatMap((row) => values.map((v) => ({ ...row, [key]: v })));
  }
  return rows as Array<{ [K in keyof A]: A[K][number] }>;
}

function slugValue(v: ParamValue): string {
  if (Array.isArray(v)) return v.map((x) => slugValue(x as ParamValue)).join("-");
  return String(v).replace(/[^A-Za-z0-9.+-]+/g, "_");
}

/** A readable, filesystem-safe id: `<kind>/<key>=<value>,...` with keys in a fixed (sorted) order. */
export function jobId(kind: string, params: Params): string {
  const parts = Object.keys(params)
    .sort()
    .map((k) => `${k}=${slugValue(params[k]!)}`);
  return `${kind}/${parts.join(",") || "default"}`;
}

export interface JobSpec<P extends Params = Params> {
  id: string;
  /** What the job runs: a module (path from the repository root) and one of its exported functions. */
  module: string;
  fn: string;
  params: P;
  /** Ids of jobs that must finish first (e.g. pretraining before fine-tuning). */
  after?: string[];
  /** A relative cost estimate, for ordering and the ETA (default 1). */
  cost?: number;
}

export function makeJobs<P extends Params>(kind: string, module: string, fn: string, grid: readonly P[], extra: Partial<JobSpec<P>> = {}): JobSpec<P>[] {
  const seen = new Set<string>();
  return grid.map((params) => {
    const id = jobId(kind, params);
    if (seen.has(id)) throw new Error(`makeJobs: two jobs with the id ${id}`);
    seen.add(id);
    return { ...extra, id, module, fn, params };
  });
}
