/**
 * Plots: plotly figure specs -> PNG (Debian Chromium through playwright-core, one page reused) and
 * self-contained HTML, shown in tslab notebooks and saved under results/.
 *
 *   const fig = lineChart([{ name: "ASR", x: [4, 16], y: [2.1, 3.4] }], { xTitle: "rate", yTitle: "WER %" });
 *   await showFigure(fig, { save: "results/rate_curve/asr" });   // displays + writes .png/.html
 *   await closePlotBrowser();                                      // at the end of a script
 */
import { showHtml, showPng } from "./display.js";
import type { Figure } from "./figure.js";
import { figureToHtml } from "./html.js";
import { saveFigure, type SaveOptions, type SavedFigure } from "./save.js";
import { figureToPng } from "./png.js";
import { ChromiumMissingError } from "./browser.js";

export * from "./figure.js";
export { figureToHtml, plotlyBundlePath } from "./html.js";
export { figureToPng, type PngOptions } from "./png.js";
export { saveFigure, type SaveOptions, type SavedFigure } from "./save.js";
export { closePlotBrowser, ChromiumMissingError, CHROMIUM_INSTALL_LINE, chromiumPath } from "./browser.js";
export { inNotebook, showHtml, showMarkdown, showPng } from "./display.js";

export interface ShowOptions extends SaveOptions {
  /** Also save under this path (without extension): `<save>.png` and `<save>.html`. */
  save?: string;
}

/**
 * Displays a figure as PNG in the notebook (so executed notebooks hold the image), optionally saving it.
 * Without Chromium it falls back to the interactive HTML and says how to install Chromium.
 */
export async function showFigure(fig: Figure, o: ShowOptions = {}): Promise<SavedFigure> {
  let saved: SavedFigure = {};
  let png: Uint8Array | undefined;
  if (o.save) {
    saved = await saveFigure(fig, o.save, o);
    png = saved.pngBytes;
  } else {
    try {
      png = await figureToPng(fig, o);
    } catch (err) {
      if (!(err instanceof ChromiumMissingError)) throw err;
      saved.pngError = err.message;
      console.warn(`[plot] ${err.message}`);
    }
  }
  const where = saved.png ?? saved.html ?? "";
  if (png) showPng(png, `[figure${where ? `: ${where}` : ""}]`);
  else showHtml(figureToHtml(fig), `[figure (HTML only)${where ? `: ${where}` : ""}]`);
  return saved;
}
