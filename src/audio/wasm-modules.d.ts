// Minimal typings for the Emscripten-built audio packages (they ship none). Only what we call.
interface EmscriptenHeaps {
  HEAPU8: Uint8Array;
  HEAP16: Int16Array;
  HEAP32: Int32Array;
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

declare module "@echogarden/kissfft-wasm" {
  export interface KissFftModule extends EmscriptenHeaps {
    _kiss_fftr_alloc(nfft: number, inverse: number, mem: number, lenmem: number): number;
    _kiss_fftr(cfg: number, timedata: number, freqdata: number): void;
  }
  const create: (opts?: object) => Promise<KissFftModule>;
  export default create;
}

declare module "@echogarden/speex-resampler-wasm" {
  export interface SpeexModule extends EmscriptenHeaps {
    _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
    _speex_resampler_process_float(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
    _speex_resampler_skip_zeros(st: number): number;
    _speex_resampler_get_input_latency(st: number): number;
    _speex_resampler_destroy(st: number): void;
  }
  const create: (opts?: object) => Promise<SpeexModule>;
  export default create;
}

declare module "@echogarden/espeak-ng-emscripten" {
  export interface EspeakEvent {
    type: string;
    text_position: number;
    word_length: number;
    audio_position: number;
    id: string | number | undefined;
  }
  export interface EspeakWorker {
    set_voice(name: string): number;
    set_rate(wpm: number): void;
    set_pitch(p: number): void;
    set_range(r: number): void;
    get_samplerate(): number;
    synthesize(text: string, cb: (pcm: Int16Array | undefined, events: EspeakEvent[]) => number): void;
    convert_to_phonemes(text: string, ipa: boolean): { ptr: number };
  }
  export interface EspeakModule extends EmscriptenHeaps {
    eSpeakNGWorker: new () => EspeakWorker;
  }
  const create: (opts?: object) => Promise<EspeakModule>;
  export default create;
}
