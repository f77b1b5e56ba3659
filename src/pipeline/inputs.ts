/**
 * What a training run was trained on, as fingerprints of the files it read: the corpus (its manifest:
 * every utterance, split and transcript), the frozen encoders its tasks use and the frozen LM. `trainRun` writes them to <runDir>/inputs.json; training, resuming,
 * evaluating or reusing a finished run (the experiment pool) checks them against the shipped checkpoints
 * and refuses a run folder trained on other weights, naming the folder and what changed (a retrained
 * encoder would otherwise leave old results standing beside new ones).
 *
 *   weightsHash(path)            sha256 prefix (16 hex) of a file, memoised per path, size and mtime
 *   runInputs(cfg)               { corpus, audioEncoder?, videoEncoder?, lm } of a run config, from the files now
 *   checkRunInputs(dir, now)     throws when <dir>/inputs.json names other weights (at evaluation, naming
 *                                the stored encoder folder that holds the run's weights)
 *   encoderWithHash(hash)        that folder: checkpoints/encoders/<preset>/<modality> or checkpoints/experiments/<name>
 *   checkRunConfig(dir, cfg)     throws when <dir>/config.json was written for another run config (a
 *                                folder given twice, or a flag changed between a run and its resume)
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { defaultCorpusDir } from "../data/index.js";
import { taskUses } from "../models/avsr.js";
import { encoderOutDir } from "../pretrain/encoders/index.js";
import { lmCheckpointDir } from "../pretrain/lm/index.js";
import type { RunConfig } from "./config.js";
import { restyleVariantCount } from "../features/cache.js";
import { repoRelative, repoRoot } from "../util/paths.js";
import { InputError } from "../util/errors.js";

const memo = new Map<string, string>();

export function weightsHash(path: string): string {
  const st = statSync(path);
  const key = `${path}:${st.size}:${st.mtimeMs}`;
  let h = memo.get(key);
  if (!h) memo.set(key, (h = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16)));
  return h;
}

export type RunInputs = Record<string, string>;

export function runInputs(cfg: RunConfig): RunInputs {
  const out: RunInputs = {};
  const manifest = join(defaultCorpusDir(cfg.preset), "manifest.csv");
  if (existsSync(manifest)) out.corpus = weightsHash(manifest);
  const uses = cfg.task ? taskUses(cfg.task) : { audio: true, video: true };
  const encoder = (m: "audio" | "video") => weightsHash(join(encoderOutDir(cfg.preset, m), "encoder.safetensors"));
  if (uses.audio && cfg.audioSource === "encoder") out.audioEncoder = encoder("audio");
  if (uses.video) out.videoEncoder = encoder("video");
  // restyled training video (features/cache.ts restyle<k>): how many renders the run draws from is part of what it saw
  if (uses.video && cfg.videoRestyle) out.videoRestyleVariants = String(restyleVariantCount(cfg.preset, out.videoEncoder!, cfg.videoRestyleVariants));
  const lm = join(lmCheckpointDir(cfg.preset, cfg.lm), "model.safetensors");
  out.lm = cfg.lmSource !== "random" && existsSync(lm) ? weightsHash(lm) : "random";
  return out;
}

/** Inputs that only training reads: evaluating a finished run does not depend on them. */
const TRAINING_ONLY = new Set(["videoRestyleVariants"]);

/** Throws when `now` differs from <dir>/inputs.json; `use: "eval"` leaves out what only training reads. */
export function checkRunInputs(dir: string, now: RunInputs, use: "train" | "eval" = "train"): void {
  const f = join(dir, "inputs.json");
  if (!existsSync(f)) return;
  const was = JSON.parse(readFileSync(f, "utf8")) as RunInputs;
  const changed = Object.keys({ ...was, ...now }).filter((k) => was[k] !== now[k] && !(use === "eval" && TRAINING_ONLY.has(k)));
  if (changed.length === 0) return;
  const what = changed.map((k) => `${k}: ${was[k] ?? "-"} -> ${now[k] ?? "-"}`).join(", ");
  if (use === "train") throw new InputError(`${dir} was trained on other inputs than the checkpoints now give (${what}); delete the folder to train it again on the current ones`);
  // evaluation: say where the encoder the run was trained on is kept, if it is among the stored ones
  const where = changed
    .filter((k) => k === "audioEncoder" || k === "videoEncoder")
    .flatMap((k) => {
      const found = encoderWithHash(was[k] ?? "");
      const modality = k === "audioEncoder" ? "audio" : "video";
      // a scratch worktree, not the shipped folder: overwriting that would change every other run and the reproduction
      return found ? [`its ${modality} encoder is ${repoRelative(found)}: copy its config.json and encoder.safetensors into checkpoints/encoders/<preset>/${modality}/ of a scratch worktree (git worktree add), not over the shipped one, and evaluate there`] : [];
    });
  throw new InputError(`${dir} was trained on other inputs than the checkpoints now give (${what}); ${where.length > 0 ? where.join("; ") : "evaluate it with the checkpoints it was trained on"}`);
}

/** The stored encoder folder (checkpoints/encoders/<preset>/<modality>, checkpoints/experiments/<name>) whose weights have this hash. */
export function encoderWithHash(hash: string, root = join(repoRoot(), "checkpoints")): string | undefined {
  const dirs: string[] = [];
  const sub = (d: string) => (existsSync(d) ? readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name)) : []);
  for (const preset of sub(join(root, "encoders"))) dirs.push(...sub(preset));
  dirs.push(...sub(join(root, "experiments")));
  return dirs.find((d) => existsSync(join(d, "encoder.safetensors")) && weightsHash(join(d, "encoder.safetensors")) === hash);
}

/** Keys of the saved run config (config.json, `run`) that differ from `cfg`; [] for a new folder. */
export function runConfigChanges(dir: string, cfg: RunConfig): string[] {
  const f = join(dir, "config.json");
  if (!existsSync(f)) return [];
  const was = (JSON.parse(readFileSync(f, "utf8")) as { run?: Record<string, unknown> | null }).run;
  if (!was) return [];
  const now = cfg as unknown as Record<string, unknown>;
  return Object.keys({ ...was, ...now }).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
}

export function checkRunConfig(dir: string, cfg: RunConfig): void {
  const f = join(dir, "config.json");
  const changed = runConfigChanges(dir, cfg);
  if (changed.length === 0) return;
  const was = (JSON.parse(readFileSync(f, "utf8")) as { run: Record<string, unknown> }).run;
  const now = cfg as unknown as Record<string, unknown>;
  throw new InputError(
    `${dir} holds a run with another configuration (${changed.map((k) => `${k}: ${JSON.stringify(was[k]) ?? "-"} -> ${JSON.stringify(now[k]) ?? "-"}`).join(", ")}); ` +
      `resuming it would mix two runs: give another run folder, or delete this one to train it again`,
  );
}
