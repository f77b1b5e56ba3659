/** Renders a figure to PNG bytes in the shared headless page. */
import { DEFAULT_SIZE, validateFigure, type Figure } from "./figure.js";
import { plotPage } from "./browser.js";

export interface PngOptions {
  width?: number;
  height?: number;
  /** Device pixel ratio: 2 gives crisp charts in notebooks and the README. */
  scale?: number;
}

export async function figureToPng(fig: Figure, o: PngOptions = {}): Promise<Uint8Array> {
  validateFigure(fig);
  const layout = fig.layout ?? {};
  const width = o.width ?? (layout.width as number | undefined) ?? DEFAULT_SIZE.width;
  const height = o.height ?? (layout.height as number | undefined) ?? DEFAULT_SIZE.height;
  const page = await plotPage();
  const dataUrl = await page.evaluate(
    async ({ fig, width, height, scale }) => {
      const P = (globalThis as unknown as { Plotly: any }).Plotly;
      return P.toImage({ data: fig.data, layout: { ...(fig.layout ?? {}), width, height } }, { format: "png", width, height, scale });
    },
    { fig: JSON.parse(JSON.stringify(fig)) as Figure, width, height, scale: o.scale ?? 1 },
  );
  const prefix = "data:image/png;base64,";
  if (typeof dataUrl !== "string" || !dataUrl.startsWith(prefix)) throw new Error("plotly returned no PNG data");
  return new Uint8Array(Buffer.from(dataUrl.slice(prefix.length), "base64"));
}
