/**
 * Encoder evaluation: greedy-CTC unit error rate (PER / viseme error rate) and the sub-word head's WER.
 */
import * as tf from "@tensorflow/tfjs";
import { frameBudgetBatches, type Utterance } from "../../data/index.js";
import { ctcGreedyDecode } from "../../models/ctc.js";
import type { CtcHead } from "../../models/encoders.js";
import { corpusWer, type ErrorRate } from "../../eval/wer.js";
import { editDistance, targetsOf } from "../encoder-data.js";
import { encoderForward, type CtcEncoder } from "./model.js";
import { inputFramesOf, loadInput, type PretrainData } from "./data.js";

export interface CtcScore {
  /** Σ edit distance / Σ reference units (greedy CTC decoding). */
  errorRate: number;
  utterances: number;
  refUnits: number;
}

/** Greedy-CTC unit error rate on `utts` (audio optionally with deterministic babble at `snrDb`). */
export function evaluateCtc(model: CtcEncoder, d: PretrainData, utts: readonly Utterance[], opts: { snrDb?: number; batchFrames?: number } = {}): CtcScore {
  let errs = 0;
  let refs = 0;
  greedyCtcLabels(model, model.head, d, utts, opts).forEach((hyp, i) => {
    const ref = targetsOf(d.ds, utts[i]!.id, d.inventory);
    errs += editDistance(ref, hyp);
    refs += ref.length;
  });
  return { errorRate: refs > 0 ? errs / refs : 0, utterances: utts.length, refUnits: refs };
}

/** Greedy-CTC word error rate of the sub-word head (the encoder alone as a CTC recogniser). */
export function evaluateSubwordCtc(model: CtcEncoder, d: PretrainData, utts: readonly Utterance[], opts: { snrDb?: number; batchFrames?: number } = {}): ErrorRate {
  if (!model.subwordHead || !d.tokenizer) throw new Error("evaluateSubwordCtc: the encoder has no sub-word head");
  const hyps = greedyCtcLabels(model, model.subwordHead, d, utts, opts);
  return corpusWer(hyps.map((h, i) => ({ ref: utts[i]!.text, hyp: d.tokenizer!.decode(h.map((c) => c - 1)) })));
}

/**
 * Greedy-CTC label sequences (classes 1..N) of `head` for each of `utts` (in order), from the corpus's
 * inputs (no feature cache), batched by frame budget.
 */
export function greedyCtcLabels(model: CtcEncoder, head: CtcHead, d: PretrainData, utts: readonly Utterance[], opts: { snrDb?: number; batchFrames?: number }): number[][] {
  const spec = model.spec;
  const batches = frameBudgetBatches(
    utts.map((u) => inputFramesOf(spec, u)),
    { frameBudget: opts.batchFrames ?? spec.train.frameBudget * 2, maxBatchSize: 64 },
  ).batches;
  const out: number[][] = new Array(utts.length);
  for (const b of batches) {
    const items = b.map((i) => loadInput(d, spec, utts[i]!.id, undefined, opts.snrDb));
    const logits = tf.tidy(() => {
      const f = encoderForward(model.encoder, spec, items);
      return { l: head.apply(f.features), lengths: f.lengths };
    });
    const hyp = ctcGreedyDecode(logits.l, logits.lengths);
    logits.l.dispose();
    b.forEach((i, k) => (out[i] = hyp[k]!));
  }
  return out;
}
