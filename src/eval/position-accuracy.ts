/**
 * Teacher-forced token accuracy by transcript position: with the reference transcript as the history
 * (as in training), how often the model's most likely next token is the right one, for the 1st, 2nd,
 * ... transcript token (EOS counts as the last one). Greedy decoding errs the same way and then also
 * conditions on its own mistakes; this measure leaves that out, so a fall with position shows that the
 * model fails to find the audio/video tokens of later words (alignment), not that errors compound.
 *
 *   accuracyByPosition(pred, targets, rows, len, maxPos)   pure bookkeeping over flattened [rows, len]
 *   teacherForcedAccuracy(model, samples, task, rates)     one forward pass of a batch, then the above
 */
import * as tf from "@tensorflow/tfjs";
import type { AvsrModel, AvsrSample, Rates, Task } from "../models/avsr.js";
import { IGNORE } from "../models/llm.js";

export interface PositionAccuracy {
  /** hits[k] / counts[k]: accuracy at transcript position k (positions >= maxPos pooled in the last). */
  hits: number[];
  counts: number[];
}

export function emptyPositionAccuracy(maxPos: number): PositionAccuracy {
  return { hits: new Array<number>(maxPos).fill(0), counts: new Array<number>(maxPos).fill(0) };
}

/** Adds the rows of one batch: `targets` is IGNORE outside the transcript, in order within each row. */
export function accuracyByPosition(pred: ArrayLike<number>, targets: ArrayLike<number>, rows: number, len: number, into: PositionAccuracy): PositionAccuracy {
  if (pred.length !== rows * len || targets.length !== rows * len) throw new Error(`accuracyByPosition: expected ${rows}x${len} predictions and targets, got ${pred.length} and ${targets.length}`);
  const last = into.counts.length - 1;
  for (let b = 0; b < rows; b++) {
    let k = 0;
    for (let p = 0; p < len; p++) {
      const t = targets[b * len + p]!;
      if (t === IGNORE) continue;
      const slot = Math.min(k++, last);
      into.counts[slot]!++;
      if (pred[b * len + p] === t) into.hits[slot]!++;
    }
  }
  return into;
}

/** Samples must carry their transcripts (token ids, no BOS/EOS). */
export function teacherForcedAccuracy(model: AvsrModel, samples: readonly AvsrSample[], task: Task, rates: Rates, into: PositionAccuracy): PositionAccuracy {
  const { pred, targets, rows, len } = tf.tidy(() => {
    const inp = model.trainInputs(samples, task, rates);
    const out = model.llm.forward({ embeds: inp.embeds }, { ctx: model.contextFor(task) });
    const [rows, len] = inp.embeds.shape;
    return { pred: tf.argMax(out.logits!, -1).dataSync() as Int32Array, targets: inp.targets, rows, len };
  });
  return accuracyByPosition(pred, targets, rows, len, into);
}
