/**
 * Tables and CSV: `writeCsv`/`readCsv` (papaparse, atomic), `summarise` (danfojs-node group-by with
 * mean/std/n over seeds), `showTable` (HTML in notebooks), `tableToMarkdown` (README tables).
 */
export * from "./csv.js";
export * from "./table.js";
