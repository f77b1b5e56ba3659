/**
 * npm run probe:splice -- [--preset default] [--modality audio|video] [--limit 300] [--seed 5]
 *
 * How real spliced samples (src/pipeline/splice.ts) look to the frozen encoder itself: its sub-word CTC
 * head, greedy, reads `limit` clean samples of three kinds, and the WER of each is printed:
 *   real        training utterances as spoken;
 *   re-spliced  the same training sentences, each word cut from a random spoken occurrence of it;
 *   spliced     word sequences of the LM text, cut the same way (what `--splice N` trains on).
 * Equal WERs say the splice boundaries cost the encoder's read-out little; the head is a linear layer
 * on the frames, so it sees what the LLM's ctc-embed input sees (pipeline/ctc-embed.ts).
 */
import "../src/util/cli.js";
import { InputError } from "../src/util/errors.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend/index.js";
import { openCorpus } from "../src/data/index.js";
import { corpusWer } from "../src/eval/wer.js";
import { openFeatures } from "../src/features/cache.js";
import { ctcGreedyDecode } from "../src/models/ctc.js";
import { openSplice } from "../src/pipeline/data.js";
import { ENCODER_FPS, drawSplice, spliceFrames } from "../src/pipeline/splice.js";
import { loadEncoder } from "../src/pretrain/encoders/index.js";
import { BpeTokenizer } from "../src/text/tokenizer.js";
import { repoRoot } from "../src/util/paths.js";
import { Rng } from "../src/util/rng.js";

const { values: v } = parseArgs({
  options: {
    preset: { type: "string", default: "default" },
    modality: { type: "string", default: "audio" },
    limit: { type: "string", default: "300" },
    seed: { type: "string", default: "5" },
  },
});
const modality = v.modality as "audio" | "video";
if (modality !== "audio" && modality !== "video") throw new InputError(`--modality must be audio or video, got ${v.modality}`);
const limit = Number(v.limit);
if (!(Number.isInteger(limit) && limit > 0)) throw new InputError(`--limit must be a positive whole number, got ${v.limit}`);
await initBackend();
const corpus = await openCorpus(v.preset!);
const train = corpus.utterances("train");
const enc = loadEncoder(v.preset!, modality);
const head = enc.model.subwordHead;
if (!head) throw new InputError(`${enc.dir}: the ${modality} encoder has no sub-word CTC head`);
const feats = openFeatures(v.preset!, modality, enc.hash, "train", "clean");
const tokenizer = BpeTokenizer.fromJSON(readFileSync(join(repoRoot(), "checkpoints", "lm", v.preset!, "tokenizer.json"), "utf8"));
const { pool, bank } = await openSplice(v.preset!, train);
const read = (f: { data: Float32Array; frames: number; dim: number }) => {
  const x = tf.tensor3d(f.data, [1, f.frames, f.dim]);
  const ids = ctcGreedyDecode(tf.tidy(() => head.apply(x)), [f.frames])[0]!;
  x.dispose();
  return tokenizer.decode(ids.map((c) => c - 1));
};
const fps = ENCODER_FPS[modality];
const rng = new Rng(Number(v.seed));
const pairs = { real: [] as { ref: string; hyp: string }[], respliced: [] as { ref: string; hyp: string }[], spliced: [] as { ref: string; hyp: string }[] };
for (let i = 0; i < limit; i++) {
  const u = train[rng.int(0, train.length)]!;
  pairs.real.push({ ref: u.text, hyp: read(feats.get(u.id)) });
  pairs.respliced.push({ ref: u.text, hyp: read(spliceFrames(drawSplice([u.text], bank, rng).segments, feats, fps)) });
  const sp = drawSplice(pool, bank, rng);
  pairs.spliced.push({ ref: sp.text, hyp: read(spliceFrames(sp.segments, feats, fps)) });
}
enc.model.dispose();
const pct = (x: number) => (100 * x).toFixed(1);
console.log(`${v.preset} ${modality} encoder ${enc.dir}; splice pool: ${pool.length} LM-text word sequences over ${bank.words.size} spoken words`);
console.log(`sub-word CTC head, greedy, ${limit} clean samples each:`);
for (const [name, p] of Object.entries(pairs)) console.log(`  ${name.padEnd(10)} WER ${pct(corpusWer(p).rate)} %`);
console.log(`  e.g. spliced: ${JSON.stringify(pairs.spliced[0])}`);
