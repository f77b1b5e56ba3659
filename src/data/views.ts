/**
 * Views of the corpus for notebooks: HTML audio players and plotly figure specs (frame strips, the
 * viseme timeline beside the spectrogram, durations, homophenes, SNR sweeps, AV sync). Pure functions
 * returning HTML strings or Figure objects; showing them is src/plot's job.
 */
import { encodeWav16 } from "../audio/wav.js";
import { logMel } from "../audio/features.js";
import type { Figure, Trace } from "../plot/figure.js";
import { mouthTrack } from "../video/render.js";
import type { Clip } from "../video/transforms.js";
import type { SyntheticCorpus } from "./dataset.js";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An <audio> element with the clip embedded as a base64 WAV. */
export function audioPlayerHtml(audio: Float32Array, label: string, sampleRate = 16000): string {
  const b64 = Buffer.from(encodeWav16(audio, sampleRate)).toString("base64");
  return `<div style="margin:4px 0"><code>${esc(label)}</code><br><audio controls src="data:audio/wav;base64,${b64}"></audio></div>`;
}

/** Every `step`-th frame side by side, as a grayscale heatmap. */
export function frameStripFigure(c: Clip, opts: { step?: number; maxFrames?: number; title?: string } = {}): Figure {
  const step = opts.step ?? 2;
  const idx = [];
  for (let t = 0; t < c.frames && idx.length < (opts.maxFrames ?? 16); t += step) idx.push(t);
  const z: number[][] = [];
  for (let i = 0; i < c.height; i++) {
    const row: number[] = [];
    for (const t of idx) {
      for (let j = 0; j < c.width; j++) row.push(c.data[(t * c.height + i) * c.width + j]!);
      row.push(1); // white separator column
    }
    z.push(row);
  }
  const w = idx.length * (c.width + 1);
  return {
    data: [{ type: "heatmap", z, colorscale: [[0, "rgb(0,0,0)"], [1, "rgb(255,255,255)"]], zmin: 0, zmax: 1, showscale: false }],
    layout: {
      title: { text: opts.title ?? `frames ${idx.join(", ")} (every ${step === 1 ? "" : `${step}. `}frame at 25 fps)` },
      width: Math.min(1400, 60 + w * 3),
      height: 60 + c.height * 3 + 40,
      margin: { l: 20, r: 20, t: 50, b: 20 },
      xaxis: { visible: false, scaleanchor: "y", constrain: "domain" },
      yaxis: { visible: false, autorange: "reversed" },
    },
  };
}

/**
 * Log-mel spectrogram (top), viseme segments as labelled bars and the rendered mouth opening
 * (bottom), on one time axis: shows that lips and sound carry the same timing.
 */
export function timelineFigure(ds: SyntheticCorpus, id: string, audio: Float32Array): Figure {
  const a = ds.alignment(id);
  const mel = logMel(audio);
  const z: number[][] = [];
  for (let m = 0; m < mel.bins; m++) z.push(Array.from({ length: mel.frames }, (_, t) => mel.data[t * mel.bins + m]!));
  const tMel = Array.from({ length: mel.frames }, (_, t) => t * 0.01);
  const spk = ds.speakers.find((s) => s.id === a.speaker)!;
  const visemes = a.visemes.map(([viseme, start, end]) => ({ viseme, start, end }));
  const track = mouthTrack(visemes, spk.appearance, a.render, a.numFrames);
  const tVid = track.map((_, f) => (f + 0.5) / 25);
  const traces: Trace[] = [
    { type: "heatmap", x: tMel, z, colorscale: "Viridis", showscale: false, yaxis: "y", name: "log-mel" },
    { type: "scatter", mode: "lines+markers", x: tVid, y: track.map((s) => s.open), yaxis: "y2", name: "mouth opening (video clock)" },
  ];
  const shapes = a.visemes.map(([, s, e], k) => ({
    type: "rect", xref: "x", yref: "y3", x0: s, x1: e, y0: 0, y1: 1,
    fillcolor: k % 2 ? "rgba(100,100,200,0.25)" : "rgba(200,120,80,0.25)", line: { width: 0 },
  }));
  const annotations = a.visemes
    .filter(([v]) => v !== "sil")
    .map(([v, s, e]) => ({ x: (s + e) / 2, y: 0.5, xref: "x", yref: "y3", text: v, showarrow: false, font: { size: 9 } }));
  const words = a.words.map(([w, s, e]) => ({ x: (s + e) / 2, y: 1.12, xref: "x", yref: "y3", text: `<b>${w}</b>`, showarrow: false, font: { size: 11 } }));
  return {
    data: traces,
    layout: {
      title: { text: `${id}: "${a.text}" (${a.speaker}, ${a.tts.voice}+${a.tts.variant}, AV offset ${(a.render.avOffset * 1000).toFixed(0)} ms)` },
      width: 1100,
      height: 560,
      template: "plotly_white",
      margin: { l: 60, r: 20, t: 60, b: 50 },
      xaxis: { title: { text: "time (s)" }, range: [0, a.numSamples / a.sampleRate], anchor: "y2" },
      yaxis: { domain: [0.5, 1], title: { text: "mel bin" } },
      yaxis2: { domain: [0, 0.28], title: { text: "opening" }, range: [0, 1] },
      yaxis3: { domain: [0.3, 0.42], visible: false, range: [0, 1.3] },
      shapes,
      annotations: [...annotations, ...words],
      showlegend: false,
    },
  };
}

/** Log-mel spectrograms of several versions of one utterance side by side (e.g. SNR sweep). */
export function spectrogramStripFigure(items: Array<{ label: string; audio: Float32Array }>, title: string): Figure {
  const z: number[][] = Array.from({ length: 80 }, () => []);
  const ticks: number[] = [];
  for (const it of items) {
    const mel = logMel(it.audio);
    ticks.push(z[0]!.length + mel.frames / 2);
    for (let m = 0; m < 80; m++) {
      for (let t = 0; t < mel.frames; t++) z[m]!.push(mel.data[t * 80 + m]!);
      for (let k = 0; k < 8; k++) z[m]!.push(NaN);
    }
  }
  return {
    data: [{ type: "heatmap", z, colorscale: "Viridis", showscale: false }],
    layout: {
      title: { text: title },
      width: 1200,
      height: 320,
      margin: { l: 50, r: 20, t: 50, b: 40 },
      xaxis: { tickvals: ticks, ticktext: items.map((i) => i.label) },
      yaxis: { title: { text: "mel bin" } },
    },
  };
}
