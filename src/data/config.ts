/**
 * Corpus presets. `default` is sized for CPU training on two cores (short utterances, a capped
 * vocabulary that still has homophenes); `smoke` is about 100 utterances for tests and notebooks.
 */

export interface CorpusConfig {
  preset: string;
  seed: number;
  /** Validation and test transcripts use only the `vocabSize` most frequent Brown words. */
  vocabSize: number;
  /**
   * Training transcripts may use the `trainVocabSize` most frequent words (absent: `vocabSize`). Brown
   * has only ~2,600 sentences of 4-14 words within 1,500 words, so with the narrow cap 8,000 training
   * utterances repeat each sentence ~4 times and the adapters learn the sentences rather than the
   * speech (README, Status). A wider training cap gives more distinct sentences while validation and
   * test stay exactly as they were.
   */
  trainVocabSize?: number;
  minWords: number;
  maxWords: number;
  trainSpeakers: number;
  /** Test speakers never appear in train or val (as LRS3's test set). */
  testSpeakers: number;
  trainUtterances: number;
  /** Validation: seen speakers, unseen sentences. */
  valUtterances: number;
  /** Test: unseen speakers, unseen sentences. */
  testUtterances: number;
  valSentences: number;
  testSentences: number;
  /** Silence before the first and after the last phoneme, seconds (uniform range). */
  padSeconds: [number, number];
  /** Version of the generator recipe; bump when output bytes change. */
  recipe: number;
  /**
   * A voice bank instead of a corpus: `speakers` further voices (after the train and test speakers of
   * the same seed, so none shares a (voice, variant) pair with them) read `utterances` training
   * sentences of the corpus `base` (the same fields less this one). It holds training utterances only
   * (ids `bank-NNNNN`), no val or test, and is used to pretrain the audio encoder
   * (`EncoderTrainConfig.extraTrain`), never by the LLM runs.
   * Why: the default corpus has 60 training voices. The audio encoder reads five of the ten unseen
   * test voices badly (phone error 19-32 % against 3-7 %; README, "Speaker augmentation"), and
   * speaker augmentation did not close that gap. The paper's encoders (Whisper, AV-HuBERT) were
   * pretrained on far more speakers than LRS3's training set; a bank of further synthetic voices is
   * this corpus's counterpart.
   */
  voiceBank?: { base: string; speakers: number; utterances: number };
}

export const RECIPE_VERSION = 1;

const base = {
  seed: 1,
  vocabSize: 1500,
  minWords: 4,
  maxWords: 14,
  padSeconds: [0.1, 0.25] as [number, number],
  recipe: RECIPE_VERSION,
};

export const PRESETS: Record<string, CorpusConfig> = {
  smoke: {
    ...base,
    preset: "smoke",
    trainSpeakers: 6,
    testSpeakers: 2,
    trainUtterances: 64,
    valUtterances: 12,
    testUtterances: 24,
    valSentences: 12,
    testSentences: 16,
  },
  default: {
    ...base,
    preset: "default",
    trainSpeakers: 60,
    testSpeakers: 10,
    trainUtterances: 8000,
    valUtterances: 300,
    testUtterances: 1000,
    valSentences: 150,
    testSentences: 400,
  },
};

/** The voice banks: every (voice, variant) pair the base corpus leaves free (288 - 70 for default). */
PRESETS["default-voicebank"] = { ...PRESETS.default!, preset: "default-voicebank", voiceBank: { base: "default", speakers: 218, utterances: 8000 } };
PRESETS["smoke-voicebank"] = { ...PRESETS.smoke!, preset: "smoke-voicebank", voiceBank: { base: "smoke", speakers: 4, utterances: 12 } };

export function presetConfig(name: string, overrides: Partial<CorpusConfig> = {}): CorpusConfig {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown corpus preset ${JSON.stringify(name)} (known: ${Object.keys(PRESETS).join(", ")})`);
  return { ...p, ...overrides, preset: overrides.preset ?? p.preset };
}
