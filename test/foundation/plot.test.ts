import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  lineChart, heatmap, barChart, figureToHtml, saveFigure, figureToPng, closePlotBrowser, validateFigure, CHROMIUM_INSTALL_LINE,
} from "../../src/plot/index.js";

after(() => closePlotBrowser());

function pngSize(bytes: Uint8Array): { width: number; height: number } {
  // PNG signature, then the IHDR chunk: width and height as big-endian 32-bit at offsets 16 and 20.
  assert.deepEqual(Array.from(bytes.slice(0, 8)), [137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

const fig = lineChart(
  [
    { name: "ours", x: [4, 16], y: [2.5, 4.0], error: [0.1, 0.3] },
    { name: "paper", x: [4, 16], y: [1.2, 2.0], dash: true },
  ],
  { title: "WER vs rate", xTitle: "rate", yTitle: "WER (%)" },
);

test("figures are plain plotly JSON with the series, error bars and dashes asked for", () => {
  assert.equal(fig.data.length, 2);
  assert.deepEqual(fig.data[0]!.error_y, { type: "data", array: [0.1, 0.3], visible: true });
  assert.deepEqual(fig.data[1]!.line, { dash: "dash" });
  assert.equal((fig.layout!.xaxis as { title: { text: string } }).title.text, "rate");
  assert.equal(heatmap([[1, 2], [3, 4]]).data[0]!.type, "heatmap");
  assert.equal(barChart([{ name: "a", x: ["x"], y: [1] }]).data[0]!.type, "bar");
  assert.throws(() => validateFigure({ traces: [] }), /`data` must be an array/);
});

test("HTML is self-contained: the plotly bundle and the figure inline, script-safe", () => {
  const html = figureToHtml({ data: [{ type: "scatter", x: [1], y: [2], name: "</script><b>" }] }, "t");
  assert.ok(html.length > 1_000_000, "plotly bundle inlined");
  assert.ok(!/<script src=/.test(html));
  assert.ok(html.includes("\\u003c/script>\\u003cb>"), "data cannot close the script element");
  assert.ok(html.includes('Plotly.newPlot("plot"'));
});

test("PNG rendering gives a real image of the asked size, saved atomically beside the HTML", async () => {
  const dir = mkdtempSync(join(tmpdir(), "plot-"));
  const saved = await saveFigure(fig, join(dir, "rate_curve"), { width: 640, height: 400 });
  assert.equal(saved.png, join(dir, "rate_curve.png"));
  assert.equal(saved.html, join(dir, "rate_curve.html"));
  const bytes = new Uint8Array(readFileSync(saved.png!));
  assert.deepEqual(pngSize(bytes), { width: 640, height: 400 });
  assert.ok(bytes.length > 5000, "a chart, not an empty image");
  // The page is reused: a second chart at scale 2 doubles the pixels.
  const big = await figureToPng(fig, { width: 300, height: 200, scale: 2 });
  assert.deepEqual(pngSize(big), { width: 600, height: 400 });
});

test("without Chromium the HTML is still written and the message gives the install line", async () => {
  await closePlotBrowser();
  const old = process.env.OMNI_CHROMIUM;
  process.env.OMNI_CHROMIUM = "/nonexistent/chromium";
  const warn = console.warn;
  const warned: string[] = [];
  console.warn = (m: string) => void warned.push(m);
  try {
    const dir = mkdtempSync(join(tmpdir(), "plot-"));
    const saved = await saveFigure(fig, join(dir, "x"));
    assert.ok(existsSync(join(dir, "x.html")));
    assert.ok(!existsSync(join(dir, "x.png")));
    assert.equal(saved.png, undefined);
    assert.match(saved.pngError!, /chromium not found at \/nonexistent\/chromium/);
    assert.ok(saved.pngError!.includes(CHROMIUM_INSTALL_LINE));
    assert.equal(warned.length, 1);
  } finally {
    console.warn = warn;
    if (old === undefined) delete process.env.OMNI_CHROMIUM;
    else process.env.OMNI_CHROMIUM = old;
  }
});
