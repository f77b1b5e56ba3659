/**
 * The pretraining data of one preset and modality (PretrainData: corpus, unit inventory, babble noise,
 * LM tokeniser), the encoder input of an utterance, and the frame-budget batches of an epoch.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openCorpus, createNoiseBank, frameBudgetBatches, type SyntheticCorpus, type Utterance } from "../../data/index.js";
import type { NoiseBank } from "../../audio/noise.js";
import { BpeTokenizer } from "../../text/tokenizer.js";
import { repoRoot } from "../../util/paths.js";
import { Rng, hashSeed } from "../../util/rng.js";
import { audioInput, phonemeInventory, videoInput, visemeInventory, type EncoderInput, type EncoderModality, type UnitInventory } from "../encoder-data.js";
import type { EncoderSpec } from "./config.js";
import { AudioEncoder } from "../../models/encoders.js";
import { WHISPER_MEL } from "../../audio/features.js";

export interface PretrainData {
  ds: SyntheticCorpus;
  inventory: UnitInventory;
  noise?: NoiseBank;
  /** The LM tokeniser, when the spec has a sub-word objective. */
  tokenizer?: BpeTokenizer;
  tokenizerPath?: string;
  /** The voice bank whose utterances `ds` holds in its train split (spec.train.extraTrain), if any. */
  bank?: SyntheticCorpus;
}

export function loadInput(d: PretrainData, spec: EncoderSpec, id: string, rng?: Rng, snrDb?: number | null): EncoderInput {
  if (spec.modality === "video") return videoInput(d.ds, id, spec.videoSize, rng && spec.train.videoAugment ? { config: spec.train.videoAugment, rng } : undefined);
  const noise = (rng && spec.train.noiseAug) || snrDb !== undefined ? d.noise : undefined;
  return audioInput(d.ds, id, { noise, rng, snrDb, augment: rng ? spec.train.augment : undefined });
}

/** Input frames of an utterance without loading it (mel: 4 per video frame). */
export function inputFramesOf(spec: EncoderSpec, u: Utterance): number {
  return inputFramesOfModality(spec.modality, u);
}

function inputFramesOfModality(modality: EncoderModality, u: Utterance): number {
  return modality === "audio" ? Math.floor(u.numSamples / WHISPER_MEL.hop) : u.videoFrames;
}

/**
 * Frames of the frozen encoder's output for an utterance, from its manifest row alone (no audio read):
 * what the feature cache holds for it, in every noise condition (audio: half the log-mel frames, video:
 * one per frame).
 */
export function encoderOutputFrames(modality: EncoderModality, u: Utterance): number {
  const input = inputFramesOfModality(modality, u);
  return modality === "audio" ? AudioEncoder.outputLength(input) : input;
}

/** Batches (lists of utterance indices) of epoch `e`: frame-budget buckets, shuffled from (seed, e). */
export function epochBatches(spec: EncoderSpec, utts: readonly Utterance[], seed: number, e: number): number[][] {
  return frameBudgetBatches(
    utts.map((u) => inputFramesOf(spec, u)),
    { frameBudget: spec.train.frameBudget, maxBatchSize: spec.train.maxBatch, shuffle: true, seed: hashSeed("encoder-epoch", seed, e) },
  ).batches;
}

/**
 * The corpus of `preset` (at `corpusDir`, default data/<preset>/), its unit inventory and babble bank,
 * and, when `spec.train.extraTrain` names a voice bank (at `extraDir`, default data/<extraTrain>/), the
 * bank's utterances added to the train split after the inventory and babble are taken from the corpus
 * alone, so both are what they would be without the bank.
 */
export async function openPretrainData(preset: string, modality: EncoderModality, spec: EncoderSpec, corpusDir?: string, extraDir?: string): Promise<PretrainData> {
  const base = await openCorpus(preset, { dir: corpusDir, videoSize: spec.videoSize });
  const inventory = modality === "audio" ? phonemeInventory(base) : visemeInventory();
  const noise = modality === "audio" ? await createNoiseBank(base, { seed: 0 }) : undefined;
  let ds = base;
  let bank: SyntheticCorpus | undefined;
  if (spec.train.extraTrain) {
    if (modality !== "audio") throw new Error(`${modality} encoder: train.extraTrain (a voice bank) applies to the audio encoder only`);
    bank = await openCorpus(spec.train.extraTrain, { dir: extraDir, videoSize: spec.videoSize });
    ds = base.withExtraTraining(bank);
  }
  if (!spec.train.subword) return { ds, inventory, noise, bank };
  const tokenizerPath = join(repoRoot(), "checkpoints", "lm", preset, "tokenizer.json");
  if (!existsSync(tokenizerPath)) throw new Error(`${modality} encoder: the sub-word objective needs the LM tokeniser ${tokenizerPath}: run \`npm run pretrain:lm -- --preset ${preset}\` first`);
  return { ds, inventory, noise, bank, tokenizer: BpeTokenizer.fromJSON(readFileSync(tokenizerPath, "utf8")), tokenizerPath };
}
