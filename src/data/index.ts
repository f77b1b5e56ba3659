/**
 * Data: the synthetic LRS-like corpus (generator and loader), real LRS2/LRS3 loaders with the same
 * interface, transcripts, noise for a dataset, batching and the AV sync check.
 *
 * Dataset interface (synthetic and real alike):
 *   interface AvDataset {
 *     name; sampleRate (16000); fps (25); videoSize;
 *     utterances(split?: "train" | "val" | "test"): Utterance[]   // { id, split, speaker, text,
 *                                                                 //   durationS, numSamples, videoFrames }
 *     get(id): Utterance
 *     loadAudio(id): Promise<Float32Array>                        // 16 kHz mono
 *     loadVideo(id, { size? }): Promise<Clip>                     // [T, H, W] in [0, 1], 25 fps
 *   }
 *   loadAvPair(ds, id, { size?, toleranceFrames = 2 }) -> { utterance, audio, video }
 *       audio length = 640 x video frames; mismatches up to the tolerance are trimmed (reported),
 *       larger ones throw a DataError naming the utterance
 *
 *   await openCorpus("smoke" | "default", { generateIfMissing?, videoSize? }) -> SyntheticCorpus
 *   await SyntheticCorpus.open(dir, { videoSize = 88 })   also: loadAudioSync, loadVideoSync,
 *                                                          alignment(id), lmText(), speakers, config
 *   await LrsDataset.open({ root, dataset: "lrs2" | "lrs3", subset, segSeconds = 24, onBadUtterance })
 *   await generateCorpus(presetConfig(name, { seed }), { outDir?, workers? })   (npm run corpus)
 *   await createNoiseBank(ds, { sources = 64, seed })     babble from training utterances only
 *   frameBudgetBatches(lengths, { frameBudget, maxBatchSize?, shuffle?, seed? }) -> { batches, oversize }
 *   normalizeTranscript(text, id) -> "lower case words" or TranscriptError naming the utterance
 *   homopheneStats(lexicon, words), buildLexicon(synth, words)
 *   laggedCorrelation / mouthOpeningFromFrames / audioEnvelope   (AV sync check)
 *   audioPlayerHtml / frameStripFigure / timelineFigure / spectrogramStripFigure   (notebook views)
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { presetConfig } from "./config.js";
import { SyntheticCorpus, type SyntheticOpenOptions } from "./dataset.js";
import { defaultCorpusDir, generateCorpus } from "./generate.js";

export { PRESETS, RECIPE_VERSION, presetConfig, type CorpusConfig } from "./config.js";
export {
  SyntheticCorpus,
  DataError,
  loadAvPair,
  SAMPLES_PER_VIDEO_FRAME,
  type AvDataset,
  type Utterance,
  type VideoOptions,
  type AvPair,
  type AvPairOptions,
  type Split,
  type SyntheticOpenOptions,
} from "./dataset.js";
export { LrsDataset, type LrsOptions } from "./lrs.js";
export { generateCorpus, finalizeCorpus, defaultCorpusDir, folderBytes, type GenerateOptions, type GenerateResult, type CorpusStats } from "./generate.js";
export { MANIFEST_COLUMNS, readManifest, ManifestError, type ManifestRow } from "./manifest.js";
export { buildPlan, SPLITS, type CorpusPlan, type PlannedUtterance } from "./plan.js";
export { drawSpeakers, ENGLISH_VOICES, VARIANTS, type Speaker } from "./speakers.js";
export { EspeakSynth, type VoiceParams, type Synthesis, type TimedPhoneme, type TimedWord } from "./tts.js";
export { normalizeTranscript, isNormalizedTranscript, TranscriptError, TRANSCRIPT_PATTERN, readBrownSentences, buildSentencePool } from "./text.js";
export { buildLmText, LeakDetector } from "./lm-text.js";
export { buildLexicon, homopheneStats, type Lexicon, type HomopheneStats } from "./lexicon.js";
export { frameBudgetBatches, type FrameBudgetOptions } from "./batching.js";
export { createNoiseBank } from "./noise-bank.js";
export { mouthOpeningFromFrames, audioEnvelope, laggedCorrelation, pearson } from "./sync.js";
export { SAMPLES_PER_FRAME, type AlignFile } from "./utterance.js";
export { audioPlayerHtml, frameStripFigure, timelineFigure, spectrogramStripFigure } from "./views.js";

/**
 * Opens data/<preset>/ (relative to the working directory, or `dir`), generating it first when it is
 * missing and `generateIfMissing` is set (notebooks use this with the smoke preset).
 */
export async function openCorpus(
  preset: string,
  opts: SyntheticOpenOptions & { generateIfMissing?: boolean; dir?: string; seed?: number } = {},
): Promise<SyntheticCorpus> {
  const dir = opts.dir ?? defaultCorpusDir(preset);
  if (!existsSync(join(dir, "manifest.csv"))) {
    if (!opts.generateIfMissing) throw new Error(`no corpus at ${dir}: run \`npm run corpus -- --preset ${preset}\``);
    await generateCorpus(presetConfig(preset, opts.seed !== undefined ? { seed: opts.seed } : {}), { outDir: dir });
  }
  return SyntheticCorpus.open(dir, opts);
}
