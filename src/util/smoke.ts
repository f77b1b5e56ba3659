/**
 * The smoke size: OMNI_SMOKE=1 (set by `npm test`) makes notebooks and end-to-end scripts run the
 * same pipeline at a tiny size, so the tests exercise every step in seconds.
 */
export function isSmoke(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.OMNI_SMOKE ?? "").trim().toLowerCase();
  return v !== "" && v !== "0" && v !== "false" && v !== "no";
}

/** Picks the smoke or the full value of a size parameter. */
export function bySize<T>(full: T, smoke: T, env: NodeJS.ProcessEnv = process.env): T {
  return isSmoke(env) ? smoke : full;
}
