/**
 * Decoding with the KV cache, batched: greedy and beam search over a left-padded batch of prefixes
 * (input embeddings, e.g. `[BOS] <audio> A </audio> ... prompt`). Each row decodes exactly as it would
 * alone (see llm.ts: validFrom masks the padding and restarts positions).
 *
 * Beam search follows Hugging Face's `generate(num_beams=K)` as the reference uses it (K = 15, 32 new
 * tokens): at each step the top 2K continuations of the K live beams are ranked by summed
 * log-probability; a continuation ending in EOS among the top K becomes a finished hypothesis scored
 * sum_logprob / n^lengthPenalty (n = generated tokens including EOS); the best K others stay live. A row is done
 * when it has K finished hypotheses and (earlyStopping, or the best live beam's normalised score cannot beat
 * the worst finished one). At the length limit, live beams join the finished set. The best finished
 * hypothesis is returned, without EOS. With K = 1 this is exactly greedy decoding (tested).
 *
 * Joint CTC/attention decoding (`ctc`, off by default; not in the paper, whose models have no CTC
 * head): each row brings a CTC distribution over its frames (eval/ctc-prefix.ts) and a hypothesis is
 * ranked by (1 − λ)·(attention log-probability) + λ·(CTC prefix score), the hybrid one-pass search of
 * Watanabe et al. (2017). Only the `preBeam` best attention continuations of each live beam are
 * CTC-scored (ESPnet's pre-beam), with the labels the scorers propose (`proposals`); ending a hypothesis
 * scores it with the CTC probability of the whole sequence. With λ = 0 the search is the plain one.
 */
import * as tf from "@tensorflow/tfjs";
import { ForwardContext, tidyKeep } from "../models/nn.js";
import { KVCache, Llm, disposeCache, emptyCache, selectCacheRows } from "../models/llm.js";
import type { AvsrModel, AvsrSample, DecodePrefix, Rates, Task } from "../models/avsr.js";
import { EOS_ID } from "../text/tokenizer.js";
import type { PrefixScorer, PrefixState } from "./ctc-prefix.js";

export interface DecodeOptions {
  maxNewTokens: number;
  eosId: number;
  ctx?: ForwardContext;
}

export interface BeamOptions extends DecodeOptions {
  beamWidth: number;
  /** Exponent of the length normalisation (HF default 1.0). */
  lengthPenalty?: number;
  /** Stop a row as soon as it has K finished hypotheses (HF early_stopping=True); default false. */
  earlyStopping?: boolean;
  /** Joint CTC/attention decoding (see the header). */
  ctc?: JointCtc;
}

export interface JointCtc {
  /** One scorer per batch row (its own frames). */
  scorers: readonly PrefixScorer[];
  /** λ in [0, 1]. */
  weight: number;
  /** Attention continuations per live beam that are CTC-scored; default ceil(1.5·K), at least 2. */
  preBeam?: number;
  /**
   * Labels per live beam that the scorers propose (PrefixScorer.propose; the lexicon scorer's best next
   * pieces), scored beside the attention pre-beam; default 0. They reach tokens the LLM ranks too low.
   */
  proposals?: number;
}

/** Runs the model on new inputs with a cache; returns log-probabilities of the last position [R, V] (as JS rows) and the grown cache. */
function stepLogProbs(llm: Llm, input: { ids?: tf.Tensor2D; embeds?: tf.Tensor3D }, cache: KVCache, ctx?: ForwardContext): { logp: Float32Array; cache: KVCache } {
  const out = tidyKeep(() => {
    const o = llm.forward(input, { cache, logits: "last", ctx });
    const lp = tf.logSoftmax(tf.squeeze(o.logits!, [1]) as tf.Tensor2D);
    return { lp, cache: o.cache! };
  });
  const logp = out.lp.dataSync() as Float32Array;
  out.lp.dispose();
  return { logp, cache: out.cache };
}

function argmaxRow(a: Float32Array, row: number, V: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let v = 0; v < V; v++) {
    const x = a[row * V + v]!;
    if (x > bv) {
      bv = x;
      best = v;
    }
  }
  return best;
}

/** Greedy decoding of every row; returns the generated token ids without EOS. */
export function greedyDecode(llm: Llm, prefix: DecodePrefix, opts: DecodeOptions): number[][] {
  const B = prefix.embeds.shape[0];
  const V = llm.config.vocabSize;
  const outs: number[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  let { logp, cache } = stepLogProbs(llm, { embeds: prefix.embeds }, emptyCache(prefix.validFrom), opts.ctx);
  try {
    for (let n = 0; n < opts.maxNewTokens; n++) {
      const next = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const tok = done[b] ? opts.eosId : argmaxRow(logp, b, V);
        next[b] = tok;
        if (!done[b]) {
          if (tok === opts.eosId) done[b] = true;
          else outs[b]!.push(tok);
        }
      }
      if (done.every((d) => d) || n === opts.maxNewTokens - 1) break;
      const ids = tf.tensor2d(next, [B, 1], "int32");
      const r = stepLogProbs(llm, { ids }, cache, opts.ctx);
      ids.dispose();
      disposeCache(cache);
      logp = r.logp;
      cache = r.cache;
    }
  } finally {
    disposeCache(cache);
  }
  return outs;
}

interface Hyp {
  tokens: number[];
  /** The ranking score: the attention log-probability, or the joint score with `ctc`. */
  score: number;
  /** Attention log-probability (kept apart for the joint score). */
  att: number;
  ctc?: PrefixState;
}

/**
 * CTC scores are floored: a prefix the frames cannot hold (more labels than frames allow: high rates,
 * long transcripts) gets CTC_FLOOR instead of −∞, so such hypotheses stay ranked by attention among
 * themselves instead of all dying (ESPnet's logzero does the same).
 */
const CTC_FLOOR = -1e4;
const floored = (x: number) => Math.max(x, CTC_FLOOR);

interface Candidate {
  k: number;
  v: number;
  s: number;
  att: number;
  ctc?: PrefixState;
}

/** Inserts c into cand (sorted by s, descending; ties keep the earlier) and keeps the best `want`. */
function pushCandidate(cand: Candidate[], c: Candidate, want: number): void {
  if (cand.length >= want && !(c.s > cand[cand.length - 1]!.s)) return;
  let i = cand.length;
  while (i > 0 && cand[i - 1]!.s < c.s) i--;
  cand.splice(i, 0, c);
  if (cand.length > want) cand.pop();
}

/** A finished hypothesis of the beam search: its tokens (without EOS) and its length-normalised score. */
export interface RankedHypothesis {
  tokens: number[];
  score: number;
}

/** Beam search of every row (batched as B·K cache rows); returns the best hypothesis per row without EOS. */
export function beamSearch(llm: Llm, prefix: DecodePrefix, opts: BeamOptions): number[][] {
  return beamSearchNBest(llm, prefix, opts).map((pool) => pool[0]?.tokens ?? []);
}

/**
 * Beam search of every row, returning each row's ranked pool of hypotheses (best first, at most K
 * finished ones plus, for a row cut off at the length limit, its live beams): the N-best list that
 * rescoring and hypothesis combination choose from (pipeline/lexicon-combination.ts).
 */
export function beamSearchNBest(llm: Llm, prefix: DecodePrefix, opts: BeamOptions): RankedHypothesis[][] {
  const B = prefix.embeds.shape[0];
  const K = opts.beamWidth;
  const V = llm.config.vocabSize;
  const lp = opts.lengthPenalty ?? 1;
  const norm = (sum: number, n: number) => sum / Math.pow(n, lp);
  const ctc = opts.ctc && opts.ctc.weight > 0 ? opts.ctc : undefined;
  if (opts.ctc && !(opts.ctc.weight >= 0 && opts.ctc.weight <= 1)) throw new Error(`joint CTC weight must be in [0, 1], got ${opts.ctc.weight}`);
  if (ctc && ctc.scorers.length !== B) throw new Error(`joint CTC: ${ctc.scorers.length} scorers for ${B} rows`);
  const lam = ctc?.weight ?? 0;
  const preBeam = Math.max(2, ctc?.preBeam ?? Math.ceil(1.5 * K));
  const proposals = ctc?.proposals ?? 0;
  const first = stepLogProbs(llm, { embeds: prefix.embeds }, emptyCache(prefix.validFrom), opts.ctx);
  // expand every row to K beams (row b -> cache rows b·K .. b·K+K-1); only beam 0 is live at first
  const expand = Array.from({ length: B * K }, (_, i) => Math.floor(i / K));
  let cache = selectCacheRows(first.cache, expand);
  disposeCache(first.cache);
  let logp = new Float32Array(B * K * V);
  for (let i = 0; i < B * K; i++) logp.set(first.logp.subarray(expand[i]! * V, expand[i]! * V + V), i * V);
  let beams: Hyp[][] = Array.from({ length: B }, (_, b) =>
    Array.from({ length: K }, (_, k) => ({ tokens: [], score: k === 0 ? 0 : -Infinity, att: k === 0 ? 0 : -Infinity, ctc: ctc && k === 0 ? ctc.scorers[b]!.initial() : undefined })),
  );
  // a live hypothesis at the length limit: its joint score as a whole sequence
  const closing = (b: number, h: Hyp) => (ctc && h.ctc ? (1 - lam) * h.att + lam * floored(ctc.scorers[b]!.final(h.ctc)) : h.score);
  const finished: Hyp[][] = Array.from({ length: B }, () => []);
  const rowDone = new Array<boolean>(B).fill(false);
  try {
    for (let n = 1; n <= opts.maxNewTokens; n++) {
      const origins: number[] = [];
      const nextTokens = new Int32Array(B * K);
      const newBeams: Hyp[][] = [];
      for (let b = 0; b < B; b++) {
        if (rowDone[b]) {
          // keep shapes: carry the row's beams along, feeding EOS
          newBeams.push(beams[b]!);
          for (let k = 0; k < K; k++) {
            origins.push(b * K + k);
            nextTokens[b * K + k] = opts.eosId;
          }
          continue;
        }
        // top 2K candidates over K x V (ties: lower beam, then lower token id first)
        const cand: Candidate[] = [];
        const want = 2 * K;
        for (let k = 0; k < K; k++) {
          const h = beams[b]![k]!;
          if (h.score === -Infinity) continue;
          const off = (b * K + k) * V;
          if (!ctc) {
            for (let v = 0; v < V; v++) pushCandidate(cand, { k, v, s: h.att + logp[off + v]!, att: h.att + logp[off + v]! }, want);
            continue;
          }
          // joint: the beam's best `preBeam` attention continuations, CTC-scored
          const pre: Candidate[] = [];
          for (let v = 0; v < V; v++) pushCandidate(pre, { k, v, s: logp[off + v]!, att: h.att + logp[off + v]! }, preBeam);
          const scorer = ctc.scorers[b]!;
          if (proposals > 0 && scorer.propose) {
            const have = new Set(pre.map((c) => c.v));
            for (const v of scorer.propose(h.ctc!, proposals)) if (!have.has(v) && v >= 0 && v < V) pre.push({ k, v, s: logp[off + v]!, att: h.att + logp[off + v]! });
          }
          for (const c of pre) {
            if (c.v === opts.eosId) {
              pushCandidate(cand, { ...c, s: (1 - lam) * c.att + lam * floored(scorer.final(h.ctc!)) }, want);
            } else if (c.v !== scorer.blank) {
              // (the blank is no label: no transcript holds it, so the CTC rules it out)
              const st = scorer.extend(h.ctc!, c.v);
              pushCandidate(cand, { ...c, s: (1 - lam) * c.att + lam * floored(st.score), ctc: st }, want);
            }
          }
        }
        const live: Hyp[] = [];
        const liveOrigin: number[] = [];
        cand.forEach((c, rank) => {
          if (live.length >= K) return;
          const tokens = beams[b]![c.k]!.tokens;
          if (c.v === opts.eosId) {
            if (rank < K) finished[b]!.push({ tokens: [...tokens], score: norm(c.s, n), att: c.att });
          } else {
            live.push({ tokens: [...tokens, c.v], score: c.s, att: c.att, ctc: c.ctc });
            liveOrigin.push(b * K + c.k);
          }
        });
        while (live.length < K) {
          live.push({ tokens: [], score: -Infinity, att: -Infinity });
          liveOrigin.push(b * K);
        }
        finished[b]!.sort((x, y) => y.score - x.score);
        if (finished[b]!.length > K) finished[b]!.length = K;
        if (finished[b]!.length >= K) {
          const worst = finished[b]![K - 1]!.score;
          const bestLive = norm(live[0]!.score, n);
          if (opts.earlyStopping || !(bestLive > worst)) rowDone[b] = true;
        }
        newBeams.push(live);
        for (let k = 0; k < K; k++) {
          origins.push(liveOrigin[k]!);
          nextTokens[b * K + k] = live[k]!.tokens.length > 0 ? live[k]!.tokens[live[k]!.tokens.length - 1]! : opts.eosId;
        }
      }
      beams = newBeams;
      if (rowDone.every((d) => d) || n === opts.maxNewTokens) break;
      const reordered = selectCacheRows(cache, origins);
      disposeCache(cache);
      const ids = tf.tensor2d(nextTokens, [B * K, 1], "int32");
      const r = stepLogProbs(llm, { ids }, reordered, opts.ctx);
      ids.dispose();
      disposeCache(reordered);
      cache = r.cache;
      logp = r.logp;
    }
  } finally {
    disposeCache(cache);
  }
  return beams.map((row, b) => {
    const pool = [...finished[b]!];
    if (!rowDone[b]) for (const h of row) if (h.score > -Infinity) pool.push({ tokens: h.tokens, score: norm(closing(b, h), Math.max(1, h.tokens.length)), att: h.att });
    pool.sort((x, y) => y.score - x.score);
    return pool.map((h) => ({ tokens: h.tokens, score: h.score }));
  });
}

export interface TranscribeOptions {
  /** 1 = greedy. The paper decodes with 15 beams. */
  beamWidth?: number;
  /** The paper allows 32 new tokens. */
  maxNewTokens?: number;
  lengthPenalty?: number;
  /** Joint CTC/attention decoding: one scorer per sample and λ (beam search, also at width 1). */
  ctc?: JointCtc;
}

/** Token ids of the transcripts of a batch of samples for one task at one rate pair (no EOS). */
export function transcribe(model: AvsrModel, samples: readonly AvsrSample[], task: Task, rates: Rates, opts: TranscribeOptions = {}): number[][] {
  const K = opts.beamWidth ?? 1;
  const joint = opts.ctc && opts.ctc.weight > 0;
  if (K <= 1 && !joint) {
    const prefix = model.decodePrefix(samples, task, rates);
    try {
      return greedyDecode(model.llm, prefix, { maxNewTokens: opts.maxNewTokens ?? 32, eosId: EOS_ID, ctx: model.contextFor(task) });
    } finally {
      prefix.embeds.dispose();
    }
  }
  return transcribeNBest(model, samples, task, rates, opts).map((pool) => pool[0]?.tokens ?? []);
}

/** The beam search's ranked hypotheses (token ids without EOS, best first) for each sample. */
export function transcribeNBest(model: AvsrModel, samples: readonly AvsrSample[], task: Task, rates: Rates, opts: TranscribeOptions = {}): RankedHypothesis[][] {
  const prefix = model.decodePrefix(samples, task, rates);
  try {
    const base = { maxNewTokens: opts.maxNewTokens ?? 32, eosId: EOS_ID, ctx: model.contextFor(task) };
    return beamSearchNBest(model.llm, prefix, { ...base, beamWidth: Math.max(1, opts.beamWidth ?? 1), lengthPenalty: opts.lengthPenalty, ctc: opts.ctc });
  } finally {
    prefix.embeds.dispose();
  }
}
