/**
 * The machine and software this lab runs on: versions, the TensorFlow.js backend chosen and why, the
 * CPU, and a measured matmul rate. `npm run env` writes it into environment.md; notebook 00 shows it.
 */
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { initBackend, type BackendChoice } from "../backend/index.js";

const require = createRequire(import.meta.url);

export interface EnvironmentFact {
  key: string;
  value: string;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 }).trim();
  } catch {
    return "not found";
  }
}

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/**
 * Median GFLOP/s of an n x n float32 matmul on the current backend. The result is read outside of any
 * tf.tidy (reading inside one would time the copy too).
 */
export async function measureMatmulGflops(n = 512, reps = 7): Promise<number> {
  const a = tf.randomUniform([n, n], -1, 1, "float32", 1);
  const b = tf.randomUniform([n, n], -1, 1, "float32", 2);
  const times: number[] = [];
  for (let i = 0; i < reps + 1; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    const dt = performance.now() - t0;
    c.dispose();
    if (i > 0) times.push(dt); // the first call warms up
  }
  a.dispose();
  b.dispose();
  times.sort((x, y) => x - y);
  const ms = times[Math.floor(times.length / 2)]!;
  return (2 * n * n * n) / (ms / 1000) / 1e9;
}

export async function collectEnvironment(choice?: BackendChoice): Promise<EnvironmentFact[]> {
  const backend = choice ?? (await initBackend());
  const cpu = cpus();
  const gflops = await measureMatmulGflops();
  const jupyter = run("/usr/bin/python3", ["-c", "import notebook, nbconvert, nbclient; print(f'notebook {notebook.__version__}, nbconvert {nbconvert.__version__}, nbclient {nbclient.__version__}')"]);
  return [
    { key: "Node.js", value: process.version },
    { key: "npm", value: run("npm", ["--version"]) },
    { key: "TensorFlow.js", value: packageVersion("@tensorflow/tfjs") },
    { key: "TensorFlow.js backend", value: `${backend.name} (${backend.reason})` },
    { key: "CPU", value: cpu[0]?.model.trim() ?? "unknown" },
    { key: "CPU cores", value: String(cpu.length) },
    { key: "Memory", value: `${(totalmem() / 2 ** 30).toFixed(1)} GiB` },
    { key: "512x512 matmul", value: `${gflops.toFixed(1)} GFLOP/s on ${backend.name}` },
    { key: "Jupyter", value: jupyter },
    { key: "tslab", value: packageVersion("tslab") },
    { key: "Chromium", value: run("/usr/bin/chromium", ["--version"]) },
    { key: "platform", value: `${process.platform} ${process.arch}` },
  ];
}

export const ENV_BEGIN = "<!-- npm run env: begin (generated, do not edit) -->";
export const ENV_END = "<!-- npm run env: end -->";

export function environmentSection(facts: readonly EnvironmentFact[], date = new Date()): string {
  const rows = facts.map((f) => `| ${f.key} | ${f.value.replace(/\|/g, "\\|")} |`);
  return [ENV_BEGIN, `Measured on ${date.toISOString().slice(0, 10)} by \`npm run env\`.`, "", "| what | value |", "| --- | --- |", ...rows, ENV_END].join("\n");
}

/** Replaces the generated section of environment.md (or appends one). */
export function replaceEnvironmentSection(markdown: string, section: string): string {
  const start = markdown.indexOf(ENV_BEGIN);
  const end = markdown.indexOf(ENV_END);
  if (start >= 0 && end > start) return markdown.slice(0, start) + section + markdown.slice(end + ENV_END.length);
  return markdown.trimEnd() + "\n\n" + section + "\n";
}

/** The generated section of a markdown text, or undefined. */
export function extractEnvironmentSection(markdown: string): string | undefined {
  const start = markdown.indexOf(ENV_BEGIN);
  const end = markdown.indexOf(ENV_END);
  return start >= 0 && end > start ? markdown.slice(start, end + ENV_END.length) : undefined;
}

/** The keys of the table in a section: what "current in its shape" compares. */
export function sectionKeys(section: string): string[] {
  return section
    .split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("| what") && !l.startsWith("| ---"))
    .map((l) => l.split(" | ")[0]!.slice(2).trim());
}
