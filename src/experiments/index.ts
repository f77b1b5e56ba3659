/**
 * Experiments: typed grids expanded into jobs (`expandGrid`, `makeJobs`), run in a resumable process
 * pool (`runJobs`), each job in its own run folder with a done.json holding its result.
 */
export * from "./grid.js";
export * from "./pool.js";
export * from "./reference.js";
