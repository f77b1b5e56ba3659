/**
 * npm run pretrain:encoders -- --preset <smoke|default> [--modality audio|video|all] [--seed N]
 *                              [--steps N] [--lr X] [--warmup N] [--init-from DIR] [--force]
 * --init-from: warm start from an exported encoder folder (e.g. to add the sub-word objective to a
 * trained phoneme encoder); its matching parameters initialise the run.
 * Pretrains the audio and/or video encoder with CTC (phonemes / visemes) on the corpus train split,
 * resuming from data/<preset>/encoder-runs/<modality>/checkpoints, and exports the frozen encoder to
 * checkpoints/encoders/<preset>/<modality>/ (see src/pretrain/encoders/).
 */
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/index.js";
import { pretrainEncoder, type EncoderModality } from "../src/pretrain/encoders/index.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "smoke" },
    modality: { type: "string", default: "all" },
    seed: { type: "string", default: "0" },
    steps: { type: "string" },
    lr: { type: "string" },
    warmup: { type: "string" },
    "init-from": { type: "string" },
    force: { type: "boolean", default: false },
  },
});
const mods: EncoderModality[] = values.modality === "all" ? ["audio", "video"] : [values.modality as EncoderModality];
for (const m of mods) if (m !== "audio" && m !== "video") throw new Error(`--modality must be audio, video or all, got ${m}`);
const backend = await initBackend();
console.error(`backend: ${backend.name} (${backend.reason})`);
for (const modality of mods) {
  const r = await pretrainEncoder({
    preset: values.preset!,
    modality,
    seed: Number(values.seed),
    train: {
      ...(values.steps ? { steps: Number(values.steps) } : {}),
      ...(values.lr ? { lr: Number(values.lr) } : {}),
      ...(values.warmup ? { warmup: Number(values.warmup) } : {}),
      ...(values["init-from"] ? { initFrom: values["init-from"] } : {}),
    },
    force: values.force,
    command: `npm run pretrain:encoders -- ${process.argv.slice(2).join(" ")}`,
  });
  console.log(`${modality}: ${r.skipped ? "exists" : "exported"} ${r.outDir}: val ${r.metrics.unit} error rate ${(100 * r.metrics.valErrorRate).toFixed(2)}%`);
}
