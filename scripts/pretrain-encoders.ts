/**
 * npm run pretrain:encoders -- --preset <smoke|default> [--modality audio|video|all] [--seed N]
 *                              [--steps N] [--lr X] [--warmup N] [--init-from DIR] [--layers N]
 *                              [--out DIR] [--work DIR] [--augment] [--video-rerender P] [--extra-train BANK] [--force]
 * --init-from: warm start from an exported encoder folder (e.g. to add the sub-word objective to a
 * trained phoneme encoder); its matching parameters initialise the run.
 * --augment: audio only, speaker augmentation (VTLP + SpecAugment masks, DEFAULT_AUDIO_AUGMENT of
 * src/audio/augment.ts) on top of the preset's babble.
 * --video-rerender P: video only, each training clip rendered with probability P as a new virtual speaker
 * (fresh appearance, head motion and lighting, same timeline; src/video/augment.ts).
 * --extra-train: audio only, a voice bank preset (`default-voicebank`, made by `npm run corpus -- --preset
 * default-voicebank`) whose utterances join the train split: more voices (CorpusConfig.voiceBank).
 * --layers: transformer blocks instead of the preset's (with --init-from, the extra blocks start at random).
 * --out / --work: export folder and working folder (checkpoints), instead of the shipped encoder's
 * checkpoints/encoders/<preset>/<modality> and data/<preset>/encoder-runs/<modality>: an experiment
 * that leaves the shipped encoder alone.
 * Pretrains the audio and/or video encoder with CTC (phonemes / visemes) on the corpus train split,
 * resuming from data/<preset>/encoder-runs/<modality>/checkpoints, and exports the frozen encoder to
 * checkpoints/encoders/<preset>/<modality>/ (see src/pretrain/encoders/).
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_AUDIO_AUGMENT } from "../src/audio/augment.js";
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
    layers: { type: "string" },
    out: { type: "string" },
    work: { type: "string" },
    augment: { type: "boolean", default: false },
    "video-rerender": { type: "string" },
    "extra-train": { type: "string" },
    force: { type: "boolean", default: false },
  },
});
const mods: EncoderModality[] = values.modality === "all" ? ["audio", "video"] : [values.modality as EncoderModality];
for (const m of mods) if (m !== "audio" && m !== "video") throw new InputError(`--modality must be audio, video or all, got ${m}`);
if (values.augment && mods.some((m) => m !== "audio")) throw new InputError("--augment applies to the audio encoder only: give --modality audio");
if (values["video-rerender"] !== undefined && mods.some((m) => m !== "video")) throw new InputError("--video-rerender applies to the video encoder only: give --modality video");
if (values["extra-train"] && mods.some((m) => m !== "audio")) throw new InputError("--extra-train applies to the audio encoder only: give --modality audio");
if ((values.out || values.work) && mods.length !== 1) throw new InputError("--out and --work name one encoder's folders: give --modality audio or video");
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
      ...(values.augment ? { augment: DEFAULT_AUDIO_AUGMENT } : {}),
      ...(values["video-rerender"] !== undefined ? { videoAugment: { rerender: Number(values["video-rerender"]) } } : {}),
      ...(values["extra-train"] ? { extraTrain: values["extra-train"] } : {}),
    },
    ...(values.layers ? { layers: Number(values.layers) } : {}),
    ...(values.out ? { outDir: resolve(values.out) } : {}),
    ...(values.work ? { workDir: resolve(values.work) } : {}),
    force: values.force,
    command: `npm run pretrain:encoders -- ${process.argv.slice(2).join(" ")}`,
  });
  console.log(`${modality}: ${r.skipped ? "exists" : "exported"} ${r.outDir}: val ${r.metrics.unit} error rate ${(100 * r.metrics.valErrorRate).toFixed(2)}%`);
}
