/**
 * Batching by a frame budget: utterances of similar length are grouped so that each batch's padded
 * size (items x longest item, in frames) stays within `frameBudget`. This keeps memory per step
 * constant while short utterances travel in bigger batches.
 */
import { Rng } from "../util/rng.js";

export interface FrameBudgetOptions {
  /** Upper bound on batchSize x maxLength (frames, any unit consistent with `lengths`). */
  frameBudget: number;
  maxBatchSize?: number;
  /** Shuffle batch order and break length ties randomly (training); false keeps a fixed order. */
  shuffle?: boolean;
  seed?: number;
}

/**
 * Groups indices of `lengths` into batches. An item longer than the budget gets a batch of its own
 * (it is never dropped); `oversize` lists those indices so the caller can decide.
 */
export function frameBudgetBatches(lengths: readonly number[], opts: FrameBudgetOptions): { batches: number[][]; oversize: number[] } {
  if (!(opts.frameBudget > 0)) throw new RangeError(`frameBudget must be positive, got ${opts.frameBudget}`);
  const maxB = opts.maxBatchSize ?? Infinity;
  const rng = new Rng(opts.seed ?? 0).fork("batches");
  const order = [...lengths.keys()];
  if (opts.shuffle) rng.shuffle(order);
  order.sort((a, b) => lengths[b]! - lengths[a]!); // stable: ties keep the (shuffled) order
  const batches: number[][] = [];
  const oversize: number[] = [];
  let cur: number[] = [];
  let curMax = 0;
  for (const i of order) {
    const len = lengths[i]!;
    if (len > opts.frameBudget) {
      oversize.push(i);
      batches.push([i]);
      continue;
    }
    const newMax = Math.max(curMax, len);
    if (cur.length > 0 && ((cur.length + 1) * newMax > opts.frameBudget || cur.length + 1 > maxB)) {
      batches.push(cur);
      cur = [];
    }
    curMax = cur.length === 0 ? len : Math.max(curMax, len);
    cur.push(i);
  }
  if (cur.length > 0) batches.push(cur);
  if (opts.shuffle) rng.shuffle(batches);
  return { batches, oversize };
}
