/**
 * What a finished LM pretraining run records: metrics.json (LmMetrics) and the columns of metrics.csv.
 */
import type { LlmSize } from "../../models/llm.js";
import type { CopyProbeResult } from "../../eval/copy-probe.js";
import type { LmEval } from "./evaluate.js";

export const LM_METRICS_COLUMNS = ["step", "lr", "loss", "grad_norm", "tokens", "tokens_per_s", "elapsed_s", "val_loss"] as const;

export interface LmMetrics {
  preset: string;
  size: LlmSize;
  seed: number;
  params: number;
  paramsNonEmbedding: number;
  vocabSize: number;
  steps: number;
  /** Tokens in the training windows (steps x batch x seqLen). */
  trainTokens: number;
  /** Of which scored (targets other than <bos>). */
  trainTokensScored: number;
  /** trainTokens / training stream length. */
  epochs: number;
  trainStreamTokens: number;
  trainLines: number;
  valLines: number;
  /** Training wall time in seconds, summed over resumed sessions (evaluation excluded). */
  wallTimeS: number;
  tokensPerS: number;
  finalTrainLoss: number;
  /** Full validation slice, after training. */
  val: LmEval;
  /** Validation loss of the untrained model on the first evalTokens tokens. */
  valInitial: LmEval;
  /** Periodic validation loss on the first evalTokens tokens. */
  valCurve: Array<{ step: number; loss: number }>;
  evalTimeS: number;
  backend: string;
  /**
   * In-context copying (eval/copy-probe.ts) on the first COPY_PROBE_LINES validation lines, as they are
   * and word-shuffled: NLL of the first and of the second copy. Absent in checkpoints made before it.
   */
  copyProbe?: { natural: CopyProbeResult; shuffled: CopyProbeResult };
}

/** Validation lines the copy probe scores. */
export const COPY_PROBE_LINES = 200;
