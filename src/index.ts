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
export * as nn from "./models/nn.js";
export * from "./models/llm.js";
export * from "./models/lora.js";
export * from "./models/compression.js";
export * from "./models/projector.js";
export * from "./models/avsr.js";
export * from "./models/ctc.js";
export * from "./models/encoders.js";
export * from "./text/tokenizer.js";
export * from "./eval/wer.js";
export * from "./eval/decode.js";
export * from "./eval/copy-probe.js";
export * from "./train/optim.js";
export * from "./train/methods.js";
export * from "./train/checkpoint.js";
export * from "./train/trainer.js";
export * from "./train/synthetic.js";
export * from "./data/index.js";
export * from "./audio/index.js";
export * from "./video/index.js";
export * from "./experiments/plan.js";
export * from "./experiments/results.js";
export * from "./experiments/reproduce.js";
export * from "./experiments/demo.js";
export * from "./pretrain/lm/index.js";
export * from "./pretrain/encoders/index.js";
export * from "./pretrain/ensure.js";
export * from "./features/cache.js";
export * from "./pipeline/index.js";
