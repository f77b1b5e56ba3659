/**
 * Shows figures, tables and HTML in a tslab notebook; outside a notebook it prints a short note
 * instead (scripts and tests run the same code).
 *
 * tslab is loaded lazily and only inside its kernel: importing it elsewhere costs a whole TypeScript
 * compiler and its display functions throw there.
 */
import { createRequire } from "node:module";

interface TslabDisplay {
  png(b: Uint8Array): void;
  html(s: string): void;
  text(s: string): void;
  markdown(s: string): void;
}

const require = createRequire(import.meta.url);
let cached: TslabDisplay | null | undefined;

/** The tslab display when running inside a tslab kernel, else undefined. */
export function notebookDisplay(): TslabDisplay | undefined {
  if (cached === undefined) {
    const inKernel = process.argv.some((a) => /tslab/.test(a)) && process.argv.includes("kernel");
    cached = null;
    if (inKernel) {
      try {
        cached = (require("tslab") as { display: TslabDisplay }).display;
      } catch {
        cached = null;
      }
    }
  }
  return cached ?? undefined;
}

export function inNotebook(): boolean {
  return notebookDisplay() !== undefined;
}

export function showHtml(html: string, fallbackText = "[html output]"): void {
  const d = notebookDisplay();
  if (d) d.html(html);
  else console.log(fallbackText);
}

export function showMarkdown(md: string): void {
  const d = notebookDisplay();
  if (d) d.markdown(md);
  else console.log(md);
}

export function showPng(bytes: Uint8Array, fallbackText = "[png output]"): void {
  const d = notebookDisplay();
  if (d) d.png(bytes);
  else console.log(fallbackText);
}
