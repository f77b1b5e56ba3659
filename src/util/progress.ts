/**
 * Progress lines for long jobs: step, named values (loss per task...), rate and ETA.
 * Prints at most every `intervalMs` (and always at the last step), to stderr by default so that
 * stdout stays clean for results; in a notebook the line shows as cell output.
 */

export interface ProgressOptions {
  /** What is counted: "step", "utt", "job". */
  unit?: string;
  label?: string;
  intervalMs?: number;
  /** Where lines go; defaults to stderr. */
  write?: (line: string) => void;
  /** Steps already done before this run (resume): they do not count towards the rate. */
  startAt?: number;
  /** Seconds already spent before this run (earlier segments, or before a resume): added to "elapsed". */
  elapsedBefore?: number;
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return v.toFixed(4);
}

export class Progress {
  private readonly started: number;
  private lastPrint = -Infinity;
  private readonly opts: Required<Omit<ProgressOptions, "label">> & { label: string };

  constructor(readonly total: number, options: ProgressOptions = {}) {
    this.opts = {
      unit: options.unit ?? "step",
      label: options.label ?? "",
      intervalMs: options.intervalMs ?? 2000,
      write: options.write ?? ((line) => process.stderr.write(line + "\n")),
      startAt: options.startAt ?? 0,
      elapsedBefore: options.elapsedBefore ?? 0,
      now: options.now ?? (() => Date.now()),
    };
    this.started = this.opts.now();
  }

  /** Call after finishing step `done` (1-based count of finished steps). */
  update(done: number, values: Record<string, number> = {}, extra = ""): string | undefined {
    const now = this.opts.now();
    const last = done >= this.total;
    if (!last && now - this.lastPrint < this.opts.intervalMs) return undefined;
    this.lastPrint = now;
    const line = this.format(done, values, now, extra);
    this.opts.write(line);
    return line;
  }

  format(done: number, values: Record<string, number>, now: number, extra = ""): string {
    const elapsed = Math.max(1e-9, (now - this.started) / 1000);
    const counted = Math.max(0, done - this.opts.startAt);
    const rate = counted / elapsed;
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const vals = Object.entries(values)
      .map(([k, v]) => `${k} ${formatValue(v)}`)
      .join(" | ");
    const head = this.opts.label ? `[${this.opts.label}] ` : "";
    const width = String(this.total).length;
    return (
      `${head}${this.opts.unit} ${String(done).padStart(width)}/${this.total}` +
      (vals ? ` | ${vals}` : "") +
      ` | ${rate.toFixed(2)} ${this.opts.unit}/s | elapsed ${formatDuration(this.opts.elapsedBefore + elapsed)} | eta ${formatDuration(eta)}` +
      (extra ? ` | ${extra}` : "")
    );
  }
}
