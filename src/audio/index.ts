/**
 * Audio: WAV I/O with a repair-or-error policy, resampling, Whisper-like log-mel features, noise.
 *
 *   await initAudio()                                  load the WASM FFT and resampler (once)
 *   readWav(path, opts?) -> { samples, sampleRate, repairs }
 *       16 kHz mono Float32Array; wrong rate -> resampled, multi-channel -> downmixed (each reported
 *       with the file name); corrupt/truncated/empty -> AudioFileError naming the file
 *   decodeWav(bytes, name) / conformAudio(decoded, name, opts) / encodeWav16(x) / writeWav16(path, x)
 *   resample(x, fromRate, toRate, quality = 8) -> Float32Array  (Speex; no added delay)
 *   logMel(audio, cfg = WHISPER_MEL) -> { data, frames, bins }  [floor(n/160), 80], row-major
 *   melPower / melFilterbank / hannWindow / hzToMel / melToHz  (the pieces, for tests and plots)
 *   mixAtSnr(clean, noise, snrDb) -> Float32Array            exact SNR over the utterance
 *   measureSnr(clean, mixture) -> dB
 *   new NoiseBank({ babbleSources, musicDir? })
 *       .babble(len, rng) | .white | .musicNoise | .noise(kind, len, rng)
 *       .mixForEval(clean, uttId, kind, snrDb, seed = 0)      deterministic per (id, kind, snr, seed)
 *       .augment(clean, rng, kind = "babble", snrs = TRAIN_SNRS) -> { audio, snrDb | null }
 *   (the data layer's createNoiseBank(dataset) picks babble sources outside the test set)
 */
export { initAudio, resample, RealFft } from "./dsp.js";
export {
  SAMPLE_RATE,
  AudioFileError,
  decodeWav,
  conformAudio,
  readWav,
  encodeWav16,
  writeWav16,
  type DecodedWav,
  type ReadAudioOptions,
  type LoadedAudio,
} from "./wav.js";
export { WHISPER_MEL, logMel, melPower, melFilterbank, hannWindow, hzToMel, melToHz, type MelConfig, type Features } from "./features.js";
export {
  TRAIN_SNRS,
  MUSIC_DIR,
  NoiseBank,
  mixAtSnr,
  measureSnr,
  loopTo,
  whiteNoise,
  power,
  type NoiseKind,
  type NoiseBankOptions,
} from "./noise.js";
