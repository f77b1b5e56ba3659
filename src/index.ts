/**
 * omni-avsr-lab: the library behind the notebooks. Notebooks import it by package name
 * (`import { ... } from "omni-avsr-lab"`), which resolves to the build of this file in dist/.
 */
export * from "./backend/index.js";
export * from "./plot/index.js";
export * from "./report/index.js";
export * from "./util/rng.js";
export * from "./util/atomic.js";
export * from "./util/progress.js";
export * from "./util/smoke.js";
export * from "./util/paths.js";
export * from "./env/report.js";
export * from "./demo/tiny.js";
export * from "./experiments/index.js";
