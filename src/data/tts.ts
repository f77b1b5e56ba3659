/**
 * espeak-ng in process (npm @echogarden/espeak-ng-emscripten, WASM), with per-phoneme timings.
 *
 * Determinism: espeak-ng keeps state across calls (pitch flutter phase, noise generator, buffers), so
 * the same text and voice give slightly different samples depending on what was synthesised before.
 * A corpus must not depend on which worker made an utterance or on a resume point, so after start-up
 * we copy the whole WASM memory once and restore it before every call: each synthesis then starts from
 * the identical machine state (about 1 ms for the copy). The JS side keeps a string buffer whose pointer
 * lives outside WASM memory; we grow it to 4 KiB before the snapshot so it never reallocates later.
 */
import createEspeak, { type EspeakEvent, type EspeakModule, type EspeakWorker } from "@echogarden/espeak-ng-emscripten";

export interface VoiceParams {
  /** espeak voice, e.g. "en-us", "en-gb-x-rp". */
  voice: string;
  /** espeak variant name (file in voices/!v), e.g. "m3", "f2", "klatt"; "" for none. */
  variant: string;
  /** Words per minute. */
  rate: number;
  /** Base pitch 0..100. */
  pitch: number;
  /** Pitch range 0..100. */
  range: number;
}

export interface TimedPhoneme {
  /** espeak IPA symbol with stress marks removed ("aɪ", "ɹ"); "" is a pause. */
  symbol: string;
  /** Seconds from the start of the returned audio. */
  start: number;
  end: number;
}

export interface TimedWord {
  word: string;
  start: number;
  end: number;
}

export interface Synthesis {
  pcm: Int16Array;
  sampleRate: number;
  phonemes: TimedPhoneme[];
  words: TimedWord[];
}

const MAX_TEXT = 4000;

export function stripStress(ipa: string): string {
  return ipa.replace(/[ˈˌ]/g, "");
}

export class EspeakSynth {
  private constructor(
    private readonly m: EspeakModule,
    private readonly w: EspeakWorker,
    private readonly snapshot: Uint8Array,
  ) {}

  static async create(): Promise<EspeakSynth> {
    const m = await createEspeak();
    const w = new m.eSpeakNGWorker();
    const long = "x".repeat(MAX_TEXT);
    w.set_voice(long); // fails (no such voice) but sizes the string buffer; twice: grow, then reuse
    w.set_voice(long);
    if (w.set_voice("en-us") !== 0) throw new Error("espeak-ng: voice en-us not available");
    w.synthesize("a", () => 0);
    w.convert_to_phonemes("a", true);
    return new EspeakSynth(m, w, m.HEAPU8.slice());
  }

  private restore(): void {
    const heap = this.m.HEAPU8;
    heap.set(this.snapshot);
    if (heap.length > this.snapshot.length) heap.fill(0, this.snapshot.length);
  }

  private setVoice(v: VoiceParams): void {
    const name = v.variant ? `${v.voice}+${v.variant}` : v.voice;
    const code = this.w.set_voice(name);
    if (code !== 0) throw new Error(`espeak-ng: cannot set voice ${name} (code ${code})`);
    this.w.set_rate(v.rate);
    this.w.set_pitch(v.pitch);
    this.w.set_range(v.range);
  }

  /** Synthesises `text` (normalised words) with per-phoneme and per-word timings. */
  synthesize(text: string, voice: VoiceParams): Synthesis {
    if (text.length >= MAX_TEXT) throw new RangeError(`espeak: text longer than ${MAX_TEXT} characters`);
    this.restore();
    this.setVoice(voice);
    const sampleRate = this.w.get_samplerate();
    const chunks: Int16Array[] = [];
    const events: EspeakEvent[] = [];
    this.w.synthesize(text, (pcm, evs) => {
      if (pcm && pcm.length) chunks.push(pcm);
      for (const e of evs) if (e.type === "phoneme" || e.type === "word" || e.type === "end") events.push(e);
      return 0;
    });
    const total = chunks.reduce((s, c) => s + c.length, 0);
    const pcm = new Int16Array(total);
    let off = 0;
    for (const c of chunks) {
      pcm.set(c, off);
      off += c.length;
    }
    const dur = total / sampleRate;
    const sec = (e: EspeakEvent) => Math.min(dur, e.audio_position / 1000);
    // Phonemes: each lasts until the next phoneme (or the end); remember which word event it follows.
    const phonemes: TimedPhoneme[] = [];
    const groupOf: number[] = [];
    const groups: Array<{ textPos: number; start: number }> = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.type === "word") {
        groups.push({ textPos: e.text_position - 1, start: sec(e) });
        continue;
      }
      if (e.type !== "phoneme") continue;
      let next: EspeakEvent | undefined;
      for (let j = i + 1; j < events.length; j++) {
        if (events[j]!.type !== "word") {
          next = events[j];
          break;
        }
      }
      const start = sec(e);
      const end = next ? sec(next) : dur;
      const symbol = stripStress(String(e.id ?? ""));
      if (end <= start && symbol === "") continue; // zero-length pause markers at the end
      phonemes.push({ symbol, start, end: Math.max(end, start) });
      groupOf.push(groups.length - 1);
    }
    const words = this.wordTimings(text, voice.voice, groups, phonemes, groupOf);
    return { pcm, sampleRate, phonemes, words };
  }

  /**
   * espeak reports one word event per prosodic word, and joins some function words with their
   * neighbour ("that it", "of the"). Each event is mapped to the tokens its text span covers; a group of
   * several tokens is split at phoneme boundaries using each token's dictionary phoneme count (or
   * evenly by letters when the counts disagree with what was spoken).
   */
  private wordTimings(
    text: string,
    voice: string,
    groups: Array<{ textPos: number; start: number }>,
    phonemes: TimedPhoneme[],
    groupOf: number[],
  ): TimedWord[] {
    const tokens = text.split(" ");
    const tokenStart: number[] = [];
    let pos = 0;
    for (const t of tokens) {
      tokenStart.push(pos);
      pos += t.length + 1;
    }
    const tokenGroup = tokens.map((_, i) => {
      let g = -1;
      for (let k = 0; k < groups.length; k++) if (groups[k]!.textPos <= tokenStart[i]!) g = k;
      return Math.max(0, g);
    });
    const words: TimedWord[] = [];
    for (let g = 0; g < groups.length; g++) {
      const members = tokens.map((t, i) => ({ t, i })).filter((x) => tokenGroup[x.i] === g);
      if (members.length === 0) continue;
      const phs = phonemes.filter((p, k) => groupOf[k] === g && p.symbol !== "");
      const gStart = phs[0]?.start ?? groups[g]!.start;
      const gEnd = phs.at(-1)?.end ?? gStart;
      if (members.length === 1 || phs.length === 0) {
        const step = (gEnd - gStart) / members.length;
        members.forEach((m, k) => words.push({ word: m.t, start: gStart + k * step, end: gStart + (k + 1) * step }));
        continue;
      }
      let counts = members.map((m) => this.phonemeCount(m.t, voice));
      if (counts.reduce((a, b) => a + b, 0) !== phs.length) {
        const letters = members.reduce((a, m) => a + m.t.length, 0);
        counts = members.map((m) => Math.max(1, Math.round((m.t.length / letters) * phs.length)));
        counts[counts.length - 1] = Math.max(1, phs.length - counts.slice(0, -1).reduce((a, b) => a + b, 0));
      }
      let k = 0;
      members.forEach((m, idx) => {
        const first = phs[Math.min(k, phs.length - 1)]!;
        k += counts[idx]!;
        const last = phs[Math.min(k, phs.length) - 1] ?? first;
        words.push({ word: m.t, start: first.start, end: idx === members.length - 1 ? gEnd : Math.max(first.start, last.end) });
      });
    }
    if (words.length !== tokens.length) {
      throw new Error(`espeak: word timing failed for ${JSON.stringify(text)} (${words.length} of ${tokens.length} words)`);
    }
    return words;
  }

  private readonly countCache = new Map<string, number>();
  private phonemeCount(word: string, voice: string): number {
    const key = `${voice} ${word}`;
    let n = this.countCache.get(key);
    if (n === undefined) {
      n = this.phonemize(word, voice).length;
      this.countCache.set(key, n);
    }
    return n;
  }

  /** Pronunciation of one word as stress-free IPA phonemes (espeak's en-us lexicon and rules). */
  phonemize(word: string, voice = "en-us"): string[] {
    // No snapshot restore here: text-to-phoneme translation has no random state, and every
    // synthesis restores the snapshot before it starts anyway.
    if (this.w.set_voice(voice) !== 0) throw new Error(`espeak-ng: cannot set voice ${voice}`);
    const ptr = this.w.convert_to_phonemes(word, true).ptr;
    const heap = this.m.HEAPU8;
    let end = ptr;
    while (heap[end] !== 0) end++;
    const ipa = Buffer.from(heap.subarray(ptr, end)).toString("utf8").trim();
    return ipa
      .split(/[_\s]+/)
      .map(stripStress)
      .filter((p) => p.length > 0);
  }
}
