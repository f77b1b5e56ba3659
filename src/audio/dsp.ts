/**
 * The two WASM DSP kernels the audio code uses, loaded once per process:
 *  - KISS FFT (npm @echogarden/kissfft-wasm): mixed-radix real FFT, so the Whisper-like 400-point
 *    (25 ms) frame is transformed exactly, without padding to a power of two.
 *  - Speex resampler (npm @echogarden/speex-resampler-wasm): band-limited resampling for espeak's
 *    22.05 kHz output and for repairing WAV files at a wrong rate.
 * Emscripten modules load asynchronously, so `await initAudio()` once before calling the synchronous
 * functions (the dataset classes do it for you); calling them earlier throws an error that says so.
 */
import createKissFft, { type KissFftModule } from "@echogarden/kissfft-wasm";
import createSpeex, { type SpeexModule } from "@echogarden/speex-resampler-wasm";

let kiss: KissFftModule | undefined;
let speex: SpeexModule | undefined;
let loading: Promise<void> | undefined;

/** Loads the WASM kernels (idempotent). */
export function initAudio(): Promise<void> {
  loading ??= (async () => {
    [kiss, speex] = await Promise.all([createKissFft(), createSpeex()]);
  })();
  return loading;
}

function need<T>(m: T | undefined): T {
  if (!m) throw new Error("audio DSP not initialised: call `await initAudio()` first");
  return m;
}

/** Real FFT of a fixed size `n` (even). `forward(x)` returns interleaved [re0, im0, ..., re_{n/2}, im_{n/2}]. */
export class RealFft {
  private readonly cfg: number;
  private readonly inPtr: number;
  private readonly outPtr: number;
  private readonly m: KissFftModule;

  constructor(readonly n: number) {
    if (n % 2 !== 0 || n < 2) throw new RangeError(`RealFft: size ${n} must be even`);
    this.m = need(kiss);
    this.cfg = this.m._kiss_fftr_alloc(n, 0, 0, 0);
    if (!this.cfg) throw new Error(`RealFft: kiss_fftr_alloc(${n}) failed`);
    this.inPtr = this.m._malloc(4 * n);
    this.outPtr = this.m._malloc(4 * (n + 2));
  }

  /** Power spectrum |X_k|^2 for k = 0..n/2 into `out` (length n/2+1). */
  power(frame: Float32Array, out: Float32Array): void {
    const heap = this.m.HEAPF32;
    heap.set(frame.subarray(0, this.n), this.inPtr >> 2);
    this.m._kiss_fftr(this.cfg, this.inPtr, this.outPtr);
    const o = this.m.HEAPF32;
    const base = this.outPtr >> 2;
    for (let k = 0; k <= this.n / 2; k++) {
      const re = o[base + 2 * k]!;
      const im = o[base + 2 * k + 1]!;
      out[k] = re * re + im * im;
    }
  }
}

/**
 * Resamples mono float audio from `fromRate` to `toRate` (Speex quality 0..10, default 8). The output
 * has exactly round(length * toRate / fromRate) samples and no added delay (the filter's latency is
 * skipped at the start and flushed with zeros at the end).
 */
export function resample(x: Float32Array, fromRate: number, toRate: number, quality = 8): Float32Array {
  if (fromRate === toRate) return x.slice();
  const m = need(speex);
  const outLen = Math.round((x.length * toRate) / fromRate);
  const errPtr = m._malloc(4);
  const st = m._speex_resampler_init(1, fromRate, toRate, quality, errPtr);
  m._free(errPtr);
  if (!st) throw new Error(`resample: speex init failed for ${fromRate} -> ${toRate}`);
  try {
    m._speex_resampler_skip_zeros(st);
    const latency = m._speex_resampler_get_input_latency(st);
    const input = new Float32Array(x.length + latency + 16);
    input.set(x);
    const capacity = outLen + 64;
    const inPtr = m._malloc(4 * input.length);
    const outPtr = m._malloc(4 * capacity);
    const lenPtrs = m._malloc(8);
    try {
      m.HEAPF32.set(input, inPtr >> 2);
      m.HEAP32[lenPtrs >> 2] = input.length;
      m.HEAP32[(lenPtrs >> 2) + 1] = capacity;
      m._speex_resampler_process_float(st, 0, inPtr, lenPtrs, outPtr, lenPtrs + 4);
      const produced = m.HEAP32[(lenPtrs >> 2) + 1]!;
      const out = new Float32Array(outLen);
      out.set(m.HEAPF32.subarray(outPtr >> 2, (outPtr >> 2) + Math.min(outLen, produced)));
      return out;
    } finally {
      m._free(inPtr);
      m._free(outPtr);
      m._free(lenPtrs);
    }
  } finally {
    m._speex_resampler_destroy(st);
  }
}
