/**
 * Plotly figure specs, typed loosely on purpose: a figure is plain JSON (`data` traces + `layout`),
 * exactly what plotly.js takes, so anything in the plotly reference works here. The builders below
 * cover the charts this project draws most: lines with error bars, and heatmaps.
 */

export type Trace = Record<string, unknown> & { type?: string; name?: string };
export type Layout = Record<string, unknown>;

export interface Figure {
  data: Trace[];
  layout?: Layout;
}

export interface Series {
  name: string;
  x: ReadonlyArray<number | string>;
  y: ReadonlyArray<number | null>;
  /** Symmetric error bar half-widths (e.g. the spread over seeds). */
  error?: ReadonlyArray<number | null>;
  /** Dashed line: used for the paper's numbers beside ours. */
  dash?: boolean;
  mode?: "lines" | "markers" | "lines+markers";
}

export interface LineChartOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
  /** Category axis in the given order (for rates such as "4-2"). */
  xCategories?: string[];
  width?: number;
  height?: number;
}

export const DEFAULT_SIZE = { width: 800, height: 480 } as const;

function baseLayout(o: LineChartOptions): Layout {
  return {
    title: o.title ? { text: o.title } : undefined,
    width: o.width ?? DEFAULT_SIZE.width,
    height: o.height ?? DEFAULT_SIZE.height,
    template: "plotly_white",
    margin: { l: 70, r: 30, t: o.title ? 60 : 30, b: 60 },
    legend: { orientation: "v" },
    font: { family: "DejaVu Sans, Arial, sans-serif", size: 13 },
  };
}

export function lineChart(series: readonly Series[], o: LineChartOptions = {}): Figure {
  const data: Trace[] = series.map((s) => ({
    type: "scatter",
    mode: s.mode ?? "lines+markers",
    name: s.name,
    x: [...s.x],
    y: [...s.y],
    line: s.dash ? { dash: "dash" } : undefined,
    error_y: s.error ? { type: "data", array: [...s.error], visible: true } : undefined,
  }));
  return {
    data,
    layout: {
      ...baseLayout(o),
      xaxis: {
        title: { text: o.xTitle ?? "" },
        type: o.xCategories ? "category" : o.logX ? "log" : undefined,
        categoryorder: o.xCategories ? "array" : undefined,
        categoryarray: o.xCategories,
      },
      yaxis: { title: { text: o.yTitle ?? "" }, type: o.logY ? "log" : undefined },
    },
  };
}

export interface BarSeries {
  name: string;
  x: ReadonlyArray<string>;
  y: ReadonlyArray<number | null>;
  error?: ReadonlyArray<number | null>;
}

export function barChart(series: readonly BarSeries[], o: LineChartOptions = {}): Figure {
  return {
    data: series.map((s) => ({
      type: "bar",
      name: s.name,
      x: [...s.x],
      y: [...s.y],
      error_y: s.error ? { type: "data", array: [...s.error], visible: true } : undefined,
    })),
    layout: {
      ...baseLayout(o),
      barmode: "group",
      xaxis: { title: { text: o.xTitle ?? "" } },
      yaxis: { title: { text: o.yTitle ?? "" } },
    },
  };
}

export interface HeatmapOptions extends LineChartOptions {
  colorscale?: string;
  /** Row-major values: z[row][col]. */
  x?: ReadonlyArray<number | string>;
  y?: ReadonlyArray<number | string>;
}

export function heatmap(z: ReadonlyArray<ReadonlyArray<number>>, o: HeatmapOptions = {}): Figure {
  return {
    data: [{ type: "heatmap", z: z.map((r) => [...r]), x: o.x ? [...o.x] : undefined, y: o.y ? [...o.y] : undefined, colorscale: o.colorscale ?? "Viridis" }],
    layout: {
      ...baseLayout(o),
      xaxis: { title: { text: o.xTitle ?? "" } },
      yaxis: { title: { text: o.yTitle ?? "" } },
    },
  };
}

/** Checks the shape of a figure before it reaches plotly, so a mistake names itself. */
export function validateFigure(fig: unknown): asserts fig is Figure {
  if (typeof fig !== "object" || fig === null) throw new TypeError("figure: expected an object with a `data` array");
  const data = (fig as { data?: unknown }).data;
  if (!Array.isArray(data)) throw new TypeError("figure: `data` must be an array of traces");
  data.forEach((t, i) => {
    if (typeof t !== "object" || t === null) throw new TypeError(`figure: trace ${i} is not an object`);
  });
}
