/**
 * Saves a figure under results/: `<path>.html` (self-contained, always written) and `<path>.png`
 * (needs Chromium; when it is missing the HTML is still written and the result says why no PNG).
 * Both files are written atomically.
 */
import { writeFileAtomic } from "../util/atomic.js";
import { ChromiumMissingError } from "./browser.js";
import { validateFigure, type Figure } from "./figure.js";
import { figureToHtml } from "./html.js";
import { figureToPng, type PngOptions } from "./png.js";

export interface SaveOptions extends PngOptions {
  /** Write the HTML file (default true). */
  html?: boolean;
  /** Write the PNG file (default true). */
  png?: boolean;
  title?: string;
}

export interface SavedFigure {
  html?: string;
  png?: string;
  /** The PNG bytes, for display without reading the file back. */
  pngBytes?: Uint8Array;
  /** Why no PNG was written, when it was asked for and could not be. */
  pngError?: string;
}

function stripExt(path: string): string {
  return path.replace(/\.(png|html)$/i, "");
}

export async function saveFigure(fig: Figure, path: string, o: SaveOptions = {}): Promise<SavedFigure> {
  validateFigure(fig);
  const base = stripExt(path);
  const out: SavedFigure = {};
  if (o.html ?? true) {
    out.html = `${base}.html`;
    await writeFileAtomic(out.html, figureToHtml(fig, o.title ?? base.split("/").pop()));
  }
  if (o.png ?? true) {
    try {
      out.pngBytes = await figureToPng(fig, o);
      out.png = `${base}.png`;
      await writeFileAtomic(out.png, out.pngBytes);
    } catch (err) {
      if (!(err instanceof ChromiumMissingError)) throw err;
      out.pngError = err.message;
      console.warn(`[plot] ${err.message}`);
    }
  }
  return out;
}
