/**
 * npm run features -- --preset <smoke|default> [--modality audio|video|all] [--splits train,val,test]
 *                     [--train-variants K] [--snrs 5,2.5,0,-2.5,-5] [--video-restyle K]
 * --video-restyle K: also K restyled renders of every training clip (new virtual faces, restyle<k>;
 * src/features/cache.ts), for runs trained with `--video-restyle`.
 * Encodes the corpus with the frozen encoders of checkpoints/encoders/<preset>/ into the feature cache
 * data/<preset>/features/ (resumable: complete parts are skipped; see src/features/cache.ts).
 */
import "../src/util/cli.js";
import { parseArgs } from "node:util";
import { initBackend } from "../src/backend/index.js";
import { buildFeatureCache, EVAL_SNRS } from "../src/features/cache.js";
import type { Split } from "../src/data/index.js";
import type { EncoderModality } from "../src/pretrain/encoders/index.js";

const { values } = parseArgs({
  options: {
    preset: { type: "string", default: "smoke" },
    modality: { type: "string", default: "all" },
    splits: { type: "string", default: "train,val,test" },
    "train-variants": { type: "string", default: "2" },
    snrs: { type: "string" },
    "video-restyle": { type: "string", default: "0" },
  },
});
const modalities: EncoderModality[] = values.modality === "all" ? ["audio", "video"] : [values.modality as EncoderModality];
await initBackend();
const s = await buildFeatureCache({
  preset: values.preset!,
  modalities,
  splits: values.splits!.split(",") as Split[],
  trainNoisyVariants: Number(values["train-variants"]),
  evalSnrs: values.snrs ? values.snrs.split(",").map(Number) : EVAL_SNRS,
  videoRestyleVariants: Number(values["video-restyle"]),
});
console.log(
  `features ${values.preset}: ${s.utterancesEncoded} utterance-conditions encoded, ${s.parts.written} parts written, ${s.parts.skipped} skipped, ` +
    `${(s.bytes / 2 ** 20).toFixed(1)} MiB in ${Object.values(s.dirs).join(", ")} (${s.seconds.toFixed(1)} s)`,
);
