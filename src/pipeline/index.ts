/**
 * The AVSR pipeline as a library: run configs, the frozen LM, cached-feature data, the model of a run,
 * training and evaluation entry points (the CLIs in scripts/ and issue 6's experiment runner call these).
 * (model.ts's `runDirOf` is exported here as `runFolderOf`: experiments/pool.ts has a `runDirOf` of its own.)
 */
export * from "./config.js";
export * from "./lm.js";
export * from "./data.js";
export { AvsrTrainModel, avsrConfigOf, buildModel, readRunConfig, restoreTrained, decodeUtterances, runDirOf as runFolderOf, type BuiltModel, type DecodeSetOptions } from "./model.js";
export * from "./train.js";
export * from "./eval.js";
export * from "./oracle.js";
