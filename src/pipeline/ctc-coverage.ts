/**
 * Which modality heads joint CTC/attention decoding may use at a rate (pipeline/eval.ts).
 *
 * A CTC over N compressed tokens can emit a label sequence only if N ≥ its length plus one blank
 * between each pair of equal neighbours. At 16x-compressed audio (~3 tokens/s) most transcripts of
 * this corpus do not fit (README, "Joint CTC/attention decoding"): training skipped those rows, so the
 * head is weak there, and in decoding its scores push every hypothesis to be shorter than the
 * transcript. The rule, from the training split only: a modality's head is used at a rate when at
 * least `CTC_MIN_COVERAGE` of the training transcripts fit.
 *
 *   ctcLength(ids)                    labels + repeats: the fewest frames that can carry them
 *   ctcCoverage(pairs, rate)          the share of (frames, ids) pairs that fit at that rate
 *   ctcHeadsOf(...)                   the task's modalities whose coverage passes, with the shares
 */
import { compressedLength } from "../models/compression.js";
import { taskUses, type Rates } from "../models/avsr.js";
import type { Task } from "../models/lora.js";
import type { TextEncoder } from "../models/avsr.js";
import { encoderOutputFrames } from "../pretrain/encoders/index.js";
import { splitUtterances } from "./data.js";

export const CTC_MIN_COVERAGE = 0.9;

export function ctcLength(ids: readonly number[]): number {
  let n = ids.length;
  for (let i = 1; i < ids.length; i++) if (ids[i] === ids[i - 1]) n++;
  return n;
}

/** Share of utterances (frames before compression, label ids) whose labels a CTC at `rate` can emit. */
export function ctcCoverage(utts: ReadonlyArray<{ frames: number; ids: readonly number[] }>, rate: number): number {
  if (utts.length === 0) throw new Error("ctcCoverage: no utterances");
  return utts.filter((u) => compressedLength(u.frames, rate) >= ctcLength(u.ids)).length / utts.length;
}

export interface CtcHeads {
  /** The modalities whose CTC head joint decoding uses (empty: attention only). */
  use: Array<"audio" | "video">;
  /** Training-transcript coverage of each modality the task uses, at its rate. */
  coverage: Partial<Record<"audio" | "video", number>>;
}

/**
 * The task's modality heads that pass the coverage rule at these rates, on the preset's training split.
 * The encoder's frame counts come from the manifest (encoderOutputFrames), so evaluation needs no
 * cached training features (a fresh clone caches only the test split's).
 */
export async function ctcHeadsOf(preset: string, task: Task, rates: Rates, tokenizer: TextEncoder): Promise<CtcHeads> {
  const train = await splitUtterances(preset, "train");
  const ids = new Map(train.map((u) => [u.id, tokenizer.encode(u.text)]));
  const use = taskUses(task);
  const out: CtcHeads = { use: [], coverage: {} };
  for (const m of ["audio", "video"] as const) {
    if (!use[m]) continue;
    const share = ctcCoverage(train.map((u) => ({ frames: encoderOutputFrames(m, u), ids: ids.get(u.id)! })), rates[m]);
    out.coverage[m] = share;
    if (share >= CTC_MIN_COVERAGE) out.use.push(m);
  }
  return out;
}
